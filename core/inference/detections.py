"""What a detector said about a dataset: boxes, scores and classes per image (and a mask per box).

One :class:`DetectionPredictions` serves the three object tasks: ``detection`` (any number of boxes per image),
``instance_segmentation`` (a binary mask with every box, kept as COCO run-length encodings) and
``localization`` (one box per image, with the class scores of the image in ``class_scores``).

While a job runs, each image's detections are set with :meth:`DetectionPredictions.set_image`; images not run
yet (a cancelled run) have ``done`` False and no detections, and resuming runs only those (``pending()``).
Saved as one npz without pickles: the per-image arrays concatenated with offsets, the masks' RLE counts as
one byte buffer, the rest as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.inference.predictions import RunBookkeeping
from core.system.files import atomic_writer

OBJECT_TASKS = ("localization", "detection", "instance_segmentation")
_EMPTY_BOXES = np.zeros((0, 4), dtype=np.float32)


def _empty(dtype) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


@dataclass
class DetectionPredictions(RunBookkeeping):
    task: str
    classes: list[str]
    sample_ids: list[str]
    #: Per image: float32 M x 4 boxes (x0, y0, x1, y1) in pixels of the image as the dataset gives it.
    boxes: list[np.ndarray]
    #: Per image: float32 M scores (the detector's confidence), best first.
    scores: list[np.ndarray]
    #: Per image: int64 M class indices into ``classes``.
    labels: list[np.ndarray]
    done: np.ndarray  # N bool
    #: N x 2 int64 (height, width) of each image as run; -1 where unknown.
    image_sizes: np.ndarray
    #: Per image, per box, a COCO RLE's counts (bytes, pycocotools' compressed string) of the box's mask at
    #: the image's size; None for runs without masks.
    masks: list[list[bytes]] | None = None
    #: localization: N x C float32 class scores of each image (NaN where not run); None otherwise.
    class_scores: np.ndarray | None = None
    errors: dict[int, str] = field(default_factory=dict)
    model: str = ""
    device: str = ""
    seconds: float = 0.0

    @classmethod
    def empty(cls, task: str, classes: list[str], sample_ids: list[str], *, with_masks: bool = False, **info):
        if task not in OBJECT_TASKS:
            raise ValueError(f"DetectionPredictions are for {OBJECT_TASKS}, not {task!r}")
        n = len(sample_ids)
        return cls(
            task=task,
            classes=list(classes),
            sample_ids=list(sample_ids),
            boxes=[_EMPTY_BOXES] * n,
            scores=[_empty(np.float32)] * n,
            labels=[_empty(np.int64)] * n,
            done=np.zeros(n, dtype=bool),
            image_sizes=np.full((n, 2), -1, dtype=np.int64),
            masks=[[] for _ in range(n)] if with_masks or task == "instance_segmentation" else None,
            class_scores=np.full((n, len(classes)), np.nan, dtype=np.float32) if task == "localization" else None,
            **info,
        )

    # -- filling ---------------------------------------------------------------------
    def set_image(
        self,
        index: int,
        boxes: np.ndarray,
        scores: np.ndarray,
        labels: np.ndarray,
        *,
        size: tuple[int, int] | None = None,
        masks: list[bytes] | None = None,
        class_scores: np.ndarray | None = None,
    ) -> None:
        """One image's detections (sorted here by descending score, stable), and marks it done."""
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float32).reshape(-1)
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if not len(boxes) == len(scores) == len(labels):
            raise ValueError(f"{len(boxes)} boxes, {len(scores)} scores and {len(labels)} labels for one image")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise ValueError(f"class indices must lie in 0..{len(self.classes) - 1}")
        order = np.argsort(-scores, kind="stable")
        self.boxes[index], self.scores[index], self.labels[index] = boxes[order], scores[order], labels[order]
        if self.masks is not None:
            given = list(masks or [])
            if len(given) != len(boxes):
                raise ValueError(f"{len(given)} masks for {len(boxes)} boxes")
            self.masks[index] = [given[i] for i in order]
        if size is not None:
            self.image_sizes[index] = size
        if self.class_scores is not None and class_scores is not None:
            self.class_scores[index] = class_scores
        self.errors.pop(index, None)
        self.done[index] = True

    # -- reading ---------------------------------------------------------------------
    def image(self, index: int, min_score: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(boxes, scores, labels) of one image, those scoring at least ``min_score``."""
        keep = self.scores[index] >= min_score
        return self.boxes[index][keep], self.scores[index][keep], self.labels[index][keep]

    def image_masks(self, index: int, min_score: float = 0.0) -> np.ndarray | None:
        """M x H x W bool masks of one image's detections scoring at least ``min_score`` (decoded now)."""
        if self.masks is None:
            return None
        from pycocotools import mask as rle  # the COCO reader's decoder, imported when masks are drawn

        keep = np.flatnonzero(self.scores[index] >= min_score)
        height, width = (int(v) for v in self.image_sizes[index])
        if not len(keep):
            return np.zeros((0, max(height, 0), max(width, 0)), dtype=bool)
        encoded = [{"size": [height, width], "counts": self.masks[index][i]} for i in keep]
        return np.moveaxis(rle.decode(encoded), -1, 0).astype(bool)

    @property
    def num_detections(self) -> np.ndarray:
        """Detections per image (of every score)."""
        return np.array([len(s) for s in self.scores], dtype=np.int64)

    def all_scores(self) -> np.ndarray:
        """Every detection's score, image after image (for the score slider's histogram)."""
        return np.concatenate(self.scores) if self.scores else _empty(np.float32)

    # -- persistence ----------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write to ``path`` (.npz) atomically; no object arrays, so loading needs no pickle."""
        path = Path(path)
        offsets = np.concatenate([[0], np.cumsum(self.num_detections)]).astype(np.int64)
        meta = {
            "kind": "detections",
            "task": self.task,
            "classes": self.classes,
            "sample_ids": self.sample_ids,
            "errors": {str(k): v for k, v in self.errors.items()},
            "model": self.model,
            "device": self.device,
            "seconds": self.seconds,
        }
        arrays = {
            "boxes": np.concatenate(self.boxes) if self.boxes else _EMPTY_BOXES,
            "scores": self.all_scores(),
            "labels": np.concatenate(self.labels) if self.labels else _empty(np.int64),
            "offsets": offsets,
            "done": self.done,
            "image_sizes": self.image_sizes,
            "meta": np.frombuffer(json.dumps(meta).encode(), np.uint8),
        }
        if self.masks is not None:
            counts = [c for image in self.masks for c in image]
            arrays["mask_bytes"] = np.frombuffer(b"".join(counts), np.uint8)
            arrays["mask_offsets"] = np.concatenate([[0], np.cumsum([len(c) for c in counts])]).astype(np.int64)
        if self.class_scores is not None:
            arrays["class_scores"] = self.class_scores
        with atomic_writer(path, suffix=".tmp.npz") as out:
            np.savez_compressed(out, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> DetectionPredictions:
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode())
            if meta.get("kind") != "detections":
                raise ValueError(f"{Path(path).name} holds no detections")
            offsets = data["offsets"]
            n = len(meta["sample_ids"])
            if len(offsets) != n + 1:
                raise ValueError(f"{Path(path).name}: {len(offsets) - 1} images of detections for {n} samples")
            cut = [slice(int(offsets[i]), int(offsets[i + 1])) for i in range(n)]
            boxes, scores, labels = data["boxes"], data["scores"], data["labels"]
            masks = None
            if "mask_bytes" in data:
                buffer, ends = data["mask_bytes"].tobytes(), data["mask_offsets"]
                flat = [buffer[int(ends[j]) : int(ends[j + 1])] for j in range(len(ends) - 1)]
                masks = [flat[s] for s in cut]
            return cls(
                task=meta["task"],
                classes=meta["classes"],
                sample_ids=meta["sample_ids"],
                boxes=[boxes[s] for s in cut],
                scores=[scores[s] for s in cut],
                labels=[labels[s] for s in cut],
                done=data["done"],
                image_sizes=data["image_sizes"],
                masks=masks,
                class_scores=data.get("class_scores"),
                errors={int(k): v for k, v in meta["errors"].items()},
                model=meta.get("model", ""),
                device=meta.get("device", ""),
                seconds=float(meta.get("seconds", 0.0)),
            )

    def aligned(self, sample_ids: list[str]) -> DetectionPredictions:
        """The same detections in the order of ``sample_ids`` (samples the run lacks: not done, no boxes)."""
        if list(sample_ids) == self.sample_ids:
            return self
        where = {sid: i for i, sid in enumerate(self.sample_ids)}
        out = DetectionPredictions.empty(
            self.task,
            self.classes,
            list(sample_ids),
            with_masks=self.masks is not None,
            model=self.model,
            device=self.device,
            seconds=self.seconds,
        )
        for j, sid in enumerate(sample_ids):
            i = where.get(sid)
            if i is None:
                continue
            out.boxes[j], out.scores[j], out.labels[j] = self.boxes[i], self.scores[i], self.labels[i]
            out.done[j], out.image_sizes[j] = self.done[i], self.image_sizes[i]
            if self.masks is not None:
                out.masks[j] = self.masks[i]
            if self.class_scores is not None:
                out.class_scores[j] = self.class_scores[i]
            if i in self.errors:
                out.errors[j] = self.errors[i]
        return out
