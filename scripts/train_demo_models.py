"""Train the bundled demo models (one SmallCNN per demo dataset) on the CPU, seeded and reproducible.

Every image is read through ``core.datasets.open_dataset`` and prepared with ``ModelCard.preprocess``,
the very function the app runs at inference time, so training and the app see the same tensors.
Augmentation (small random rotation, scale and shift; mirror for faces) is applied to the uint8 image
before ``preprocess``. The figure written into the card is the accuracy on the held-out test split,
measured once after the last epoch; the test split is never looked at during training.

Writes ``resources/models/<name>_cnn.pt`` (a plain state_dict) and ``<name>_cnn.json`` (its ModelCard).
Run ``scripts/make_demo_data.py`` and ``scripts/make_noisy_demo.py`` first. ``digits_noisy`` is trained on
the noisy labels as they are: that is the point of it.

Usage: ``python scripts/train_demo_models.py [--only digits|digits_noisy|faces] [--epochs N]``
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from core.datasets import Dataset, open_dataset  # noqa: E402
from core.models.cards import BUNDLED_MODELS, ModelCard  # noqa: E402
from core.models.preprocess import resize_image  # noqa: E402
from core.models.weights import file_sha256  # noqa: E402

SEED = 0
THREADS = 2  # fixed: a different thread count may change float summation order, hence the weights


@dataclass(frozen=True)
class Recipe:
    """What differs between the demo models: data, card fields and training settings."""

    name: str
    title: str
    description: str
    dataset: str
    input_size: tuple[int, int]
    arch_kwargs: dict[str, Any]
    epochs: int
    lr: float
    batch_size: int
    weight_decay: float
    label_smoothing: float
    max_degrees: float
    max_scale: float  # scale drawn from [1 - max_scale, 1 + max_scale]
    max_shift: float  # shift drawn from [-max_shift, max_shift], as a fraction of the input size
    mirror: bool
    border: int  # cv2 border mode for pixels the warp brings in


RECIPES = {
    "digits": Recipe(
        name="digits-cnn",
        title="Handwritten digits CNN",
        description=(
            "SmallCNN trained from scratch on scikit-learn's handwritten digits (8 x 8 images, upsampled "
            "to 32 x 32). Classifies a single centred digit 0-9, white on black."
        ),
        dataset="resources/demo/digits",
        input_size=(32, 32),
        arch_kwargs={"width": 16, "dropout": 0.2},
        epochs=40,
        lr=3e-3,
        batch_size=64,
        weight_decay=5e-4,
        label_smoothing=0.05,
        max_degrees=10.0,
        max_scale=0.1,
        max_shift=0.08,
        mirror=False,
        border=cv2.BORDER_CONSTANT,  # the digits lie on a black background
    ),
    "faces": Recipe(
        name="faces-cnn",
        title="Face / non-face CNN",
        description=(
            "SmallCNN trained from scratch on scikit-image's LFW subset (25 x 25 grayscale crops, upsampled "
            "to 32 x 32): tells a face crop from a background patch of the same photos. A small set (160 "
            "training images), so the figure is rough."
        ),
        dataset="resources/demo/faces",
        input_size=(32, 32),
        arch_kwargs={"width": 16, "dropout": 0.3},
        epochs=60,
        lr=3e-3,
        batch_size=32,
        weight_decay=5e-4,
        label_smoothing=0.05,
        max_degrees=10.0,
        max_scale=0.1,
        max_shift=0.08,
        mirror=True,
        border=cv2.BORDER_REFLECT_101,  # crops of photos: continue the picture rather than paint a frame
    ),
}
# The digits' recipe as it is, on the demo with planted faults: only what it is trained on differs.
RECIPES["digits_noisy"] = replace(
    RECIPES["digits"],
    name="digits-noisy-cnn",
    title="Handwritten digits CNN (noisy labels)",
    description=(
        "The digits CNN's recipe trained on the digits demo with planted faults (resources/demo/digits_noisy, "
        "made by scripts/make_noisy_demo.py): 5% of its training labels are wrong and 4 training images are "
        "no digits, as planted.json records. Its test split holds copies of training images and 12 non-digits "
        "under random labels, which the test accuracy counts. A model for finding what is wrong with the data."
    ),
    dataset="resources/demo/digits_noisy",
)


def augmentation_text(recipe: Recipe) -> str:
    """The augmentation in words, for the card."""
    parts = [
        f"rotation +-{recipe.max_degrees:g} deg",
        f"scale {1 - recipe.max_scale:g}-{1 + recipe.max_scale:g}",
        f"shift +-{recipe.max_shift * 100:g}% of the input size",
    ]
    if recipe.mirror:
        parts.append("horizontal mirror p=0.5")
    return ", ".join(parts) + " (uint8 image at input size, before preprocess)"


def seed_everything(seed: int) -> None:
    """Make a run repeatable: same seed, same thread count, deterministic kernels -> same weights."""
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)


# -- what every training script here shares (train_scene_models.py, train_scene_detector.py) ------------------
def one_cycle(model, recipe, epochs: int, samples: int, pct_start: float):
    """AdamW (``recipe.lr``, ``recipe.weight_decay``) and its one-cycle learning-rate schedule over ``epochs`` of
    ``samples`` in batches of ``recipe.batch_size`` (one scheduler step per batch)."""
    import torch

    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps = -(-samples // recipe.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=recipe.lr, epochs=epochs, steps_per_epoch=steps, pct_start=pct_start
    )
    return optimizer, schedule


def shuffled_batches(rng: np.random.Generator, count: int, batch_size: int) -> Iterator[np.ndarray]:
    """One epoch's batches of sample indices, in a new random order; a last batch of one sample is skipped
    (BatchNorm cannot train on a single sample)."""
    order = rng.permutation(count)
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        if len(chosen) >= 2:
            yield chosen


def optimise(optimizer, schedule, loss) -> float:
    """One step down ``loss`` (a scalar tensor) and one step of the schedule; the loss's value."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    schedule.step()
    return loss.item()


def save_weights(model, path: Path) -> str:
    """The model's state_dict at ``path``, written whole or not at all; its sha256 (for the card)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pt.tmp")
    torch.save(model.state_dict(), tmp)
    tmp.replace(path)
    return file_sha256(path)


def load_images(dataset: Dataset) -> tuple[list[np.ndarray], np.ndarray]:
    """All images of a (small) dataset, decoded once, with their labels."""
    images = [sample.image() for sample in dataset]
    return images, np.asarray(dataset.targets, dtype=np.int64)


def measure_mean_std(images: list[np.ndarray], card: ModelCard) -> tuple[float, float]:
    """Mean and std of the pixels the model sees (after preprocess's resize and grayscale), in [0, 1]."""
    plain = replace(card, mean=[0.0], std=[1.0])
    pixels = np.concatenate([plain.preprocess(image).ravel() for image in images]).astype(np.float64)
    # Rounded so the card reads well; the rounded values are the ones training then uses.
    return round(float(pixels.mean()), 4), round(float(pixels.std()), 4)


def augment(image: np.ndarray, card: ModelCard, recipe: Recipe, rng: np.random.Generator) -> np.ndarray:
    """A randomly rotated, scaled, shifted (and maybe mirrored) copy, at the model's input size.

    The image is first resized by ``ModelCard.preprocess``'s own resize (``resize_image``), so with no
    transform drawn the result is what evaluation feeds the model.
    """
    height, width = card.input_size
    image = resize_image(card, image)
    angle = rng.uniform(-recipe.max_degrees, recipe.max_degrees)
    scale = rng.uniform(1 - recipe.max_scale, 1 + recipe.max_scale)
    shift = rng.uniform(-recipe.max_shift, recipe.max_shift, size=2) * (width, height)
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, scale)
    matrix[:, 2] += shift
    image = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=recipe.border)
    if recipe.mirror and rng.random() < 0.5:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)


def accuracy(model: Any, images: list[np.ndarray], labels: np.ndarray, card: ModelCard, batch_size: int = 256) -> float:
    """Top-1 accuracy of ``model`` (in eval mode) on the images, prepared with ``card.preprocess``."""
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = np.stack([card.preprocess(image) for image in images[start : start + batch_size]])
            predicted = model(torch.from_numpy(batch)).argmax(dim=1).numpy()
            correct += int((predicted == labels[start : start + batch_size]).sum())
    return correct / len(images)


def train(key: str, epochs: int | None = None) -> ModelCard:
    """Train one demo model, write its weights and card, and return the card."""
    import torch
    from torch import nn

    from core.models.smallcnn import SmallCNN

    recipe = RECIPES[key]
    epochs = recipe.epochs if epochs is None else epochs
    seed_everything(SEED)
    train_set = open_dataset(ROOT / recipe.dataset, split="train")
    test_set = open_dataset(ROOT / recipe.dataset, split="test")
    train_images, train_labels = load_images(train_set)
    test_images, test_labels = load_images(test_set)
    card = ModelCard(
        name=recipe.name,
        title=recipe.title,
        description=recipe.description,
        architecture="smallcnn",
        arch_kwargs=dict(recipe.arch_kwargs),
        task=train_set.task,
        classes=list(train_set.classes),
        input_size=recipe.input_size,
        channels=1,
        weights=f"{key}_cnn.pt",
        dataset=recipe.dataset,
        script="scripts/train_demo_models.py",
    )
    mean, std = measure_mean_std(train_images, card)
    card.mean, card.std = [mean], [std]

    model = SmallCNN(in_channels=1, num_classes=card.num_classes, **recipe.arch_kwargs)
    optimizer, schedule = one_cycle(model, recipe, epochs, len(train_images), pct_start=0.2)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    rng = np.random.default_rng(SEED)

    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        total_loss = 0.0
        for chosen in shuffled_batches(rng, len(train_images), recipe.batch_size):
            batch = np.stack([card.preprocess(augment(train_images[i], card, recipe, rng)) for i in chosen])
            target = torch.from_numpy(train_labels[chosen])
            total_loss += optimise(optimizer, schedule, loss_fn(model(torch.from_numpy(batch)), target)) * len(chosen)
        if epoch == 1 or epoch % 10 == 0 or epoch == epochs:
            print(f"  {key} epoch {epoch:3d}/{epochs}: train loss {total_loss / len(train_images):.4f}", flush=True)
    train_seconds = time.perf_counter() - started

    test_accuracy = accuracy(model, test_images, test_labels, card)
    weights_path = BUNDLED_MODELS / card.weights
    card.sha256 = save_weights(model, weights_path)
    card.metrics = {"test_accuracy": test_accuracy, "test_samples": len(test_images), "split": "test"}
    card.training = {
        "seed": SEED,
        "epochs": epochs,
        "optimizer": f"AdamW (weight_decay={recipe.weight_decay:g}), one-cycle LR schedule",
        "lr": recipe.lr,
        "batch_size": recipe.batch_size,
        "loss": f"cross-entropy, label_smoothing={recipe.label_smoothing:g}",
        "augmentation": augmentation_text(recipe),
        "split": "train",  # analyze scores this split by cross-validation, not by the model's own predictions
        "train_samples": len(train_images),
        "threads": THREADS,
        "train_seconds": round(train_seconds, 1),
    }
    card.save(BUNDLED_MODELS / f"{key}_cnn.json")
    print(
        f"{key}: test accuracy {test_accuracy:.4f} ({round(test_accuracy * len(test_images))}/{len(test_images)}), "
        f"trained in {train_seconds:.1f} s, weights {weights_path.stat().st_size / 1024:.0f} KiB, sha256 {card.sha256}"
    )
    return card


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
