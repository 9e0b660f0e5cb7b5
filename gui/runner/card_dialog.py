"""Editing a model card: class names, input size and normalisation, with the defaults shown."""

from __future__ import annotations

import copy

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from core import tasks
from core.models import ModelCard


def parse_floats(text: str) -> list[float]:
    """ "0.485, 0.456, 0.406" -> [0.485, 0.456, 0.406]; ValueError names the bad part."""
    values = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if part:
            try:
                values.append(float(part))
            except ValueError:
                raise ValueError(f"{part!r} is not a number") from None
    if not values:
        raise ValueError("give at least one number")
    return values


class CardDialog(QDialog):
    """Shows a card's fields for editing; ``edited_card()`` returns the result (the card given is not changed)."""

    def __init__(self, card: ModelCard, dataset_classes: list[str] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Model card — {card.display_name}")
        self.card = card
        self.dataset_classes = list(dataset_classes or [])
        self.title = QLineEdit(card.title or card.name)
        self.architecture = QLabel(card.architecture)
        self.task = QComboBox()
        for task in tasks.TASKS.values():  # every task CV Lens knows, by the name cards carry
            self.task.addItem(task.name)
            self.task.setItemData(self.task.count() - 1, task.title, Qt.ItemDataRole.ToolTipRole)
        self.task.setCurrentText(card.task)
        self.classes = QPlainTextEdit("\n".join(card.classes))
        self.classes.setToolTip("One class name per line, in the order of the model's outputs")
        use_dataset = QPushButton("Use the dataset's class names")
        use_dataset.setEnabled(len(self.dataset_classes) == card.num_classes)
        use_dataset.setToolTip(
            "The open dataset has the same number of classes"
            if use_dataset.isEnabled()
            else f"The open dataset has {len(self.dataset_classes)} classes, the model {card.num_classes}"
        )
        use_dataset.clicked.connect(lambda: self.classes.setPlainText("\n".join(self.dataset_classes)))
        self.height = QSpinBox(minimum=1, maximum=8192, value=card.input_size[0])
        self.width = QSpinBox(minimum=1, maximum=8192, value=card.input_size[1])
        size = QHBoxLayout()
        size.addWidget(self.height)
        size.addWidget(QLabel("×"))
        size.addWidget(self.width)
        self.channels = QComboBox()
        self.channels.addItems(["3 (RGB)", "1 (grayscale)"])
        self.channels.setCurrentIndex(0 if card.channels == 3 else 1)
        self.mean = QLineEdit(", ".join(f"{v:g}" for v in card.mean))
        self.std = QLineEdit(", ".join(f"{v:g}" for v in card.std))
        self.save_beside = QCheckBox("Save the card beside the weights, so the next open reads it")
        self.save_beside.setChecked(card.weights is not None)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b00020")
        form = QFormLayout()
        form.addRow("Title:", self.title)
        form.addRow("Architecture:", self.architecture)
        form.addRow("Task:", self.task)
        form.addRow("Classes:", self.classes)
        form.addRow("", use_dataset)
        form.addRow("Input size (H × W):", size)
        form.addRow("Channels:", self.channels)
        form.addRow("Mean:", self.mean)
        form.addRow("Std:", self.std)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.save_beside)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._result: ModelCard | None = None

    def _accept(self) -> None:
        try:
            self._result = self._build()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.accept()

    def _build(self) -> ModelCard:
        classes = [line.strip() for line in self.classes.toPlainText().splitlines() if line.strip()]
        if len(classes) != self.card.num_classes:
            raise ValueError(f"the model has {self.card.num_classes} outputs: give {self.card.num_classes} class names")
        card = copy.copy(self.card)
        card.title = self.title.text().strip()
        card.task = self.task.currentText()
        card.classes = classes
        card.input_size = (self.height.value(), self.width.value())
        card.channels = 3 if self.channels.currentIndex() == 0 else 1
        card.mean = parse_floats(self.mean.text())
        card.std = parse_floats(self.std.text())
        if any(s == 0 for s in card.std):
            raise ValueError("std must not be 0")
        if len(card.mean) not in (1, card.channels) or len(card.std) not in (1, card.channels):
            raise ValueError(f"mean and std need 1 or {card.channels} values")
        return card

    def edited_card(self) -> ModelCard | None:
        return self._result
