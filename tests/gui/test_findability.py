"""What a user looks for and must find: readable errors, help, tooltips, the class map of classifiers."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QTextDocument

from gui.main_window import MainWindow
from gui.widgets import ErrorBanner, plain_to_html


@pytest.fixture
def window(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.runner.cancel()
    qtbot.waitUntil(lambda: not win.runner.is_running(), timeout=30_000)


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

    from core.about import app_version
    from core.paths import data_dir

    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(shown_text(box.text())) or 0)
    menu_action(window, "Help", "About CV Lens").trigger()
    text = shown[0]
    assert app_version() == "0.1.0" and "CV Lens  \n0.1.0\n" in text.replace("\xa0", " ")
    assert torch.__version__ in text and (torch.version.cuda or "CPU build") in text
    assert pyside_version in text and qVersion() in text
    assert str(data_dir()) in text
