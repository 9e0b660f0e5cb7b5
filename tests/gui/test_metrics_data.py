"""Data and helpers of the metrics-view tests: datasets with labels and a model's random but plausible scores.

The other test_metrics_* modules import from here (``from tests.gui.test_metrics_data import ...``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from core.datasets import open_dataset
from core.datasets.base import Dataset
from core.inference.predictions import Predictions
from gui.metrics import MetricsPane

ROOT = Path(__file__).resolve().parents[2]
FACES = ROOT / "resources" / "demo" / "faces"
CELEBA_LABELS = ["Smiling", "Eyeglasses", "Male", "Young", "Wearing_Hat"]


def softmax_scores(targets: np.ndarray, num_classes: int, skill: float, seed: int) -> np.ndarray:
    """N x C float32 probabilities that favour the true class by ``skill`` (in logits)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(targets), num_classes)) + skill * np.eye(num_classes)[np.maximum(targets, 0)]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def predictions_for(dataset: Dataset, scores: np.ndarray, done: np.ndarray | None = None) -> Predictions:
    done = np.ones(len(dataset), dtype=bool) if done is None else done
    scores = scores.copy()
    scores[~done] = np.nan
    return Predictions(dataset.task, list(dataset.classes), list(dataset.sample_ids), scores, done, model="test-net")


def faces(seed: int = 0) -> tuple[Dataset, Predictions]:
    """The bundled binary faces demo with random scores (one sample not predicted)."""
    dataset = open_dataset(FACES)
    done = np.ones(len(dataset), dtype=bool)
    done[3] = False
    return dataset, predictions_for(dataset, softmax_scores(dataset.targets, 2, 1.2, seed), done)


def labelled(task: str, n: int, num_classes: int, seed: int = 0, skill: float = 2.0) -> tuple[Dataset, Predictions]:
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, num_classes, n)
    classes, ids = [f"class {i:03d}" for i in range(num_classes)], [f"s{i:06d}" for i in range(n)]
    dataset = Dataset("/tmp/fake", task=task, classes=classes, splits=["test"], split="test", sample_ids=ids,
                      targets=targets)  # fmt: skip
    return dataset, predictions_for(dataset, softmax_scores(targets, num_classes, skill, seed))


class TinyCelebA(Dataset):
    """A multilabel dataset held in memory (images are blank)."""

    layout = "tiny CelebA"

    def load_image(self, index: int) -> np.ndarray:
        return np.zeros((8, 8, 3), dtype=np.uint8)


def multilabel(n: int = 300, seed: int = 0) -> tuple[Dataset, Predictions]:
    rng = np.random.default_rng(seed)
    labels = len(CELEBA_LABELS)
    tags = (rng.random((n, labels)) < rng.uniform(0.15, 0.6, labels)).astype(np.uint8)
    ids = [f"{i:06d}.jpg" for i in range(n)]
    dataset = TinyCelebA("/tmp/celeba", task="multilabel", classes=CELEBA_LABELS, splits=["test"], split="test",
                         sample_ids=ids, tags=tags)  # fmt: skip
    scores = np.clip(tags * 0.35 + rng.random((n, labels)) * 0.65, 0, 1).astype(np.float32)
    done = np.ones(n, dtype=bool)
    done[-2:] = False
    return dataset, predictions_for(dataset, scores, done)


def shown_pane(qtbot, app_state):
    """Body of each module's ``pane`` fixture: a 650 x 650 metrics view, left when its jobs are done."""
    widget = MetricsPane(app_state)
    widget.resize(650, 650)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    # not qtbot.addWidget: pytest-qt would delete the pane before this teardown, with its jobs still running
    qtbot.waitUntil(lambda: not widget.is_busy(), timeout=60_000)
    widget.close()
    widget.deleteLater()


def load(qtbot, pane: MetricsPane, dataset: Dataset, predictions: Predictions, scores: bool = True) -> None:
    """Open a dataset with its predictions and wait until the numbers (and, if ``scores``, the curves) are in."""
    pane.state.set_dataset(dataset)
    pane.state.set_predictions(predictions)
    qtbot.waitUntil(lambda: pane.model.decisions is not None, timeout=30_000)
    if scores:
        qtbot.waitUntil(lambda: pane.model.scores is not None, timeout=30_000)


def drag(widget, start: QPoint, end: QPoint, steps: int = 8) -> None:
    """A left-button drag (QTest's mouseMove does not hold the button in Qt 6)."""

    def send(kind, pos: QPoint, buttons) -> None:
        point = QPointF(pos)
        button = Qt.NoButton if kind == QEvent.MouseMove else Qt.LeftButton
        event = QMouseEvent(kind, point, QPointF(widget.mapToGlobal(pos)), button, buttons, Qt.NoModifier)
        QApplication.sendEvent(widget, event)

    send(QEvent.MouseButtonPress, start, Qt.LeftButton)
    for k in range(1, steps + 1):
        send(QEvent.MouseMove, start + (end - start) * (k / steps), Qt.LeftButton)
    send(QEvent.MouseButtonRelease, end, Qt.NoButton)


def test_the_fake_predictions_are_plausible():
    dataset, preds = labelled("multiclass", 500, 5)
    accuracy = (preds.predicted == dataset.targets).mean()
    assert 0.5 < accuracy < 0.99  # errors to analyse, and signal to find them
    dataset, preds = faces()
    assert dataset.task == "binary" and not preds.done[3]
