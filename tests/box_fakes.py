"""A tiny detection dataset for the label-store, export and box-editor tests: PNG images on disk, objects in
``objects.json`` (until the COCO / VOC / YOLO readers of the object tasks are on this branch)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from core.datasets.base import Dataset, SampleError

CLASSES = ["cat", "dog", "bird"]

#: Per split, per image: (boxes, classes, iscrowd, difficult).
OBJECTS = {
    "train": {
        "a.png": ([[2, 3, 20, 18], [10, 10, 30, 28]], [0, 1], [False, False], [False, True]),
        "b.png": ([[0, 0, 16, 16]], [2], [True], [False]),
        "c.png": ([], [], [], []),
    },
    "val": {"d.png": ([[4, 4, 12, 24]], [1], [False], [False])},
}


class TinyBoxes(Dataset):
    """Images ``<root>/<split>/<name>.png`` 40 x 32; objects from ``<root>/objects.json``."""

    layout = "Tiny boxes"

    def __init__(self, root: Path, split: str = "train", task: str = "detection") -> None:
        self.objects = json.loads((Path(root) / "objects.json").read_text())
        names = sorted(self.objects[split])
        tasks = ("instance_segmentation", "detection")
        super().__init__(
            root, task=task, classes=CLASSES, splits=sorted(self.objects), split=split, sample_ids=names, tasks=tasks
        )

    def sample_path(self, index: int) -> Path:
        return self.root / self.split / self.sample_ids[index]

    def load_image(self, index: int) -> np.ndarray:
        image = cv2.imread(str(self.sample_path(index)))
        if image is None:  # as the real readers say it
            raise SampleError(f"{self.sample_ids[index]}: image file is missing or unreadable")
        return image[:, :, ::-1].copy()

    def load_boxes(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        boxes, classes, _, _ = self.objects[self.split][self.sample_ids[index]]
        return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes, np.int64)

    def box_extras(self, index: int) -> dict[str, np.ndarray]:
        _, _, crowd, difficult = self.objects[self.split][self.sample_ids[index]]
        return {"iscrowd": np.asarray(crowd, bool), "difficult": np.asarray(difficult, bool)}

    def load_instances(self, index: int) -> np.ndarray | None:
        """Each object's mask: the left half of its box (so a test can tell it from the box's rectangle)."""
        if self.task != "instance_segmentation":
            return None
        boxes, _ = self.load_boxes(index)
        out = np.zeros((len(boxes), 32, 40), bool)
        for k, (x0, y0, x1, y1) in enumerate(boxes.astype(int)):
            out[k, y0:y1, x0 : (x0 + x1) // 2] = True
        return out

    def with_split(self, split: str) -> TinyBoxes:
        return self if split == self.split else TinyBoxes(self.root, split, self.task)

    def with_task(self, task: str) -> TinyBoxes:
        return self if task == self.task else TinyBoxes(self.root, self.split, task)


class BrokenB(TinyBoxes):
    """b.png's annotation cannot be read (a malformed XML, say)."""

    def load_boxes(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if self.sample_ids[index] == "b.png":
            raise SampleError("b.png: Annotations/b.xml is not well-formed")
        return super().load_boxes(index)


def write_tiny_boxes(root: Path) -> Path:
    """The dataset's files under ``root``; returns ``root``."""
    for split, images in OBJECTS.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        for k, name in enumerate(images):
            image = np.full((32, 40, 3), 40 * (k + 1), np.uint8)
            cv2.imwrite(str(root / split / name), image)
    (root / "objects.json").write_text(json.dumps(OBJECTS))
    return root
