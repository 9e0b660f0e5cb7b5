"""The runner's models beyond the bundled ones: the user's checkpoint, and torchvision's networks."""

import numpy as np
import pytest
import torch

from core.datasets import open_dataset
from core.models.smallcnn import SmallCNN
from core.tasks.catalogue import weights_missing
from gui.runner import RunnerPane
from gui.runner.card_dialog import CardDialog, parse_floats
from gui.state import AppState


@pytest.fixture
def pane(runner_pane):
    return runner_pane


def test_open_a_plain_state_dict_review_its_card_and_run_it(qtbot, pane, tmp_path, monkeypatch):
    widget, state = pane
    torch.manual_seed(0)
    torch.save(SmallCNN(in_channels=1, num_classes=10, width=8).state_dict(), tmp_path / "mine.pt")

    def accept(dialog):  # the user accepts the card as proposed, with a 32 x 32 grayscale input
        assert dialog.classes.toPlainText().split() == state.dataset.classes  # numbered names replaced
        dialog.height.setValue(32)
        dialog.width.setValue(32)
        dialog.channels.setCurrentIndex(1)
        dialog.save_beside.setChecked(True)
        dialog._accept()
        return True

    monkeypatch.setattr(CardDialog, "exec", accept)
    with qtbot.waitSignal(widget.opener.opened, timeout=60_000):
        widget.opener.open(str(tmp_path / "mine.pt"), state.dataset.classes)
    card = widget.current_card()
    assert card.architecture == "smallcnn" and card.classes == state.dataset.classes and card.channels == 1
    assert (tmp_path / "mine.json").is_file()  # saved beside the weights: the next open reads it
    with qtbot.waitSignal(widget.run_finished, timeout=120_000):
        assert widget.start_run()
    assert state.predictions.complete and state.predictions.model == card.name


def test_a_file_that_is_no_model_is_a_message(qtbot, pane, tmp_path):
    widget, state = pane
    (tmp_path / "notes.pt").write_bytes(b"not a checkpoint at all")
    errors = []
    state.error.connect(lambda title, text: errors.append(text))
    widget.opener.open(str(tmp_path / "notes.pt"), state.dataset.classes)
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert "notes.pt" in errors[0]


def test_torchvision_weights_not_in_the_cache_are_named_with_their_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    from core.models import zoo

    card = zoo.zoo_card("resnet18")
    assert weights_missing(card) and str(tmp_path) in str(card.weights_path)
    (card.weights_path.parent).mkdir(parents=True)
    card.weights_path.write_bytes(b"x")
    assert not weights_missing(card)


def test_card_numbers_are_checked():
    assert parse_floats("0.485, 0.456; 0.406") == [0.485, 0.456, 0.406]
    with pytest.raises(ValueError, match="abc"):
        parse_floats("0.5, abc")
    assert np.isclose(sum(parse_floats("1,2")), 3)


def test_a_segmenter_with_other_class_names_runs_through_a_class_map(qtbot, tmp_path, monkeypatch):
    from core import tasks
    from gui.runner.class_map_dialog import ClassMapDialog
    from tests.fake_datasets import tiny_unet_card, write_voc

    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="train")
    names = ["__background__", *(name.upper() for name in dataset.classes[1:])]  # torchvision-style names
    card = tiny_unet_card(tmp_path, dataset.classes, name="seg")
    card.name, card.classes = "other-names", names
    assert tasks.fit(card, dataset).suggestion == dict(zip(dataset.classes, names))
    card.save(tmp_path / "seg.json")
    state = AppState()
    widget = RunnerPane(state)
    qtbot.addWidget(widget)
    state.set_dataset(dataset)
    asked = []
    monkeypatch.setattr(ClassMapDialog, "exec", lambda dialog: asked.append(dialog.class_map()) or True)
    with qtbot.waitSignal(widget.opener.opened, timeout=60_000):
        widget.opener.open(str(tmp_path / "seg.json"), dataset.classes)
    assert widget.current_card().name == "other-names"  # enabled: a map makes it fit
    with qtbot.waitSignal(widget.run_finished, timeout=120_000):
        assert widget.start_run()
    assert len(asked) == 1 and len(asked[0]) == 21
    assert state.predictions.settings["class_map"] == asked[0]
    qtbot.waitUntil(lambda: not widget.is_running(), timeout=30_000)
