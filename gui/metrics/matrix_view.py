"""The confusion matrix of a single-label task (counts or rates), and its most confused pairs."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QMenu, QToolButton, QVBoxLayout, QWidget

from core.evaluation import classification
from core.metrics import cell_indices, normalize_confusion_matrix
from gui.glossary_tips import explain_metrics
from gui.metrics.confused_pairs import ConfusedPairsTable
from gui.metrics.lazy_matrix import LazyConfusionMatrix
from gui.metrics.model import MetricsModel

VIEWS = {
    "Counts": None,
    "Rates by true class (recall)": "true",
    "Rates by predicted class (precision)": "pred",
    "Share of all samples": "all",
}


def select_cell(model: MetricsModel, true_class: int, pred_class: int) -> None:
    """Select the samples of one cell of the matrix, decided as the matrix was (threshold included)."""
    y_true, y_pred = classification.labeled_pairs(model.dataset, model.predictions, model.state.threshold)
    classes = model.classes
    indices = cell_indices(y_true, y_pred, true_class=true_class, pred_class=pred_class)
    model.select(f"true {classes[true_class]} → predicted {classes[pred_class]}", indices)


class MatrixView(QWidget):
    """Rows are true classes, columns predicted ones; click a cell for its samples, wheel to zoom, drag to pan;
    right-click a cell for its label issues."""

    #: "Label issues in this cell": true class, predicted class (the metrics pane opens Analysis > Label issues).
    label_issues_requested = Signal(int, int)

    def __init__(self, model: MetricsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.view_combo = QComboBox()
        self.view_combo.addItems(list(VIEWS))
        self.view_combo.setToolTip("Show counts, or rates normalised by row, column or over all")
        self.view_combo.currentIndexChanged.connect(self.refresh)
        explain_metrics(self.view_combo)
        fit = QToolButton(text="Fit", toolTip="Show the whole matrix (the wheel zooms, a drag pans)")
        self.matrix = LazyConfusionMatrix()
        self.matrix.setToolTip("Click a cell to show its samples in the browser; right-click it for its label issues")
        self.matrix.cell_clicked.connect(lambda t, p: select_cell(model, t, p))
        self.matrix.cell_menu_requested.connect(lambda t, p, at: self.cell_menu(t, p).exec(at))
        fit.clicked.connect(self.matrix.fit)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Show:"))
        controls.addWidget(self.view_combo, 1)
        controls.addWidget(fit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.matrix, 1)
        model.decisions_changed.connect(self.refresh)

    def cell_menu(self, true_class: int, pred_class: int) -> QMenu:
        """What a right-click on a cell offers: its samples, or its label issues (true = given, predicted =
        suggested) in Analysis > Label issues."""
        menu = QMenu(self)
        names = self.model.classes
        menu.addAction("Show These Samples", lambda: select_cell(self.model, true_class, pred_class))
        action = menu.addAction(
            "Label Issues in This Cell", lambda: self.label_issues_requested.emit(true_class, pred_class)
        )
        action.setToolTip(
            f"The samples labeled {names[true_class]} that are likely {names[pred_class]}, most suspect first"
        )
        menu.setToolTipsVisible(True)
        return menu

    def refresh(self) -> None:
        decisions = self.model.decisions
        if decisions is None or "counts" not in decisions:
            if self.matrix.classes:
                self.matrix.set_matrix(self.matrix.counts[:0, :0], [])
            return
        counts = decisions["counts"]
        mode = VIEWS[self.view_combo.currentText()]
        values = None if mode is None else normalize_confusion_matrix(counts, mode)
        self.matrix.set_matrix(counts, self.model.classes, values)

    def csv_rows(self) -> list[list]:
        """The matrix as shown (counts or rates), true classes down, predicted across."""
        names = self.matrix.classes
        return [["true \\ predicted", *names]] + [[n, *row] for n, row in zip(names, self.matrix.values.tolist())]


class ConfusedPairsView(QWidget):
    """The largest confusions of the matrix; a click selects them and zooms the matrix onto the cell."""

    def __init__(self, model: MetricsModel, matrix: LazyConfusionMatrix, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.table = ConfusedPairsTable()
        self.table.pair_clicked.connect(self._clicked)
        self.matrix = matrix
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        model.decisions_changed.connect(self.refresh)

    def catch_up(self) -> None:
        """Show what the model holds now (a view made after the model changed: the tab's first show)."""
        self.refresh()

    def refresh(self) -> None:
        decisions = self.model.decisions
        if decisions is not None and "counts" in decisions:
            self.table.set_counts(decisions["counts"], self.model.classes)
        else:
            self.table.setRowCount(0)

    def _clicked(self, true_class: int, pred_class: int) -> None:
        select_cell(self.model, true_class, pred_class)
        self.matrix.focus_cell(true_class, pred_class)
