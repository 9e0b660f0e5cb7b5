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
