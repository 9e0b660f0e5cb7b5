"""Mapping a dataset's classes to a model's, when the two name them differently.

Each dataset class gets the model class it corresponds to, or "(ignore)": its pixels are left out
of the metrics. Names that match once case, spaces, underscores and dashes are set aside are
mapped to start with ("background" and torchvision's "__background__" match).
"""

from __future__ import annotations

import re

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QLabel, QTableWidget, QVBoxLayout

from gui.tables import setup_table

IGNORE = "(ignore)"


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).casefold()


def suggested_map(dataset_classes: list[str], model_classes: list[str]) -> dict[str, str]:
    """Dataset class -> model class for the names that match when normalised."""
    by_key = {_key(name): name for name in model_classes}
    return {name: by_key[_key(name)] for name in dataset_classes if _key(name) in by_key}


class ClassMapDialog(QDialog):
    def __init__(self, dataset_classes: list[str], model_classes: list[str], model_name: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Map the dataset's classes to {model_name}")
        self.dataset_classes = list(dataset_classes)
        suggestion = suggested_map(dataset_classes, model_classes)
        self.table = QTableWidget(len(dataset_classes), 2)
        self.table.setHorizontalHeaderLabels(["Dataset class", "Model class"])
        setup_table(self.table, row_height=self.table.verticalHeader().defaultSectionSize())
        self.combos: list[QComboBox] = []
        for row, name in enumerate(dataset_classes):
            self.table.setCellWidget(row, 0, QLabel(name))
            combo = QComboBox()
            combo.addItems([IGNORE, *model_classes])
            combo.setCurrentText(suggestion.get(name, IGNORE))
            self.table.setCellWidget(row, 1, combo)
            self.combos.append(combo)
        matched = len(suggestion)
        note = QLabel(
            f"{matched} of {len(dataset_classes)} classes matched by name. Classes left on {IGNORE} are "
            "not scored; the model's other classes are never predicted as them."
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
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
