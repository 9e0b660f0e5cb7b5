"""Small widgets the panes share: the error banner and the dataset bar."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QWidget,
)


def plain_to_html(text: str) -> str:
    """A plain message as rich text, shown as written: ``<split>`` stays visible (escaped, not read as a
    tag), lines stay lines, and lines that start with "- " (after spaces) become a bulleted list."""
    blocks: list[tuple[bool, list[str]]] = []  # (is a list, its escaped lines)
    for line in text.splitlines():
        stripped = line.strip()
        bullet = stripped.startswith("- ")
        if not blocks or blocks[-1][0] != bullet:
            blocks.append((bullet, []))
        blocks[-1][1].append(html.escape(stripped[2:] if bullet else line))
    return "".join(
        f"<ul style='margin: 2px 0'>{''.join(f'<li>{item}</li>' for item in lines)}</ul>"
        if bullet
        else "<br>".join(lines)
        for bullet, lines in blocks
    )


class ErrorBanner(QFrame):
    """A red bar at the top of the window: errors are shown where the user looks, never hidden.

    Messages are plain text (exception texts hold paths and ``<placeholders>``), shown as written.
    A message may come with one action ("Map classes…") that leads to what fixes it.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ErrorBanner")
        self.setStyleSheet(
            "#ErrorBanner { background: #fdecea; border: 1px solid #e0a8a2; border-radius: 4px; }"
            "#ErrorBanner QLabel { color: #611a15; }"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.action_button = QPushButton()
        self.action_button.hide()
        self.action_button.clicked.connect(self._act)
        self._action: Callable[[], None] | None = None
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(
        self, title: str, text: str, details: str = "", action: tuple[str, Callable[[], None]] | None = None
    ) -> None:
        """Show ``text`` (plain) under ``title``; ``action`` = (button text, what it does) adds a button."""
        self.label.setText(f"<b>{html.escape(title)}</b>: {plain_to_html(text)}")
        self.label.setToolTip(f"<p style='white-space:pre'>{html.escape(details or text)}</p>")
        self._action = action[1] if action else None
        self.action_button.setText(action[0] if action else "")
        self.action_button.setVisible(action is not None)
        self.show()

    def _act(self) -> None:
        action = self._action
        self.hide()
        if action is not None:
            action()


class DatasetBar(QWidget):
    """What is open (name, layout, task, size), the split selector and, for files that hold several tasks
    (COCO: instance segmentation, detection, segmentation), the task selector."""

    split_requested = Signal(str)
    task_requested = Signal(str)  # the dataset's task to open it as instead
    open_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.open_button = QPushButton("Open Dataset…")
        self.open_button.setToolTip("Open a dataset folder (Ctrl+O)")
        self.open_button.clicked.connect(self.open_requested)
        self.title = QLabel("No dataset open")
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.split_combo = QComboBox()
        self.split_combo.setToolTip("The split of the dataset to show")
        self.split_combo.activated.connect(lambda _i: self.split_requested.emit(self.split_combo.currentText()))
        layout.addWidget(self.open_button)
        layout.addWidget(self.title, 1)
        self.task_combo = QComboBox()
        self.task_combo.setToolTip("The task to open the dataset as: its files hold the labels of several")
        self.task_combo.activated.connect(lambda _i: self.task_requested.emit(self.task_combo.currentData()))
        self.task_label = QLabel("Task:")
        layout.addWidget(self.task_label)
        layout.addWidget(self.task_combo)
        layout.addWidget(QLabel("Split:"))
        layout.addWidget(self.split_combo)
        self._show_tasks(())

    def show_dataset(self, dataset) -> None:
        if dataset is None:
            self.title.setText("No dataset open")
            self.split_combo.clear()
            self._show_tasks(())
            return
        self.title.setText(
            f"<b>{dataset.name}</b> &nbsp;·&nbsp; {dataset.layout} &nbsp;·&nbsp; {dataset.task} &nbsp;·&nbsp; "
            f"{len(dataset):,} samples &nbsp;·&nbsp; {dataset.num_classes} classes"
        )
        self.title.setToolTip(str(dataset.root))
        self.split_combo.blockSignals(True)
        self.split_combo.clear()
        self.split_combo.addItems(dataset.splits or ["(all)"])
        self.split_combo.setEnabled(bool(dataset.splits))
        if dataset.split:
            self.split_combo.setCurrentText(dataset.split)
        self.split_combo.blockSignals(False)
        self._show_tasks(getattr(dataset, "tasks", ()), dataset.task)

    def _show_tasks(self, names, current: str | None = None) -> None:
        """The task selector, shown only when the files hold more than one task."""
        self.task_combo.blockSignals(True)
        self.task_combo.clear()
        for name in names:
            self.task_combo.addItem(name.replace("_", " "), name)
        if current is not None:
            self.task_combo.setCurrentIndex(max(self.task_combo.findData(current), 0))
        self.task_combo.blockSignals(False)
        for widget in (self.task_label, self.task_combo):
            widget.setVisible(len(names) > 1)


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with "…" when narrower than it (the tooltip says it whole);
    ``text()`` is the whole text. At most ``max_width`` wide, so a long text never pushes its row's
    neighbours over each other."""

    def __init__(self, parent: QWidget | None = None, max_width: int = 280) -> None:
        super().__init__(parent)
        self._full = ""
        self._max_width = max_width

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()
        self.updateGeometry()

    def text(self) -> str:
        return self._full

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        full = self.fontMetrics().horizontalAdvance(self._full) + self._padding()
        return QSize(min(full, self._max_width), hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(min(self.sizeHint().width(), 60), super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _padding(self) -> int:
        """What the label adds around its text (margins, a style sheet's padding)."""
        return super().sizeHint().width() - self.fontMetrics().horizontalAdvance(super().text())

    def _elide(self) -> None:
        room = max(0, min(self.width(), self._max_width) - self._padding())
        super().setText(self.fontMetrics().elidedText(self._full, Qt.ElideRight, room))


def first_geometry(x: int, y: int, width: int, height: int, size: tuple[int, int]) -> QRect:
    """Where a new window of ``size`` goes on a screen whose free area is (x, y, width, height): shrunk to
    what the screen has (a 1366x768 laptop), centred."""
    w, h = min(size[0], width), min(size[1], height)
    return QRect(x + (width - w) // 2, y + (height - h) // 2, w, h)


def place_on_screen(window: QWidget, width: int, height: int) -> None:
    """Give a new top-level window ``width`` x ``height``, or all its screen has when that is less."""
    free = window.screen().availableGeometry()
    window.setGeometry(first_geometry(free.x(), free.y(), free.width(), free.height(), (width, height)))


class FirstPaint(QObject):
    """Calls ``callback`` once, on the event-loop turn after ``widget`` was first painted (so after the
    frame holding that paint reached the screen, not before it)."""

    def __init__(self, widget: QWidget, callback) -> None:
        super().__init__(widget)
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._callback)
        return False
