"""The "Detection" tab: COCO's mAP family of a detection run and its per-class table.

The numbers are the metrics.json of the run (``core.evaluation.detection_files.summary_of``): COCOeval's -1 (no object
of that size, or of that class, in the truth) shows as "—" with the reason in its tooltip. A class row's click
selects that class's objects at the score threshold: its TPs, its false detections and its missed objects.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.glossary_tips import with_glossary
from gui.metrics.class_table import NumberItem
from gui.metrics.detection_model import defined
from gui.tables import setup_table

#: metrics.json key: (label, what COCOeval's -1 means there).
NUMBERS = {
    "map": ("mAP", "no object in the truth"),
    "map_50": ("mAP@0.5", "no object in the truth"),
    "map_75": ("mAP@0.75", "no object in the truth"),
    "map_small": ("mAP small", "no small object (area under 32² pixels) in the truth"),
    "map_medium": ("mAP medium", "no medium object (area 32² to 96² pixels) in the truth"),
    "map_large": ("mAP large", "no large object (area over 96² pixels) in the truth"),
    "mar_1": ("mAR@1", "no object in the truth"),
    "mar_10": ("mAR@10", "no object in the truth"),
    "mar_100": ("mAR@100", "no object in the truth"),
}
TIPS = {
    "map": "Mean over classes of the AP averaged over IoU 0.50, 0.55, … 0.95 (COCO's primary metric)",
    "map_50": "Mean AP over classes at IoU 0.5 (PASCAL VOC's metric)",
    "map_75": "Mean AP over classes at IoU 0.75 (a strict localization)",
    "map_small": "mAP over the objects of area under 32² pixels",
    "map_medium": "mAP over the objects of area 32² to 96² pixels",
    "map_large": "mAP over the objects of area over 96² pixels",
    "mar_1": "Mean recall (IoU .50:.95) with at most 1 detection per image",
    "mar_10": "Mean recall (IoU .50:.95) with at most 10 detections per image",
    "mar_100": "Mean recall (IoU .50:.95) with at most 100 detections per image",
}
#: Column header: (key of the row's numbers, integer, tooltip).
COLUMNS = {
    "AP": ("ap", False, "AP averaged over IoU .50:.95 (COCO)"),
    "AP50": ("ap_50", False, "AP at IoU 0.5"),
    "Objects": ("objects", True, "Objects of the class in the truth (crowd regions and difficult objects left out)"),
    "Dets": ("detections", True, "Detections of the class scoring at least the score threshold"),
    "FP": (
        "fp",
        True,
        "Detections of the class not matched to an object of the class, at the score threshold (the others are TPs)",
    ),
    "FN": ("fn", True, "Objects of the class no detection of the class found, at the score threshold"),
    "Best F1 at": ("best_score", False, "The score threshold at which this class's F1 is highest (IoU 0.5)"),
    "P": ("best_precision", False, "Precision at the class's best-F1 score threshold"),
    "R": ("best_recall", False, "Recall at the class's best-F1 score threshold"),
    "F1": ("best_f1", False, "The best F1 of the class over every score threshold (IoU 0.5)"),
}
UNDEFINED_AP = "COCOeval gives -1: no object of this class in the truth, so its AP is undefined (left out of mAP)"


def class_rows(summary: dict) -> list[dict]:
    """One dict per class: its name, AP numbers, counts at the operating point and best-F1 point."""
    rows = []
    for name in summary["classes"]:
        best = (summary.get("pr_curves", {}).get(name) or {}).get("best_f1") or {}
        row = {"name": name, "ap": summary["ap"].get(name), "ap_50": summary["ap_50"].get(name)}
        row.update(summary.get("per_class", {}).get(name, {}))
        row.update({f"best_{key}": best.get(key) for key in ("precision", "recall", "f1")})
        row["best_score"] = best.get("score")
        rows.append(row)
    return rows


def _value(value):
    """None (an em dash) for what is undefined: None, NaN, COCOeval's -1."""
    return float(value) if defined(value) else None


class DetectionOverview(QWidget):
    """The mAP numbers on top, the per-class table under them."""

    class_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(14)
        for k, (key, (name, _why)) in enumerate(NUMBERS.items()):
            label = QLabel(f"{name} —", toolTip=with_glossary(TIPS[key], name))
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.labels[key] = label
            grid.addWidget(label, k // 3, k % 3)
        self.table = QTableWidget(0, 1 + len(COLUMNS))
        self.table.setHorizontalHeaderLabels(["Class", *COLUMNS])
        for col, (name, (_key, _integer, tip)) in enumerate(COLUMNS.items(), start=1):
            self.table.horizontalHeaderItem(col).setToolTip(with_glossary(tip, name))
        self.fitter = setup_table(self.table)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setToolTip("Click a class: its objects at the score threshold (TP, FP and missed) in the browser")
        self.table.cellClicked.connect(lambda row, _c: self.class_clicked.emit(self.class_at(row)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addWidget(self.table, 1)

    def show_summary(self, summary: dict | None) -> None:
        """The numbers of a metrics.json dict (None: nothing to show)."""
        for key, label in self.labels.items():
            name, why = NUMBERS[key]
            value = None if summary is None else summary.get(key)
            label.setText(f"{name} <b>{value:.3f}</b>" if defined(value) else f"{name} <b>—</b>")
            tip = TIPS[key] if defined(value) or summary is None else f"{TIPS[key]}<br>—: COCOeval gives -1, {why}"
            label.setToolTip(with_glossary(tip if tip.startswith("<") else f"<p>{tip}</p>", name))
        self._fill_table([] if summary is None else class_rows(summary))

    def _fill_table(self, rows: list[dict]) -> None:
        table = self.table
        table.setSortingEnabled(False)
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            item = QTableWidgetItem(row["name"])
            item.setData(Qt.UserRole, r)
            table.setItem(r, 0, item)
            for col, (key, integer, tip) in enumerate(COLUMNS.values(), start=1):
                number = NumberItem(_value(row.get(key)), integer=integer, tip=tip)
                if key.startswith("ap") and number.text() == "—":
                    number.setToolTip(UNDEFINED_AP)
                table.setItem(r, col, number)
        table.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)  # the classes' order until a header click
        table.setSortingEnabled(True)

    def class_at(self, row: int) -> int:
        return int(self.table.item(row, 0).data(Qt.UserRole))

    def csv_rows(self) -> list[list]:
        """The per-class table as the export writes it."""
        header = [self.table.horizontalHeaderItem(c).text() for c in range(self.table.columnCount())]
        rows = [header]
        for r in range(self.table.rowCount()):
            rows.append([self.table.item(r, 0).text(), *(self.table.item(r, c).value for c in range(1, len(header)))])
        return rows
