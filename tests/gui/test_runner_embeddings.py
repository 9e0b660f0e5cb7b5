"""The runner's Embeddings box: a run with it leaves the embeddings beside its predictions in the app state; a
model that gives none fails the run with the reason, and its box is greyed out with that reason afterwards."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
import torch

from core.models.loading import build_model, resolve_model
from gui.runner.card_dialog import CardDialog
from gui.runner.runner_pane import EMBEDDINGS_TIP


@pytest.fixture
def pane(runner_pane, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the run's embeddings file goes under tmp_path
    return runner_pane


def test_a_run_with_embeddings_leaves_them_beside_its_predictions(qtbot, pane, tmp_path):
    widget, state = pane
    assert widget.embeddings_check.isEnabled() and not widget.embeddings_check.isChecked()
    assert widget.embeddings_check.toolTip() == EMBEDDINGS_TIP and "map" in EMBEDDINGS_TIP
    with qtbot.waitSignal(widget.run_finished, timeout=120_000):
        assert widget.start_run()
    assert state.predictions.complete and state.embeddings is None  # not asked for
    widget.embeddings_check.setChecked(True)
    with qtbot.waitSignal(widget.run_finished, timeout=120_000):
        assert widget.start_run()
    rows = state.embeddings
    assert rows.shape == (len(state.dataset), 64) and rows.dtype == np.float16
    assert state.predictions.done.all() and np.abs(rows.astype(np.float32)).sum(axis=1).min() > 0
    assert widget._job.embeddings_path.is_relative_to(tmp_path)
    state.set_predictions(None)  # other predictions shown: their run's embeddings are not these
    assert state.embeddings is None


def test_a_model_without_embeddings_fails_with_the_reason_and_its_box_is_greyed(qtbot, pane, tmp_path, monkeypatch):
    widget, state = pane
    torch.jit.script(build_model(resolve_model("digits-cnn"))).save(str(tmp_path / "scripted.pt"))

    def accept(dialog):  # the card as proposed: 10 classes probed, named as the dataset's
        dialog.height.setValue(32)
        dialog.width.setValue(32)
        dialog.channels.setCurrentIndex(1)
        dialog._accept()
        return True

    monkeypatch.setattr(CardDialog, "exec", accept)
    with qtbot.waitSignal(widget.opener.opened, timeout=60_000):
        widget.opener.open(str(tmp_path / "scripted.pt"), state.dataset.classes)
    assert widget.current_card().architecture == "torchscript" and widget.embeddings_check.isEnabled()
    widget.embeddings_check.setChecked(True)
    with qtbot.waitSignal(widget.run_failed, timeout=120_000) as failed:
        assert widget.start_run()
    reason = "a TorchScript model gives no embeddings: its layers cannot be hooked"
    assert failed.args[0].startswith(reason) and widget.failures_label.text().startswith(reason)
    assert not widget.embeddings_check.isEnabled() and not widget.embeddings_check.isChecked()
    assert widget.embeddings_check.toolTip() == reason
    with qtbot.waitSignal(widget.run_finished, timeout=120_000):  # Run again: without embeddings, it runs
        assert widget.start_run()
    assert state.predictions.complete and state.embeddings is None
    widget.model_combo.setCurrentIndex(0)  # the bundled digits model gives them: its box is on again
    assert widget.current_card().name == "digits-cnn" and widget.embeddings_check.isEnabled()
    assert widget.embeddings_check.toolTip() == EMBEDDINGS_TIP
