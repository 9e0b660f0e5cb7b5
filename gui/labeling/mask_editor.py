"""The mask editor: fix a segmentation mask with brush, eraser, fill, polygon and picker, then save.

Every tool has a key (shown in its tooltip); Ctrl+Z / Ctrl+Shift+Z undo and redo. After each
edit the image's IoU and Dice against the model's prediction (when there is one) update at
once.

The editor starts from the sample's newest saved mask and says which mask it is. Saving keeps
the mask as a new version in the project store (earlier saves stay, with who and when; Ctrl+Z
with no stroke left to undo takes the save back, after a restart too) and also writes it in the
dataset's own format into an output folder (by default beside the dataset; over the original
files only after an explicit confirmation). Strokes are never dropped silently: opening another
sample or closing the editor with unsaved strokes asks Save / Discard / Cancel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.datasets import Dataset, SampleError
from core.labels import Project
from core.masks import IGNORE, MaskEditor
from core.masks.overlays import palette_for
from core.masks.writers import WithSavedMasks, newest_mask, output_folder
from core.metrics import pixel_confusion_matrix, segmentation_report
from gui.labeling.mask_canvas import MaskCanvas
from gui.labeling.mask_saving import MaskSaving

TOOLS = {  # name: (key, tooltip)
    "brush": ("B", "Brush: paint the chosen class"),
    "eraser": ("E", "Eraser: paint background (or ignore, see the eraser setting)"),
    "fill": ("F", "Flood fill: fill the connected region under the cursor"),
    "polygon": ("P", "Polygon: click the corners, double-click or Enter to fill, Esc to cancel"),
    "picker": ("I", "Class picker: click a pixel to choose its class"),
}


def class_lut(palette: np.ndarray) -> np.ndarray:
    """256 x 4 RGBA: class colours, background (0) and ignore (255) drawn see-through or grey."""
    lut = np.zeros((256, 4), dtype=np.uint8)
    lut[: len(palette), :3] = palette
    lut[: len(palette), 3] = 255
    lut[0, 3] = 0  # background stays see-through
    lut[IGNORE] = (128, 128, 128, 160)
    return lut


def _swatch(colour) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(*[int(c) for c in colour]))
    return QIcon(pixmap)


class MaskEditorWidget(MaskSaving, QWidget):
    saved = Signal(int, str)  # dataset index, path written
    mask_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self.index = -1
        self.editor: MaskEditor | None = None
        self.prediction: np.ndarray | None = None
        self.out_root: Path | None = None
        self.project: Project | None = None
        self._listening = None  # the store whose undo/redo this editor follows
        self.tool = "brush"
        self._last: tuple[float, float] | None = None
        self._polygon: list[tuple[float, float]] = []

        self.canvas = MaskCanvas()
        self.tool_group = QButtonGroup(self)
        tools_row = QHBoxLayout()
        for name, (key, tip) in TOOLS.items():
            button = QToolButton(text=name.capitalize(), checkable=True, toolTip=f"{tip} ({key})")
            button.setObjectName(f"tool_{name}")
            self.tool_group.addButton(button)
            button.clicked.connect(lambda _c=False, n=name: self.set_tool(n))
            tools_row.addWidget(button)
            QShortcut(
                QKeySequence(key), self, lambda n=name: self.set_tool(n), context=Qt.WidgetWithChildrenShortcut,
                whatsThis=tip,
            )  # fmt: skip
        self.size_slider = QSlider(Qt.Horizontal, minimum=0, maximum=100, value=5)
        self.size_slider.setToolTip("Brush radius in pixels ([ smaller, ] larger)")
        self.size_slider.valueChanged.connect(self._set_radius)
        tools_row.addWidget(QLabel("Size:"))
        tools_row.addWidget(self.size_slider, 1)

        self.class_combo = QComboBox(toolTip="The class the brush, fill and polygon paint (I picks it from the mask)")
        self.protect_combo = QComboBox(toolTip="Paint only over pixels of this class; the others are protected")
        self.eraser_combo = QComboBox(toolTip="What the eraser leaves behind")
        self.eraser_combo.addItems(["Erase to background", "Erase to ignore (255)"])
        self.protect_combo.currentIndexChanged.connect(self._set_protection)
        self.opacity_slider = QSlider(Qt.Horizontal, minimum=0, maximum=100, value=60, toolTip="Mask opacity")
        self.opacity_slider.valueChanged.connect(self._set_opacity)
        options = QHBoxLayout()
        for widget in (QLabel("Class:"), self.class_combo, QLabel("Over:"), self.protect_combo, self.eraser_combo):
            options.addWidget(widget)
        options.addWidget(QLabel("Opacity:"))
        options.addWidget(self.opacity_slider)

        self.undo_button = QPushButton("Undo", toolTip="Undo (Ctrl+Z)", clicked=self.undo)
        self.redo_button = QPushButton("Redo", toolTip="Redo (Ctrl+Shift+Z)", clicked=self.redo)
        self.from_prediction_button = QPushButton(
            "Start from prediction", toolTip="Replace the mask by the model's predicted mask (one undo step)"
        )
        self.from_prediction_button.clicked.connect(self.start_from_prediction)
        self.save_button = QPushButton("Save", toolTip="Save the mask in the dataset's format (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        self.folder_button = QPushButton("Output folder…", toolTip="Where saved masks go", clicked=self.choose_folder)
        actions = QHBoxLayout()
        for widget in (self.undo_button, self.redo_button, self.from_prediction_button, self.folder_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        actions.addWidget(self.save_button)
        # whatsThis: what Help > Keyboard Shortcuts says the key does (gui/shortcuts.py lists them)
        QShortcut(QKeySequence.Undo, self, self.undo, context=Qt.WidgetWithChildrenShortcut, whatsThis="Undo")
        QShortcut(
            QKeySequence("Ctrl+Shift+Z"), self, self.redo, context=Qt.WidgetWithChildrenShortcut, whatsThis="Redo"
        )
        QShortcut(
            QKeySequence.Save, self, self.save, context=Qt.WidgetWithChildrenShortcut,
            whatsThis="Save the mask in the dataset's format",
        )  # fmt: skip
        QShortcut(
            QKeySequence("["),
            self,
            lambda: self.size_slider.setValue(self.size_slider.value() - 1),
            context=Qt.WidgetWithChildrenShortcut,
            whatsThis="Smaller brush",
        )
        QShortcut(
            QKeySequence("]"),
            self,
            lambda: self.size_slider.setValue(self.size_slider.value() + 1),
            context=Qt.WidgetWithChildrenShortcut,
            whatsThis="Larger brush",
        )
        QShortcut(
            QKeySequence(Qt.Key_Escape), self, self._cancel_polygon, context=Qt.WidgetWithChildrenShortcut,
            whatsThis="Cancel the polygon being drawn",
        )  # fmt: skip
        QShortcut(
            QKeySequence(Qt.Key_Return), self, self._close_polygon, context=Qt.WidgetWithChildrenShortcut,
            whatsThis="Close and fill the polygon being drawn",
        )  # fmt: skip

        self.origin = QLabel()  # which mask the editor started from: never a surprise
        self.origin.setObjectName("mask_origin")
        self.origin.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.scores = QLabel()
        self.scores.setWordWrap(True)
        self.scores.setTextFormat(Qt.RichText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.origin)
        layout.addLayout(tools_row)
        layout.addLayout(options)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.scores)
        layout.addLayout(actions)
        layout.addWidget(self.status)

        self.canvas.pressed.connect(self._on_press)
        self.canvas.dragged.connect(self._on_drag)
        self.canvas.released.connect(self._on_release)
        self.canvas.double_clicked.connect(lambda *_: self._close_polygon())
        self.canvas.hovered.connect(self._on_hover)
        self.set_tool("brush")
        self._update_buttons()

    # -- opening ------------------------------------------------------------------
    def open_sample(
        self,
        dataset: Dataset,
        index: int,
        prediction: np.ndarray | None = None,
        out_root: Path | None = None,
        project: Project | None = None,
    ) -> bool:
        """Load a sample's image and its newest saved mask for editing; False when it cannot (the reason
        shown) or when the user chose Cancel over unsaved strokes of the sample open now."""
        if not self.confirm_unsaved():
            return False
        dataset = dataset.base if isinstance(dataset, WithSavedMasks) else dataset
        self.dataset, self.index, self.project = dataset, index, project
        self.out_root = Path(out_root) if out_root else output_folder(dataset, project)
        self._follow_store(project)
        try:
            image = dataset.load_image(index)
            mask, source = newest_mask(dataset, index, project, self.out_root)
        except SampleError as exc:
            self.editor = None
            self.status.setText(f"<span style='color:#b00020'>Cannot edit {dataset.sample_ids[index]}: {exc}</span>")
            self._update_buttons()
            return False
        if mask is None:
            mask, source = np.zeros(image.shape[:2], dtype=np.uint8), "an empty mask (the dataset has none)"
        self.origin.setText(f"<b>{dataset.sample_ids[index]}</b>: editing {source}")
        self.editor = MaskEditor(mask, num_classes=len(dataset.classes))
        if prediction is not None and prediction.shape != mask.shape:
            self.status.setText(f"The prediction is {prediction.shape}, the mask {mask.shape}: not compared")
            prediction = None
        self.prediction = prediction
        palette = palette_for(dataset.palette, len(dataset.classes))
        self._fill_class_combos(dataset.classes, palette)
        self.canvas.set_content(image, self.editor.mask, class_lut(palette))
        self.status.setText(f"{dataset.sample_ids[index]} · saving to {self.out_root}")
        self._after_edit()
        return True

    def _fill_class_combos(self, classes: list[str], palette: np.ndarray) -> None:
        self.class_combo.clear()
        self.protect_combo.clear()
        self.protect_combo.addItem("any class")
        for i, name in enumerate(classes):
            self.class_combo.addItem(_swatch(palette[i]), name)
            self.protect_combo.addItem(_swatch(palette[i]), name)
        self.class_combo.setCurrentIndex(min(1, len(classes) - 1))

    # -- tools --------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        self.tool = name
        self._cancel_polygon()
        for button in self.tool_group.buttons():
            button.setChecked(button.objectName() == f"tool_{name}")
        self.canvas.cursor_item.setVisible(name in ("brush", "eraser"))

    def current_class(self) -> int:
        return max(self.class_combo.currentIndex(), 0)

    def _paint_value(self) -> int:
        if self.tool == "eraser":
            return IGNORE if self.eraser_combo.currentIndex() == 1 else 0
        return self.current_class()

    def _set_radius(self, value: int) -> None:
        self.canvas.brush_radius = value

    def _set_protection(self, row: int) -> None:
        if self.editor is not None:
            self.editor.only_over = None if row <= 0 else row - 1

    def _set_opacity(self, value: int) -> None:
        self.canvas.overlay.opacity_value = value / 100
        self.canvas.overlay.update()

    # -- mouse --------------------------------------------------------------------
    def _on_press(self, x: float, y: float, button) -> None:
        if self.editor is None or button != Qt.LeftButton:
            return
        if self.tool in ("brush", "eraser"):
            self.editor.begin_stroke(self.tool)
            self._last = (x - 0.5, y - 0.5)
            self._segment(x, y)
        elif self.tool == "fill":
            self._refresh(self.editor.flood_fill(int(x), int(y), self._paint_value()))
            self._after_edit()
        elif self.tool == "picker":
            h, w = self.editor.shape
            if 0 <= x < w and 0 <= y < h:
                value = self.editor.pick(int(x), int(y))
                if value < self.class_combo.count():
                    self.class_combo.setCurrentIndex(value)
                self.set_tool("brush")
        elif self.tool == "polygon":
            self._polygon.append((x, y))
            self.canvas.set_polygon(self._polygon)

    def _segment(self, x: float, y: float) -> None:
        x0, y0 = self._last
        px, py = x - 0.5, y - 0.5  # pixel centres sit at +0.5 in scene coordinates
        self._refresh(self.editor.brush(x0, y0, px, py, self.canvas.brush_radius, self._paint_value()))
        self._last = (px, py)

    def _on_drag(self, x: float, y: float) -> None:
        if self.editor is not None and self._last is not None:
            self._segment(x, y)

    def _on_release(self, x: float, y: float) -> None:
        if self.editor is not None and self._last is not None:
            self._last = None
            self.editor.end_stroke()
            self._after_edit()

    def _close_polygon(self) -> None:
        if self.editor is not None and len(self._polygon) >= 3:
            points = [(x - 0.5, y - 0.5) for x, y in self._polygon]
            self._refresh(self.editor.polygon(points, self._paint_value()))
            self._after_edit()
        self._cancel_polygon()

    def _cancel_polygon(self) -> None:
        self._polygon = []
        self.canvas.set_polygon([])

    def _on_hover(self, x: int, y: int) -> None:
        if self.editor is None or x < 0:
            return
        value = self.editor.pick(x, y)
        name = "ignore" if value == IGNORE else self.dataset.classes[value]
        text = f"({x}, {y}) mask: {name}"
        if self.prediction is not None:
            p = int(self.prediction[y, x])
            text += f" · predicted: {'ignore' if p == IGNORE else self.dataset.classes[p]}"
        self.canvas.setToolTip(text)
        self.status.setText(text)

    # -- history, prediction, saving ----------------------------------------------
    def _refresh(self, rect) -> None:
        if rect is not None:
            self.canvas.overlay.refresh(self.editor.mask, rect)

    def undo(self) -> None:
        """Undo a stroke; with none left, take back the latest save of this sample's mask (from the store)."""
        if self.editor is None:
            return
        if self.editor.can_undo:
            self._refresh(self.editor.undo())
            self._after_edit()
        elif self._store_step(redo=False):
            self._run_store(self.project.undo, "Undid the save")

    def redo(self) -> None:
        if self.editor is None:
            return
        if self.editor.can_redo:
            self._refresh(self.editor.redo())
            self._after_edit()
        elif self._store_step(redo=True):
            self._run_store(self.project.redo, "Redid the save")

    def start_from_prediction(self) -> None:
        if self.editor is not None and self.prediction is not None:
            self._refresh(self.editor.replace(self.prediction, "from prediction"))
            self._after_edit()

    def _after_edit(self) -> None:
        self._update_buttons()
        self._update_scores()
        self.mask_changed.emit()

    def _update_buttons(self) -> None:
        editor = self.editor
        self.undo_button.setEnabled(editor is not None and editor.can_undo)
        self.redo_button.setEnabled(editor is not None and editor.can_redo)
        self.save_button.setEnabled(editor is not None and editor.modified)
        self.from_prediction_button.setEnabled(editor is not None and self.prediction is not None)

    def image_scores(self) -> dict | None:
        """This image's segmentation report of the edited mask against the prediction."""
        if self.editor is None or self.prediction is None:
            return None
        cm = pixel_confusion_matrix(self.editor.mask, self.prediction, len(self.dataset.classes), IGNORE)
        return segmentation_report(cm)

    def _update_scores(self) -> None:
        report = self.image_scores()
        if report is None:
            self.scores.setText("Run a segmentation model to compare the mask with its prediction.")
            return
        rows = [
            f"{self.dataset.classes[c]} {report['iou'][c]:.3f} / {report['dice'][c]:.3f}"
            for c in range(len(self.dataset.classes))
            if report["present"][c]
        ]
        self.scores.setText(
            f"<b>vs prediction: mean IoU {report['mean_iou']:.3f}, mean Dice {report['mean_dice']:.3f}</b>"
            f" &nbsp; (IoU / Dice: {' · '.join(rows)})"
        )
