"""Analysis on a segmenter's run: its pooled bottleneck embeddings map the images and find their duplicates
(the label issues of masks are the Label quality view's)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core import tasks
from core.datasets import open_dataset
from core.models.cards import load_card
from cvlens.cli import DEMO_DATASET
from gui.metrics.metrics_pane import MetricsPane

SCENES = DEMO_DATASET.parent / "scenes"
IMAGES = 30


@pytest.fixture
def scenes_run(tmp_path):
    """(dataset, predictions, embeddings): the U-Net with embeddings over 30 test scenes and a copy of the first."""
    root = tmp_path / "scenes"
    for part in ("images", "masks"):
        (root / part / "test").mkdir(parents=True)
        names = sorted((SCENES / part / "test").iterdir())[:IMAGES]
        for path in names:
            shutil.copy(path, root / part / "test" / path.name)
        shutil.copy(names[0], root / part / "test" / f"copy-{names[0].name}")
    shutil.copy(SCENES / "classes.txt", root / "classes.txt")
    dataset = open_dataset(root, split="test")
    card = load_card(DEMO_DATASET.parent.parent / "models" / "scenes_unet.json")
    job = tasks.job_for(card, dataset, device="cpu", batch_size=16, embeddings=True, run_dir=tmp_path / "run")
    job.prepare()
    for _ in job.run():
        pass
    return dataset, job.predictions, np.asarray(job.embeddings)


def test_a_segmenters_images_are_mapped_and_a_copied_scene_is_an_exact_duplicate(qtbot, app_state, scenes_run):
    dataset, predictions, embeddings = scenes_run
    app_state.set_dataset(dataset)
    app_state.set_predictions(predictions, embeddings)
    widget = MetricsPane(app_state)
    qtbot.addWidget(widget)
    try:
        assert "Analysis" in tasks.of(predictions).views
        view = widget.show_tab("Analysis")
        assert view.analyse_button.isEnabled(), view.status.text()
        with qtbot.waitSignal(widget.analysis_model.finished, timeout=180_000):
            view.analyse_button.click()
        analysis = widget.analysis_model.analysis
        copy = dataset.sample_ids.index(next(s for s in dataset.sample_ids if "copy-" in s))
        pairs = {frozenset((int(a), int(b))) for a, b, e in zip(analysis.duplicates.a, analysis.duplicates.b,
                                                                 analysis.duplicates.exact) if e}  # fmt: skip
        assert pairs == {frozenset((0, copy))}
        assert analysis.label_issues is None and "Label quality" in analysis.notes[0]
        assert np.isfinite(analysis.coords).all() and len(analysis.coords) == IMAGES + 1
        assert analysis.outliers.ood is None and analysis.outliers.knn is not None
        assert set(widget.analysis_map.map.colourings) == {"Outlier score", "Mean IoU"}
        mean_iou = widget.analysis_map.map.colourings["Mean IoU"].values
        assert np.allclose(mean_iou, predictions.per_image_scores()["mean_iou"], equal_nan=True)
    finally:
        widget.shutdown()
