"""What a model said about a dataset: one row of class scores per sample.

Rows of samples that were not run (cancelled before them) or that failed to decode hold
NaN and ``done`` is False; the failures keep their message in ``errors``. Predictions are
aligned with the dataset's sample order and carry the sample ids, so they can be saved,
reloaded and matched to the dataset again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.system.files import atomic_writer

NOT_PREDICTED = -1


class RunBookkeeping:
    """What a run has done so far; shared by classification and segmentation predictions.

    Subclasses have ``sample_ids``, ``done`` (N bool) and ``errors`` ({index: message}).
    """

    def __len__(self) -> int:
        return len(self.sample_ids)

    @property
    def num_done(self) -> int:
        return int(self.done.sum())

    @property
    def complete(self) -> bool:
        """Every sample was either predicted or failed with a recorded error."""
        return self.num_done + len(self.errors) >= len(self)

    def pending(self) -> np.ndarray:
        """Indices still to run: neither predicted nor failed (to resume a cancelled run)."""
        todo = ~self.done
        if self.errors:
            todo[list(self.errors)] = False
        return np.flatnonzero(todo)


@dataclass
class Predictions(RunBookkeeping):
    task: str
    classes: list[str]
    sample_ids: list[str]
    #: N x C float32: softmax probabilities (binary, multiclass) or per-label sigmoid (multilabel).
    scores: np.ndarray
    done: np.ndarray  # N bool
    errors: dict[int, str] = field(default_factory=dict)
    model: str = ""
    device: str = ""
    seconds: float = 0.0

    @classmethod
    def empty(cls, task: str, classes: list[str], sample_ids: list[str], **info) -> Predictions:
        n, c = len(sample_ids), len(classes)
        return cls(
            task=task,
            classes=list(classes),
            sample_ids=list(sample_ids),
            scores=np.full((n, c), np.nan, dtype=np.float32),
            done=np.zeros(n, dtype=bool),
            **info,
        )

    @property
    def predicted(self) -> np.ndarray:
        """Predicted class per sample (argmax), NOT_PREDICTED (-1) where there is no prediction."""
        out = np.full(len(self), NOT_PREDICTED, dtype=np.int64)
        done = self.done.copy()  # one snapshot: a running job fills `done` on its own thread meanwhile
        if self.scores.shape[1] and done.all():  # no copy of the N x C scores (half a second at 1.28M x 100)
            out[:] = np.argmax(self.scores, axis=1)
        elif self.scores.shape[1]:
            out[done] = np.argmax(self.scores[done], axis=1)
        return out

    @property
    def confidence(self) -> np.ndarray:
        """Score of the predicted class, NaN where there is no prediction."""
        out = np.full(len(self), np.nan, dtype=np.float32)
        done = self.done.copy()
        if self.scores.shape[1]:
            out[done] = self.scores[done].max(axis=1)
        return out

    def top_k(self, index: int, k: int = 5) -> list[tuple[int, float]]:
        """The k best classes of one sample with their scores, best first."""
        if not self.done[index]:
            return []
        row = self.scores[index]
        order = np.argsort(-row, kind="stable")[:k]
        return [(int(c), float(row[c])) for c in order]

    # -- persistence ----------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write to ``path`` (.npz) atomically: arrays in the npz, the rest as JSON inside it."""
        path = Path(path)
        meta = {
            "task": self.task,
            "classes": self.classes,
            "sample_ids": self.sample_ids,
            "errors": {str(k): v for k, v in self.errors.items()},
            "model": self.model,
            "device": self.device,
            "seconds": self.seconds,
        }
        with atomic_writer(path, suffix=".tmp.npz") as out:  # runs' clean-up removes *.tmp.npz a crash left
            np.savez_compressed(
                out, scores=self.scores, done=self.done, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8)
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> Predictions:
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode())
            return cls(
                task=meta["task"],
                classes=meta["classes"],
                sample_ids=meta["sample_ids"],
                scores=data["scores"],
                done=data["done"],
                errors={int(k): v for k, v in meta["errors"].items()},
                model=meta.get("model", ""),
                device=meta.get("device", ""),
                seconds=float(meta.get("seconds", 0.0)),
            )
