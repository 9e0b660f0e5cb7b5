"""Copies of the bundled demo datasets with a class renamed: a model whose classes are named differently.

Written under the test's tmp_path (nothing is ever written into resources/)."""

from __future__ import annotations

import shutil
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


def renamed_digits(tmp_path: Path) -> Path:
    """A copy of the digits demo whose class "7" is called "seven" (9 of its 10 names are the model's)."""
    root = shutil.copytree(DEMO / "digits", tmp_path / "digits")
    for split in ("train", "test"):
        (root / split / "7").rename(root / split / "seven")
    return root


def renamed_scenes(tmp_path: Path) -> Path:
    """A copy of the scenes demo whose "background" class is called "sky"."""
    root = shutil.copytree(DEMO / "scenes", tmp_path / "scenes")
    classes = root / "classes.txt"
    classes.write_text(classes.read_text().replace("background", "sky", 1))
    return root


def misdrawn_scenes(tmp_path: Path, images: int = 32, planted: int = 3, min_pixels: int = 150):
    """A copy of the scenes demo's test split run through the bundled U-Net (its first ``images`` images), then
    ``planted`` masks painted wrong: in the images the model segments best (highest mean IoU) that hold a digit
    of at least ``min_pixels`` pixels, that digit's region is given another digit's class in the mask file.

    Returns (root, predictions, {image index: H x W bool of the repainted region}). The run's probabilities do
    not depend on the truth, so the masks are repainted after it ran (as an annotator's slip would be found)."""
    import csv

    import cv2
    import numpy as np

    from core.datasets import open_dataset
    from core.inference.segmentation import SegmentationJob
    from core.models.cards import load_card

    root = tmp_path / "scenes"
    for part in ("images/test", "masks/test"):  # the test split only: the train split is not read
        shutil.copytree(DEMO / "scenes" / part, root / part)
    for name in ("classes.txt", "sources.csv"):
        shutil.copy(DEMO / "scenes" / name, root / name)
    dataset = open_dataset(root, split="test")
    card = load_card(DEMO.parent / "models" / "scenes_unet.json")
    job = SegmentationJob(card, dataset, device="cpu", batch_size=images, run_dir=tmp_path / "run", num_workers=0)
    for _ in job.run(np.arange(images)):
        pass
    predictions = job.predictions
    iou = np.nan_to_num(predictions.per_image_scores()["mean_iou"], nan=-1.0)
    digits: dict[int, list[dict]] = {}
    with open(root / "sources.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["split"] == "test":
                digits.setdefault(dataset.sample_ids.index(f"test/{row['image']}"), []).append(row)
    regions: dict[int, np.ndarray] = {}
    for index in np.argsort(-iou, kind="stable"):
        path = root / "masks" / dataset.sample_ids[index]  # "test/0007.png"
        mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        for row in digits.get(int(index), []):
            x, y, w, h = (int(row[key]) for key in ("x", "y", "width", "height"))
            digit = int(row["class"])
            region = np.zeros(mask.shape, bool)
            region[y : y + h, x : x + w] = mask[y : y + h, x : x + w] == digit + 1  # class 0 is the background
            if region.sum() >= min_pixels:
                mask[region] = (digit + 5) % 10 + 1
                cv2.imwrite(str(path), mask)
                regions[int(index)] = region
                break
        if len(regions) == planted:
            break
    return root, predictions, regions
