"""Mapping a dataset's classes to a model's, when the two name them differently.

Each dataset class gets the model class it corresponds to, or "(ignore)". For a segmenter an
ignored class's pixels are left out of the metrics; a classifier never predicts it. The dialog starts
from core's suggestion (``Fit.suggestion``: the names that match once case, spaces, underscores and
dashes are set aside, so "background" and torchvision's "__background__" match), for every task the
same, and the same matching ``--map-classes`` does headless.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QStringListModel
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QLabel, QTableWidget, QVBoxLayout

from gui.tables import setup_table

IGNORE = "(ignore)"

SEGMENTATION_NOTE = "Classes left on {ignore} are not scored; the model's other classes are never predicted as them."
CLASSIFIER_NOTE = (
    "A dataset class left on {ignore} is never predicted (its samples count as errors). The scores of the "
    "model's classes mapped to none are dropped and the rest renormalised, as when an ImageNet network "
    "is run on an ImageNet subset."
)


class ClassMapDialog(QDialog):
    """One row per dataset class: its name and a combo of the model's classes (shared, so 1000 are cheap).

    ``suggestion`` (dataset class -> model class, the names that match: ``Fit.suggestion``) and
    ``current`` (a map the user made before, which wins) fill the combos; ``note`` says what an ignored
    class means for this kind of model.
    """

    def __init__(
        self,
        dataset_classes: list[str],
        model_classes: list[str],
        model_name: str,
        parent=None,
        *,
        suggestion: Mapping[str, str],
        current: Mapping[str, str] | None = None,
        note: str = SEGMENTATION_NOTE,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Map the dataset's classes to {model_name}")
        self.dataset_classes = list(dataset_classes)
        chosen = current if current is not None else suggestion
        self.table = QTableWidget(len(dataset_classes), 2)
        self.table.setHorizontalHeaderLabels(["Dataset class", "Model class"])
        setup_table(self.table, row_height=self.table.verticalHeader().defaultSectionSize())
        choices = QStringListModel([IGNORE, *model_classes], self)
        self.combos: list[QComboBox] = []
        for row, name in enumerate(dataset_classes):
            self.table.setCellWidget(row, 0, QLabel(name))
            combo = QComboBox()
            combo.setModel(choices)
            combo.setCurrentText(chosen.get(name, IGNORE))
            self.table.setCellWidget(row, 1, combo)
            self.combos.append(combo)
        matched = len(suggestion)
        self.note = QLabel(
            f"{matched} of {len(dataset_classes)} classes matched by name. " + note.format(ignore=IGNORE)
        )
        self.note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(520, 560)

    def class_map(self) -> dict[str, str]:
        """Dataset class -> model class, the ignored ones left out."""
        return {
            name: combo.currentText()
            for name, combo in zip(self.dataset_classes, self.combos)
            if combo.currentText() != IGNORE
        }
