"""The controls above the metrics: beta of the F-beta score, the decision threshold, undefined values, export."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QMenu, QSlider, QToolButton, QWidget

from gui.metrics.threshold_box import UnitBox
from gui.throttle import throttled

#: Slider positions per unit of threshold.
STEPS = 1000
#: A dragged slider is followed, but at most one recomputation per this many ms.
THRESHOLD_DEBOUNCE_MS = 10
#: The frame of a refused value (the red of failures elsewhere in the view).
REFUSED_COLOR = "#b00020"


def fbeta_name(beta: float) -> str:
    return "F1" if beta == 1 else f"F{beta:g}"


class BetaControl(QWidget):
    """beta of F-beta: 1 weighs precision and recall alike, 2 favours recall, 0.5 precision."""

    beta_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spin = QDoubleSpinBox(decimals=2, minimum=0.1, maximum=10.0, singleStep=0.5, value=1.0)
        self.spin.setToolTip("beta of the F-beta score: 2 weighs recall twice as much as precision, 0.5 the reverse")
        self.spin.valueChanged.connect(self.beta_changed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("β"))
        layout.addWidget(self.spin)

    def value(self) -> float:
        return self.spin.value()


class ZeroDivisionControl(QComboBox):
    """What an undefined precision, recall or F-score (0/0) counts as in the averages: 0, left out, or 1."""

    zero_division_changed = Signal(float)

    #: (shown text, value) in menu order; the first is the default, as scikit-learn's and torchmetrics'.
    CHOICES = (("0/0 counts as 0", 0.0), ("0/0 left out", float("nan")), ("0/0 counts as 1", 1.0))

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for text, value in self.CHOICES:
            self.addItem(text, value)
        self.setToolTip(
            "Averages over classes (macro, weighted) when a precision or recall is undefined (0/0: a class never "
            "predicted, or predicted but never present).\n0: as scikit-learn's classification_report and "
            "torchmetrics (the default). Left out: averaged over the defined values only.\n"
            "A class in neither the truth nor the predictions is never averaged."
        )
        self.currentIndexChanged.connect(lambda i: self.zero_division_changed.emit(self.CHOICES[i][1]))

    def value(self) -> float:
        return self.CHOICES[self.currentIndex()][1]


class ThresholdControl(QWidget):
    """A slider and a box for the decision threshold; ``threshold_changed`` follows a drag, lightly debounced.

    A typed value counts once committed (Enter, or leaving the box), exactly as typed; one outside [0, 1]
    is refused: the box turns red, its tooltip and ``threshold_refused`` say why, and the threshold stays.
    """

    threshold_changed = Signal(float)
    threshold_refused = Signal(str)  # a sentence for the status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("Threshold")
        self.slider = QSlider(Qt.Horizontal, minimum=0, maximum=STEPS, value=STEPS // 2)
        self.spin = UnitBox(value=0.5, step=0.01)
        tip = "Predict positive when the score reaches this threshold; the matrix, tables and browser follow"
        self.slider.setToolTip(tip)
        self.spin_tip = tip + " (type a number in [0, 1], then Enter)"
        self.spin.setToolTip(self.spin_tip)
        self.refused = False
        self.slider.valueChanged.connect(lambda v: self._changed(v / STEPS, self.spin))
        self.spin.valueChanged.connect(lambda v: self._changed(v, self.slider))
        self.spin.refused.connect(self._refuse)
        # A drag emits at most every THRESHOLD_DEBOUNCE_MS; ``_waiting``: the user's change is not sent yet.
        self._emit_soon = throttled(self._emit, timeout=THRESHOLD_DEBOUNCE_MS, leading=False)
        self._waiting = False
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)

    def value(self) -> float:
        return self.spin.value()

    def set_value(self, value: float) -> None:
        """Show ``value`` without emitting (the state already knows it).

        While the user's own change waits for its debounce, the control keeps what the user chose; text
        the user is typing is left alone (the box shows the value when they are done).
        """
        if self._waiting:
            return
        self.spin.show_value(value)
        if self.slider.value() != round(value * STEPS):
            self.slider.blockSignals(True)
            self.slider.setValue(round(value * STEPS))
            self.slider.blockSignals(False)

    def _changed(self, value: float, other) -> None:
        self._show_refusal("")
        if other is self.slider:
            other.blockSignals(True)
            other.setValue(round(value * STEPS))
            other.blockSignals(False)
        else:
            self.spin.show_value(value, force=True)  # the slider moved: text half typed in the box is dropped
        self._waiting = True
        self._emit_soon()

    def _emit(self) -> None:
        self._waiting = False
        self.threshold_changed.emit(self.spin.value())

    def _refuse(self, text: str, why: str) -> None:
        shown = self.spin.textFromValue(self.spin.value())
        sentence = f"“{text}” is {why}: the threshold must be a number between 0 and 1; it stays {shown}."
        self._show_refusal(sentence)
        self.threshold_refused.emit(sentence)

    def _show_refusal(self, sentence: str) -> None:
        """A red frame and the reason in the tooltip; an empty ``sentence`` clears them."""
        self.refused = bool(sentence)
        self.spin.setStyleSheet(f"QDoubleSpinBox {{ border: 2px solid {REFUSED_COLOR}; }}" if sentence else "")
        self.spin.setToolTip(sentence or self.spin_tip)


class ExportButton(QToolButton):
    """ "Export ▾": the current table as CSV, the current plot as PNG or SVG, the whole report as JSON."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setText("Export")
        self.setToolTip("Save the numbers and plots on screen")
        self.setPopupMode(QToolButton.InstantPopup)
        self.menu_ = QMenu(self)
        self.table_action = self.menu_.addAction("Table as CSV…")
        self.png_action = self.menu_.addAction("Plot as PNG…")
        self.svg_action = self.menu_.addAction("Plot as SVG…")
        self.menu_.addSeparator()
        self.json_action = self.menu_.addAction("Whole report as JSON…")
        self.setMenu(self.menu_)
