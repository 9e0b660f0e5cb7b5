"""What a user looks for and must find: readable errors, help, tooltips, the class map of classifiers."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QTextDocument

from gui.widgets import ErrorBanner, plain_to_html


@pytest.fixture
def window(open_window):
    """A shown, active 1200 x 800 main window with nothing open."""
    return open_window(size=(1200, 800))


def shown_text(rich: str) -> str:
    """What a QLabel showing ``rich`` displays, as plain text."""
    document = QTextDocument()
    document.setHtml(rich)
    return document.toPlainText()


def test_not_a_dataset_lists_every_layout_with_its_placeholders_intact(qtbot, window, tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")
    window.open_dataset(str(tmp_path))
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10_000)
    lines = shown_text(window.banner.label.text()).splitlines()
    assert any("root/<class>/*.jpg or root/<split>/<class>/*.jpg" in line for line in lines)
    assert any(line.strip() == "COCO: no annotations/instances_<split>.json" for line in lines)
    layouts = [line for line in lines if line.strip().startswith(("CIFAR-10:", "ImageNet:", "Image folder:"))]
    assert len(layouts) == 3  # one line each: the list does not run together
    assert "<li>" in window.banner.label.text()


def test_the_banner_shows_text_as_written_and_offers_its_action(qtbot):
    banner = ErrorBanner()
    qtbot.addWidget(banner)
    done = []
    banner.show_message(
        "Model", "resnet18 <b>predicts</b> 1000 classes", action=("Map Classes…", lambda: done.append(1))
    )
    assert shown_text(banner.label.text()) == "Model: resnet18 <b>predicts</b> 1000 classes"
    assert banner.action_button.text() == "Map Classes…" and not banner.action_button.isHidden()
    banner.action_button.click()
    assert done == [1] and banner.isHidden()
    banner.show_message("Other", "plain")
    assert banner.action_button.isHidden()


def test_plain_to_html_keeps_paragraph_lines_and_makes_dash_lines_a_list():
    rich = plain_to_html("first\nsecond <x>\n  - a: b\n  - c\nafter")
    assert shown_text(rich).splitlines() == ["first", "second <x>", "a: b", "c", "after"]
    assert rich.count("<li>") == 2


def menu_action(window, menu_title: str, text: str):
    """The QAction titled ``text`` (ampersands ignored) in the menu bar's ``menu_title`` menu."""
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == menu_title:
            for action in top.menu().actions():
                if action.text().replace("&", "") == text:
                    return action
    raise AssertionError(f"no {menu_title} > {text}")


def test_about_names_the_version_torch_cuda_qt_and_the_data_folder(qtbot, window, monkeypatch):
    import torch
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QMessageBox

    from core.system.about import app_version
    from core.system.paths import data_dir

    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(shown_text(box.text())) or 0)
    menu_action(window, "Help", "About CV Lens").trigger()
    text = shown[0]
    assert app_version() == "0.1.0" and "CV Lens  \n0.1.0\n" in text.replace("\xa0", " ")
    assert torch.__version__ in text and (torch.version.cuda or "CPU build") in text
    assert pyside_version in text and qVersion() in text
    assert str(data_dir()) in text


def small_classifier_card(folder, classes: list[str], name: str = "other-names"):
    """A random SmallCNN (RGB, 16 x 16) saved with its card; its classes are ``classes``. The card's path."""
    import torch

    from core.models import ModelCard
    from core.models.smallcnn import SmallCNN
    from core.models.weights import file_sha256

    torch.manual_seed(0)
    torch.save(SmallCNN(in_channels=3, num_classes=len(classes), width=4).state_dict(), folder / f"{name}.pt")
    card = ModelCard(
        name=name, architecture="smallcnn", task="multiclass", classes=list(classes), input_size=(16, 16),
        arch_kwargs={"width": 4}, weights=f"{name}.pt", sha256=file_sha256(folder / f"{name}.pt"),
    )  # fmt: skip
    card.save(folder / f"{name}.json")
    return folder / f"{name}.json"


def test_a_classifier_with_other_class_names_is_mapped_from_the_banner_and_runs(qtbot, window, tmp_path, monkeypatch):
    from core.datasets import open_dataset
    from gui.runner.class_map_dialog import IGNORE, ClassMapDialog
    from tests.fake_datasets import write_imagenet

    write_imagenet(tmp_path / "imagenet", kaggle=True)  # an ImageNet-layout subset: tench, goldfish, crane
    dataset = open_dataset(tmp_path / "imagenet")
    assert dataset.classes == ["tench", "goldfish", "crane"]
    card_path = small_classifier_card(tmp_path, ["Crane", "shark", "Goldfish", "tench", "unicorn"])
    window.state.set_dataset(dataset)
    runner = window.runner
    assert runner.map_button.isHidden()  # no model here runs through a map yet
    with qtbot.waitSignal(runner.opener.opened, timeout=60_000):
        runner.opener.open(str(card_path), dataset.classes)
    assert runner.current_card().name == "other-names"  # not greyed: a map of the names makes it fit
    assert not runner.map_button.isHidden()
    assert "map the classes by name" in shown_text(window.banner.label.text())
    assert window.banner.action_button.text() == "Map Classes…"

    seen = []

    def user_ignores_crane(dialog):
        seen.append({name: combo.currentText() for name, combo in zip(dialog.dataset_classes, dialog.combos)})
        dialog.combos[2].setCurrentText(IGNORE)
        return True

    monkeypatch.setattr(ClassMapDialog, "exec", user_ignores_crane)
    window.banner.action_button.click()  # the banner's way to the map
    assert seen == [{"tench": "tench", "goldfish": "Goldfish", "crane": "Crane"}]  # matched by name to start with
    assert "2 of the dataset's classes mapped" in runner.card_label.text()
    with qtbot.waitSignal(runner.run_finished, timeout=120_000):
        assert runner.start_run()
    assert len(seen) == 1  # Run uses the map made, it does not ask again
    predictions = window.state.predictions
    assert predictions.classes == dataset.classes and predictions.complete
    assert runner._job.class_map.sources == [[3], [2], []]
    np.testing.assert_allclose(predictions.scores.sum(axis=1), 1, rtol=1e-5)
    assert (predictions.scores[:, 2] == 0).all()  # an ignored class is never predicted


def registered_keys(window) -> set[tuple[str, str]]:
    """(keys, text) of every QAction with keys in the window and every QShortcut of a mask editor."""
    from PySide6.QtGui import QAction, QKeySequence, QShortcut

    from gui.labeling import MaskEditorWidget

    def native(sequence) -> str:
        return sequence.toString(QKeySequence.SequenceFormat.NativeText)

    found = set()
    for action in window.findChildren(QAction) + window.browser.actions():
        keys = " or ".join(native(s) for s in action.shortcuts() if native(s))
        if keys:
            found.add((keys, action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")))
    editor = MaskEditorWidget()
    found |= {(native(s.key()), s.whatsThis()) for s in editor.findChildren(QShortcut)}
    editor.deleteLater()
    return found


def test_keyboard_shortcuts_list_every_registered_key_and_open_on_question_mark(qtbot, window):
    from gui.shortcuts import HANDLED_KEYS, ShortcutsDialog

    menu_action(window, "Help", "Keyboard Shortcuts").trigger()
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None and dialog.isVisible()
    registered = registered_keys(window)
    assert len(registered) > 30 and not [key for key in registered if key not in dialog.listed()]
    assert ("B", "Brush: paint the chosen class") in dialog.listed()  # the mask editor's, before it is opened
    assert all(what for _keys, what in dialog.listed())  # every key says what it does
    groups = {dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    assert {"Browser", "Labels", "Review", "Mask editor", "Box editor"} <= groups
    assert ("Del", "Delete the selected box") in dialog.listed()  # the box editor's, before it is opened
    assert {(k.keys, k.what) for k in HANDLED_KEYS} <= dialog.listed()
    dialog.close()
    qtbot.waitUntil(lambda: window.findChild(ShortcutsDialog) is None)

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.browser.view.setFocus()
    qtbot.keyClick(window.browser.view, "?")
    qtbot.waitUntil(lambda: window.findChild(ShortcutsDialog) is not None)
