"""Review mode: go through the grid's samples in its order, one key per decision.

The order is the grid's when review starts (a metrics Selection such as "highest loss first", a
confusion cell, a tag or mark filter): A or Enter accepts the label (marks the sample reviewed),
P takes the model's prediction (and marks it reviewed), S or → skips, ← goes back, Esc leaves.
A bar above the grid counts "12 reviewed · 48 left" and says the label and the model's guess.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from core.evaluation.decisions import predicted_classes
from core.evaluation.selection import first_unreviewed, step_in
from core.labels import REVIEWED
from core.labels.marks import label_text
from gui.labeling.browsing import Browser
from gui.labeling.controller import LabelingController
from gui.state import AppState

BAR_STYLE = (
    "#ReviewBar { background: rgba(40, 150, 70, 35); border: 1px solid rgba(40, 150, 70, 120); border-radius: 4px; }"
)


class ReviewBar(QFrame):
    """What review mode shows above the grid: the order, the counts, the sample's label and the buttons."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReviewBar")
        self.setStyleSheet(BAR_STYLE)
        self.title = QLabel(self)
        self.counts = QLabel(self)
        self.counts.setStyleSheet("font-weight: bold")
        self.sample = QLabel(self)
        words = QHBoxLayout()
        # A long selection name or label never widens the browser: the words are cut, the tooltip has them.
        self.sample.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        words.addWidget(self.title)
        words.addWidget(self.counts)
        words.addWidget(self.sample, 1)
        buttons = QHBoxLayout()
        for action in actions:
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 3, 4, 3)
        layout.setSpacing(2)
        layout.addLayout(words)
        layout.addLayout(buttons)


class ReviewMode(QObject):
    changed = Signal()  # entered, left, moved on, or the counts changed

    def __init__(self, state: AppState, browser: Browser, controller: LabelingController) -> None:
        super().__init__(browser)
        self.state, self.browser, self.controller = state, browser, controller
        self.order: np.ndarray | None = None
        self.name = ""
        self.bar: ReviewBar | None = None
        state.dataset_changed.connect(lambda _d: self.leave())
        state.labels_changed.connect(lambda _i: self._update())
        state.sample_selected.connect(lambda _i: self._update())
        state.predictions_changed.connect(lambda _p: self._update())

    def set_bar(self, bar: ReviewBar) -> None:
        self.bar = bar
        bar.hide()
        self.browser.add_bar(bar)

    @property
    def active(self) -> bool:
        return self.order is not None

    def counts(self) -> tuple[int, int]:
        """(reviewed, left) among the samples under review."""
        if self.order is None or self.state.project is None:
            return 0, 0
        reviewed = int(np.count_nonzero(self.state.project.status()[self.order] == REVIEWED))
        return reviewed, len(self.order) - reviewed

    # -- entering and leaving ----------------------------------------------------------
    def start(self) -> bool:
        """Review the grid's samples in its order, from the current one (else the first not reviewed)."""
        if self.state.project is None:
            self.state.message.emit("Open a dataset first: review marks are kept in its project store.")
            return False
        order = self.browser.visible_indices()
        if not len(order):
            self.state.message.emit("Nothing to review: the grid is empty.")
            return False
        self.order = order
        selection = self.state.selection
        self.name = selection.name if selection is not None else "the grid"
        current = self.state.current
        start = current if current in set(order.tolist()) else first_unreviewed(order, self.state.project.status())
        self._go(int(order[0]) if start is None else start)
        if self.bar is not None:
            self.bar.show()
        self.browser.view.setFocus()
        self.changed.emit()
        return True

    def leave(self) -> None:
        if self.order is None:
            return
        self.order = None
        if self.bar is not None:
            self.bar.hide()
        self.changed.emit()

    # -- decisions ---------------------------------------------------------------------
    def accept(self) -> None:
        index = self._current()
        if index is not None and self.controller.accept(index):
            self.next()

    def take_prediction(self) -> None:
        index = self._current()
        if index is not None and self.controller.take_prediction(np.asarray([index]), review=True):
            self.next()

    def skip(self) -> None:
        self.next()

    def back(self) -> None:
        found = step_in(self.order, self.state.current, -1) if self.order is not None else None
        if found is not None:
            self._go(found)

    def next(self) -> None:
        """The next sample in the order; past the end, the first one still not reviewed."""
        if self.order is None:
            return
        found = step_in(self.order, self.state.current, 1)
        if found is None:
            found = first_unreviewed(self.order, self.state.project.status())
        if found is None:
            self.state.message.emit(f"Review done: all {len(self.order):,} samples reviewed")
            self._update()
            return
        self._go(found)

    # -- internals ---------------------------------------------------------------------
    def _current(self) -> int | None:
        return self.state.current if self.order is not None else None

    def _go(self, index: int) -> None:
        self.state.select_sample(int(index))

    def _update(self) -> None:
        if self.order is None or self.bar is None:
            return
        reviewed, left = self.counts()
        bar = self.bar
        bar.title.setText(f"Reviewing {self.name} ({len(self.order):,}):")
        bar.counts.setText(f"{reviewed:,} reviewed · {left:,} left")
        bar.sample.setText(self._describe(self.state.current))
        bar.title.setToolTip(bar.title.text())
        self.changed.emit()

    def _describe(self, index: int | None) -> str:
        dataset, preds = self.state.dataset, self.state.predictions
        if index is None or dataset is None:
            return ""
        text = f"&nbsp;&nbsp;label: <b>{label_text(dataset, index) or 'none'}</b>"
        if preds is not None and len(preds) == len(dataset) and preds.done[index] and dataset.tags is None:
            guess = int(predicted_classes(preds, self.state.threshold)[index])
            if 0 <= guess < len(dataset.classes):
                text += f" · model: <b>{dataset.classes[guess]}</b> ({float(preds.scores[index, guess]):.0%})"
        return text
