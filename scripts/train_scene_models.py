"""Train the two digit-scene demo models on the CPU, seeded and reproducible.

- ``scenes-unet``: a small U-Net (``core.models.unet``) segmenting ``resources/demo/scenes`` into background
  and the ten digits. Loss: pixel cross-entropy + soft Dice (``1 - mean_c 2 sum(p_c y_c) / (sum p_c + sum
  y_c)``, over the batch), which keeps the few digit pixels from drowning in the background. The figure in its
  card is the mean IoU over the 11 classes of the pixel confusion matrix summed over the 200 held-out test
  scenes (``core.metrics.segmentation_report``), with the per-class IoU and Dice.
- ``scene-tags-cnn``: a SmallCNN (``core.models.smallcnn``) with one sigmoid output per digit, trained with
  binary cross-entropy on ``resources/demo/scene_tags``: which digits does the scene hold? The figure is the
  micro-averaged F1 on the test scenes at threshold 0.5 (``core.metrics.multilabel_report``).

Images are read through ``core.datasets.open_dataset`` and prepared with ``ModelCard.preprocess``, exactly
as the app prepares them. Augmentation is label-preserving and keeps the digits' shapes: the colour channels
are permuted and the image is inverted at random (digits come in every colour on every background), and the
scene is rotated, scaled and shifted a little (as ``scripts/train_demo_models.py`` does for single digits),
the mask with it by nearest neighbour; the border the warp brings in repeats the edge pixels of both. The test
split is looked at once, after the last epoch.

Writes ``resources/models/scenes_unet.{pt,json}`` and ``scene_tags_cnn.{pt,json}``. Run
``scripts/make_digit_scenes.py`` first.

Usage: ``python scripts/train_scene_models.py [--only scenes|scene_tags] [--epochs N]``
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from core.datasets import Dataset, open_dataset  # noqa: E402
from core.metrics import multilabel_report, pixel_confusion_matrix, segmentation_report  # noqa: E402
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

EVAL_BATCH = 50  # the batch size of the test-set figure; tests/core/test_scene_demos.py uses the same
THRESHOLD = 0.5  # multilabel decision threshold of the card's figure


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    description: str
    dataset: str
    architecture: str
    arch_kwargs: dict[str, Any]
    input_size: tuple[int, int]
    epochs: int
    lr: float
    batch_size: int
    weight_decay: float
    max_degrees: float
    max_scale: float  # scale drawn from [1 - max_scale, 1 + max_scale]
    max_shift: float  # shift drawn from [-max_shift, max_shift], as a fraction of the input size


RECIPES = {
    "scenes": Recipe(
        name="scenes-unet",
        title="Digit scenes U-Net",
        description=(
            "U-Net (depth 3, width 16) trained from scratch on the digit scenes: 64 x 64 canvases with 1 to 4 "
            "of scikit-learn's handwritten digits on textured backgrounds. Labels every pixel as background or "
            "the digit 0-9 it belongs to. The test scenes hold only digits never seen in training."
        ),
        dataset="resources/demo/scenes",
        architecture="unet",
        arch_kwargs={"depth": 3, "width": 16},
        input_size=(64, 64),  # the scenes' own size: the mask is predicted pixel for pixel
        epochs=50,
        lr=5e-3,
        batch_size=16,
        weight_decay=1e-4,
        max_degrees=10.0,
        max_scale=0.1,
        max_shift=0.1,
    ),
    "scene_tags": Recipe(
        name="scene-tags-cnn",
        title="Digit scenes tagger (multilabel CNN)",
        description=(
            "SmallCNN with one sigmoid output per digit, trained from scratch on the digit scenes (resized to "
            "32 x 32) as a multilabel task: which of the digits 0-9 does the scene hold? Test scenes hold only "
            "digits never seen in training."
        ),
        dataset="resources/demo/scene_tags",
        architecture="smallcnn",
        arch_kwargs={"width": 32, "dropout": 0.2},
        input_size=(32, 32),  # which digits, not where: half the resolution, a quarter of the work
        epochs=60,
        lr=3e-3,
        batch_size=32,
        weight_decay=5e-4,
        max_degrees=10.0,
        max_scale=0.1,
        max_shift=0.1,
    ),
}


# -- data -------------------------------------------------------------------------------------------
def load_split(dataset: Dataset) -> tuple[list[np.ndarray], np.ndarray]:
    """All images of a small dataset, decoded once, with their masks (segmentation) or tags (multilabel)."""
    images = [sample.image() for sample in dataset]
    if dataset.task == "segmentation":
        return images, np.stack([sample.mask() for sample in dataset])
    return images, np.asarray(dataset.tags, dtype=np.float32)


def measure_mean_std(images: list[np.ndarray]) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of the training pixels in [0, 1], rounded so the card reads well."""
    pixels = np.concatenate([image.reshape(-1, 3) for image in images]).astype(np.float64) / 255.0
    return [round(float(v), 4) for v in pixels.mean(axis=0)], [round(float(v), 4) for v in pixels.std(axis=0)]


def augment(image: np.ndarray, mask: np.ndarray | None, recipe: Recipe, rng: np.random.Generator):
    """A recoloured (channels permuted, maybe inverted), rotated, scaled and shifted copy of an image and its mask."""
    import cv2

    image = image[:, :, rng.permutation(3)]
    if rng.random() < 0.5:
        image = 255 - image
    height, width = image.shape[:2]
    angle = rng.uniform(-recipe.max_degrees, recipe.max_degrees)
    scale = rng.uniform(1 - recipe.max_scale, 1 + recipe.max_scale)
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, scale)
    matrix[:, 2] += rng.uniform(-recipe.max_shift, recipe.max_shift, size=2) * (width, height)
    warp = {"dsize": (width, height), "borderMode": cv2.BORDER_REPLICATE}
    image = cv2.warpAffine(np.ascontiguousarray(image), matrix, flags=cv2.INTER_LINEAR, **warp)
    if mask is not None:
        mask = cv2.warpAffine(mask, matrix, flags=cv2.INTER_NEAREST, **warp)
    return image, mask


def augmentation_text(recipe: Recipe) -> str:
    """The augmentation in words, for the card."""
    return (
        f"colour channels permuted, inverted with p=0.5; rotation +-{recipe.max_degrees:g} deg, "
        f"scale {1 - recipe.max_scale:g}-{1 + recipe.max_scale:g}, shift +-{recipe.max_shift * 100:g}% "
        "(mask by nearest neighbour; uint8 image, before preprocess)"
    )


# -- evaluation ---------------------------------------------------------------------------------------
def predict(model: Any, images: list[np.ndarray], card: ModelCard, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Model outputs for every image: argmax masks (segmentation) or sigmoid scores (multilabel)."""
    import torch

    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(np.stack([card.preprocess(image) for image in images[start : start + batch_size]]))
            logits = model(batch)
            out = logits.argmax(dim=1).to(torch.uint8) if card.task == "segmentation" else torch.sigmoid(logits)
            outputs.append(out.numpy())
    return np.concatenate(outputs)


def segmentation_metrics(masks: np.ndarray, predicted: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Mean IoU and per-class IoU/Dice of the pixel confusion matrix summed over the images."""
    cm = sum(pixel_confusion_matrix(t, p, len(classes)) for t, p in zip(masks, predicted))
    report = segmentation_report(cm)
    return {
        "test_mean_iou": report["mean_iou"],
        "test_mean_dice": report["mean_dice"],
        "test_pixel_accuracy": report["pixel_accuracy"],
        "test_iou": {name: float(v) for name, v in zip(classes, report["iou"])},
        "test_dice": {name: float(v) for name, v in zip(classes, report["dice"])},
        "test_images": len(masks),
        "split": "test",
    }


def multilabel_metrics(tags: np.ndarray, scores: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Micro/macro F1 and subset accuracy at THRESHOLD, per-label F1."""
    report = multilabel_report(tags, scores, threshold=THRESHOLD)
    return {
        "test_micro_f1": report["micro"]["fbeta"],
        "test_macro_f1": report["macro"]["fbeta"],
        "test_subset_accuracy": report["subset_accuracy"],
        "test_f1": {name: float(v) for name, v in zip(classes, report["fbeta"])},
        "threshold": THRESHOLD,
        "test_images": len(tags),
        "split": "test",
    }


# -- training -----------------------------------------------------------------------------------------
def soft_dice_loss(logits, target, num_classes: int):
    """1 - mean over classes of 2 sum(p y) / (sum p + sum y), summed over the batch's pixels."""
    import torch

    probs = torch.softmax(logits, dim=1)
    onehot = torch.nn.functional.one_hot(target, num_classes).permute(0, 3, 1, 2).to(probs.dtype)
    inter = (probs * onehot).sum(dim=(0, 2, 3))
    total = probs.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    return 1 - ((2 * inter + 1) / (total + 1)).mean()


def build(recipe: Recipe, card: ModelCard):
    from core.models.networks import by_name

    return by_name()[recipe.architecture](in_channels=3, num_classes=card.num_classes, **recipe.arch_kwargs)


def loss_fn(card: ModelCard):
    import torch

    if card.task == "segmentation":
        cross_entropy = torch.nn.CrossEntropyLoss()
        return lambda logits, target: cross_entropy(logits, target) + soft_dice_loss(logits, target, card.num_classes)
    return torch.nn.BCEWithLogitsLoss()


def train_epoch(model, optimizer, schedule, loss, images, targets, card, recipe, rng) -> float:
    import torch

    model.train()
    total = 0.0
    for chosen in shuffled_batches(rng, len(images), recipe.batch_size):
        xs, ys = [], []
        for i in chosen:
            mask = targets[i] if card.task == "segmentation" else None
            image, mask = augment(images[i], mask, recipe, rng)
            xs.append(card.preprocess(image))
            ys.append(mask if mask is not None else targets[i])
        target = torch.from_numpy(np.stack(ys))
        target = target.long() if card.task == "segmentation" else target.float()
        total += optimise(optimizer, schedule, loss(model(torch.from_numpy(np.stack(xs))), target)) * len(chosen)
    return total / len(images)


def train(key: str, epochs: int | None = None) -> ModelCard:
    """Train one model, write its weights and card, and return the card."""

    recipe = RECIPES[key]
    epochs = recipe.epochs if epochs is None else epochs
    seed_everything(SEED)
    train_set = open_dataset(ROOT / recipe.dataset, split="train")
    test_set = open_dataset(ROOT / recipe.dataset, split="test")
    train_images, train_targets = load_split(train_set)
    test_images, test_targets = load_split(test_set)
    mean, std = measure_mean_std(train_images)
    weights = f"{key}_{recipe.architecture.replace('smallcnn', 'cnn')}.pt"
    card = ModelCard(
        name=recipe.name,
        title=recipe.title,
        description=recipe.description,
        architecture=recipe.architecture,
        arch_kwargs=dict(recipe.arch_kwargs),
        task=train_set.task,
        classes=list(train_set.classes),
        input_size=recipe.input_size,
        channels=3,
        mean=mean,
        std=std,
        weights=weights,
        dataset=recipe.dataset,
        script="scripts/train_scene_models.py",
    )
    model = build(recipe, card)
    optimizer, schedule = one_cycle(model, recipe, epochs, len(train_images), pct_start=0.2)
    loss, rng = loss_fn(card), np.random.default_rng(SEED)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        value = train_epoch(model, optimizer, schedule, loss, train_images, train_targets, card, recipe, rng)
        if epoch == 1 or epoch % 5 == 0 or epoch == epochs:
            print(f"  {key} epoch {epoch:3d}/{epochs}: train loss {value:.4f}", flush=True)
    train_seconds = time.perf_counter() - started

    outputs = predict(model, test_images, card)
    if card.task == "segmentation":
        card.metrics = segmentation_metrics(test_targets, outputs, card.classes)
    else:
        card.metrics = multilabel_metrics(test_targets, outputs, card.classes)
    save(model, card, key, recipe, epochs, len(train_images), train_seconds)
    return card


def save(model, card: ModelCard, key: str, recipe: Recipe, epochs: int, n_train: int, seconds: float) -> None:

    weights_path = BUNDLED_MODELS / card.weights
    card.sha256 = save_weights(model, weights_path)
    card.training = {
        "seed": SEED,
        "epochs": epochs,
        "optimizer": f"AdamW (weight_decay={recipe.weight_decay:g}), one-cycle LR schedule",
        "lr": recipe.lr,
        "batch_size": recipe.batch_size,
        "loss": "pixel cross-entropy + soft Dice" if card.task == "segmentation" else "binary cross-entropy",
        "augmentation": augmentation_text(recipe),
        "train_samples": n_train,
        "threads": THREADS,
        "train_seconds": round(seconds, 1),
    }
    card.save(BUNDLED_MODELS / weights_path.with_suffix(".json").name)
    figure = ", ".join(
        f"{k} {v:.4f}" for k, v in card.metrics.items() if k.startswith("test_") and isinstance(v, float)
    )
    print(
        f"{key}: {figure}; trained in {seconds:.1f} s, weights {weights_path.stat().st_size / 1024:.0f} KiB, "
        f"sha256 {card.sha256}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(RECIPES), help="train one model only")
    parser.add_argument("--epochs", type=int, help="override the number of epochs of every model trained")
    args = parser.parse_args(argv)
    for key in [args.only] if args.only else sorted(RECIPES):
        train(key, args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
