"""Train the bundled scene detector on the CPU, seeded and reproducible.

``scene-detector`` (``core.models.scene_detector``: torchvision's Faster R-CNN on a tiny backbone) learns to
find and name the digits of ``resources/demo/scene_detection`` (COCO instances; run
``scripts/make_scene_detection.py`` first). The annotations are read with pycocotools, the images as RGB;
a box is ``[x, y, x + w, y + h]`` of the COCO ``bbox``, its label the category id (category ``"d"`` has id
``d + 1``, which is its index in the card's ``classes`` after ``__background__``).

Augmentation keeps every object's class: the colour channels are permuted and the image is inverted at
random (digits come in every colour on every background, as ``scripts/train_scene_models.py`` does), and
the scene is scaled and shifted a little, its boxes with it (an object pushed more than half out of the
canvas is dropped: it would be a box on a sliver of a digit). No rotation: a rotated box is no longer the
extent of its digit.

The test split is looked at once, after the last epoch: every test image through the model in eval mode,
scored by pycocotools' COCOeval against ``instances_test.json`` (mAP over IoU 0.5:0.95, mAP at 0.5 and 0.75,
per-class AP at 0.5). The card records them with the training details.

Writes ``resources/models/scene_detector.{pt,json}`` (or under ``--out``).

Usage: ``python scripts/train_scene_detector.py [--epochs N] [--train-limit N] [--out DIR]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from core.models.cards import BUNDLED_MODELS, ModelCard  # noqa: E402
from scripts.train_demo_models import (  # noqa: E402
    SEED,
    THREADS,
    one_cycle,
    optimise,
    save_weights,
    seed_everything,
    shuffled_batches,
)
from scripts.train_scene_models import measure_mean_std  # noqa: E402

DATASET = "resources/demo/scene_detection"
CLASSES = ["__background__"] + [str(d) for d in range(10)]
EVAL_BATCH = 25


@dataclass(frozen=True)
class Recipe:
    epochs: int = 16
    lr: float = 4e-3
    batch_size: int = 8
    weight_decay: float = 1e-4
    max_scale: float = 0.15  # scale drawn from [1 - max_scale, 1 + max_scale]
    max_shift: float = 0.1  # shift drawn from [-max_shift, max_shift], as a fraction of the canvas
    arch_kwargs: dict[str, Any] = field(default_factory=dict)  # over core.models.scene_detector.DEFAULTS


RECIPE = Recipe()


# -- data -------------------------------------------------------------------------------------------
def load_split(root: Path, split: str, limit: int | None = None):
    """(COCO api, image ids, RGB images, targets) of one split; a target is (N x 4 x0 y0 x1 y1, N labels)."""
    import cv2
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        coco = COCO(str(root / "annotations" / f"instances_{split}.json"))
    ids = sorted(coco.getImgIds())[:limit]
    images, targets = [], []
    for image_id in ids:
        info = coco.loadImgs(image_id)[0]
        bgr = cv2.imread(str(root / split / info["file_name"]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise OSError(f"cannot read {root / split / info['file_name']}")
        images.append(np.ascontiguousarray(bgr[:, :, ::-1]))
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id, iscrowd=False))
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)], dtype=np.float32)
        targets.append((boxes.reshape(-1, 4), np.array([a["category_id"] for a in anns], dtype=np.int64)))
    return coco, ids, images, targets


def augment(image: np.ndarray, boxes: np.ndarray, labels: np.ndarray, recipe: Recipe, rng: np.random.Generator):
    """A recoloured, scaled and shifted copy of a scene with its boxes moved along (half-lost objects dropped)."""
    import cv2

    image = image[:, :, rng.permutation(3)]
    if rng.random() < 0.5:
        image = 255 - image
    height, width = image.shape[:2]
    scale = rng.uniform(1 - recipe.max_scale, 1 + recipe.max_scale)
    shift = rng.uniform(-recipe.max_shift, recipe.max_shift, size=2) * (width, height)
    matrix = np.array([[scale, 0, (1 - scale) * width / 2 + shift[0]], [0, scale, (1 - scale) * height / 2 + shift[1]]])
    image = cv2.warpAffine(
        np.ascontiguousarray(image), matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    moved = boxes * scale + np.tile(matrix[:, 2], 2)
    clipped = moved.clip(0, [width, height, width, height])
    kept = ((clipped[:, 2:] - clipped[:, :2]) >= 0.5 * (moved[:, 2:] - moved[:, :2])).all(axis=1)
    return image, clipped[kept].astype(np.float32), labels[kept]


def to_tensor(image: np.ndarray):
    """H x W x 3 uint8 -> 3 x H x W float in [0, 1]: the detector normalises its input itself."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0)


# -- evaluation ---------------------------------------------------------------------------------------
def detect(model, images: list[np.ndarray], batch_size: int = EVAL_BATCH) -> list[dict[str, np.ndarray]]:
    """The model's boxes, scores and labels for every image (eval mode, no gradients)."""
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            for found in model([to_tensor(image) for image in images[start : start + batch_size]]):
                out.append({key: value.numpy() for key, value in found.items() if key != "masks"})
    return out


def coco_results(ids: list[int], detections: list[dict[str, np.ndarray]]) -> list[dict[str, Any]]:
    """Detections as COCO results: xywh boxes, the label as category id."""
    rows = []
    for image_id, found in zip(ids, detections):
        for (x0, y0, x1, y1), score, label in zip(found["boxes"], found["scores"], found["labels"]):
            box = [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
            rows.append({"image_id": image_id, "category_id": int(label), "bbox": box, "score": float(score)})
    return rows


def coco_metrics(coco, ids: list[int], detections: list[dict[str, np.ndarray]]) -> dict[str, Any]:
    """COCOeval (bbox) of the detections on the images ``ids``: mAP, mAP@0.5, mAP@0.75, per-class AP@0.5."""
    from pycocotools.cocoeval import COCOeval

    rows = coco_results(ids, detections)
    with contextlib.redirect_stdout(io.StringIO()):
        if not rows:  # COCOeval cannot load an empty result list; nothing found scores 0
            return {"test_map": 0.0, "test_map_50": 0.0, "test_map_75": 0.0}
        evaluation = COCOeval(coco, coco.loadRes(rows), "bbox")
        evaluation.params.imgIds = ids
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = evaluation.stats
    # precision: [IoU thresholds, recall points, classes, area ranges, max dets]; IoU 0.5, all areas, 100 dets
    precision = evaluation.eval["precision"][0, :, :, 0, -1]
    per_class = {
        coco.cats[int(cat)]["name"]: float(precision[:, k][precision[:, k] > -1].mean())
        if (precision[:, k] > -1).any()
        else -1.0
        for k, cat in enumerate(evaluation.params.catIds)
    }
    return {
        "test_map": float(stats[0]),
        "test_map_50": float(stats[1]),
        "test_map_75": float(stats[2]),
        "test_mar_100": float(stats[8]),
        "test_ap_50": per_class,
    }


# -- training -----------------------------------------------------------------------------------------
def train_epoch(model, optimizer, schedule, images, targets, recipe: Recipe, rng) -> float:
    import torch

    model.train()
    total = 0.0
    for chosen in shuffled_batches(rng, len(images), recipe.batch_size):
        xs, ys = [], []
        for i in chosen:
            image, boxes, labels = augment(images[i], *targets[i], recipe, rng)
            xs.append(to_tensor(image))
            ys.append({"boxes": torch.from_numpy(boxes).reshape(-1, 4), "labels": torch.from_numpy(labels)})
        losses = model(xs, ys)
        total += optimise(optimizer, schedule, sum(losses.values())) * len(chosen)
    return total / len(images)


def make_card(mean: list[float], std: list[float], recipe: Recipe, size: tuple[int, int]) -> ModelCard:
    from core.models.scene_detector import DEFAULTS

    return ModelCard(
        name="scene-detector",
        title="Digit scenes detector (Faster R-CNN)",
        description=(
            "torchvision Faster R-CNN on a tiny conv backbone with a feature pyramid, trained from scratch on "
            f"the digit-scene detection demo: {size[1]} x {size[0]} canvases with 1 to 6 of scikit-learn's "
            "handwritten digits on textured backgrounds. Finds every digit and names it 0-9. The test scenes "
            "hold only digits never seen in training."
        ),
        architecture="scene_detector",
        arch_kwargs=DEFAULTS | dict(recipe.arch_kwargs),
        task="detection",
        classes=list(CLASSES),
        input_size=size,
        channels=3,
        mean=mean,
        std=std,
        weights="scene_detector.pt",
        dataset=DATASET,
        script="scripts/train_scene_detector.py",
    )


def train(
    recipe: Recipe = RECIPE, *, data: Path = ROOT / DATASET, out: Path = BUNDLED_MODELS, train_limit: int | None = None
) -> ModelCard:
    """Train the detector, write its weights and card under ``out``, and return the card."""

    from core.models.scene_detector import build

    seed_everything(SEED)
    _, _, train_images, train_targets = load_split(data, "train", train_limit)
    coco, test_ids, test_images, _ = load_split(data, "test")
    mean, std = measure_mean_std(train_images)
    card = make_card(mean, std, recipe, tuple(int(v) for v in train_images[0].shape[:2]))
    model = build(card)
    optimizer, schedule = one_cycle(model, recipe, recipe.epochs, len(train_images), pct_start=0.15)
    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    for epoch in range(1, recipe.epochs + 1):
        value = train_epoch(model, optimizer, schedule, train_images, train_targets, recipe, rng)
        if epoch == 1 or epoch % 5 == 0 or epoch == recipe.epochs:
            print(f"  epoch {epoch:3d}/{recipe.epochs}: train loss {value:.4f}", flush=True)
    seconds = time.perf_counter() - started
    card.metrics = coco_metrics(coco, test_ids, detect(model, test_images)) | {
        "test_images": len(test_ids),
        "test_objects": len(coco.getAnnIds(imgIds=test_ids)),
        "split": "test",
        "evaluation": "pycocotools COCOeval, iouType bbox, maxDets 100",
    }
    card.training = training_details(recipe, len(train_images), seconds)
    save(model, card, out)
    return card


def training_details(recipe: Recipe, n_train: int, seconds: float) -> dict[str, Any]:
    return {
        "seed": SEED,
        "epochs": recipe.epochs,
        "optimizer": f"AdamW (weight_decay={recipe.weight_decay:g}), one-cycle LR schedule",
        "lr": recipe.lr,
        "batch_size": recipe.batch_size,
        "loss": "torchvision Faster R-CNN: RPN objectness + box regression, classifier + box regression",
        "augmentation": (
            f"colour channels permuted, inverted with p=0.5; scale {1 - recipe.max_scale:g}-{1 + recipe.max_scale:g}, "
            f"shift +-{recipe.max_shift * 100:g}% (boxes moved along; objects more than half outside dropped)"
        ),
        "train_samples": n_train,
        "split": "train",
        "threads": THREADS,
        "train_seconds": round(seconds, 1),
    }


def save(model, card: ModelCard, out: Path) -> None:
    """The state_dict and its card, each written whole or not at all."""

    weights_path = out / card.weights
    card.sha256 = save_weights(model, weights_path)
    card.save(out / "scene_detector.json")
    m = card.metrics
    print(
        f"scene-detector: mAP@0.5 {m['test_map_50']:.4f}, mAP@0.5:0.95 {m['test_map']:.4f} on {m['test_images']} "
        f"test scenes; trained in {card.training['train_seconds']:.1f} s, weights "
        f"{weights_path.stat().st_size / 1024:.0f} KiB, sha256 {card.sha256}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=RECIPE.epochs, help="number of epochs")
    parser.add_argument("--train-limit", type=int, help="train on the first N training scenes only (a quick try)")
    parser.add_argument("--data", type=Path, default=ROOT / DATASET, help="the COCO demo folder")
    parser.add_argument("--out", type=Path, default=BUNDLED_MODELS, help="folder for scene_detector.{pt,json}")
    parser.add_argument("--arch", type=json.loads, default={}, help="arch_kwargs over the defaults, as JSON")
    parser.add_argument("--lr", type=float, default=RECIPE.lr, help="peak learning rate")
    parser.add_argument("--batch-size", type=int, default=RECIPE.batch_size, help="scenes per step")
    args = parser.parse_args(argv)
    recipe = Recipe(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, arch_kwargs=args.arch)
    train(recipe, data=args.data, out=args.out, train_limit=args.train_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
