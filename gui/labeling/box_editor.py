"""The box editor: fix one image's objects (draw, move, resize, delete, change a class, accept a prediction), then
save them as one edit of the project store.

Mouse: drag on the image draws a box of the current class; drag inside a box moves it; drag a handle (the
selected box's corners and edge midpoints, or any box's) resizes it; a click selects. A model's predicted
boxes (a detection run shown) are drawn dashed with their scores; click one and press A or Enter to take it
as truth. Keys: Del deletes the selected box, 1-9 and 0 (or L to search) give it a class, Ctrl+Z / Ctrl+Shift+Z
undo and redo inside the editor, Ctrl+S saves. With no change left to undo, Ctrl+Z takes back the latest
save of this image's objects (the store's undo, after a restart too). Changes are never dropped silently:
closing the editor or opening another image with unsaved changes asks Save / Discard / Cancel.

Instance masks (instance segmentation datasets) are shown filled in their class colour. The box editor does
not paint masks: an object keeps its mask while its box is neither moved nor resized (a class change keeps
it); a box drawn, moved or resized has its rectangle as its mask (``core.labels.boxes``), and the top line
says so.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QKeySequence, QPainter, QPen, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGraphicsItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.datasets import SampleError
from core.labels import Project, Step, StoreError
from core.labels.box_edit import BoxEdit, handle_points, resized
from core.labels.boxes import Objects
from core.labels.masks import next_step_saves
from core.masks.overlays import palette_for
from gui.labeling.actions import NUMBER_KEYS, key_class
from gui.labeling.class_picker import ClassPicker
from gui.labeling.mask_canvas import MaskCanvas
from gui.labeling.unsaved import ConfirmsUnsaved, UnsavedPrompt

#: Handle squares and the distance that grabs them, in screen pixels (the same at every zoom).
HANDLE_PX = 9
GRAB_PX = 7
HELP = (
    "Drag: new box · drag inside: move · drag a handle: resize · Del: delete · 1-9, 0 or L: class · "
    "click a dashed prediction, A or Enter: accept · Ctrl+Z: undo · Ctrl+S: save"
)


class TextTag(QGraphicsItem):
    """A class name on a filled background, the same size at every zoom, above a box's top-left corner."""

    def __init__(self, text: str, colour: QColor, dashed: bool = False) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.text, self.colour, self.dashed = text, colour, dashed
        self.font = QFont()
        self.font.setPointSizeF(max(self.font.pointSizeF(), 9.0))
        metrics = QFontMetricsF(self.font)
        self.rect = QRectF(0, -metrics.height() - 2, metrics.horizontalAdvance(text) + 6, metrics.height() + 2)

    def boundingRect(self) -> QRectF:
        return self.rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setFont(self.font)
        fill = QColor(self.colour)
        fill.setAlpha(150 if self.dashed else 220)
        painter.fillRect(self.rect, fill)
        c = self.colour
        light = 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue() > 140  # perceived brightness
        painter.setPen(QColor(0, 0, 0) if light else QColor(255, 255, 255))
        painter.drawText(self.rect.adjusted(3, 0, -3, 0), Qt.AlignmentFlag.AlignVCenter, self.text)


def _handle_item(x: float, y: float) -> QGraphicsRectItem:
    item = QGraphicsRectItem(-HANDLE_PX / 2, -HANDLE_PX / 2, HANDLE_PX, HANDLE_PX)
    item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
    item.setPos(x, y)
    item.setBrush(QBrush(QColor(255, 255, 255)))
    item.setPen(QPen(QColor(0, 0, 0), 0))
    item.setZValue(6)
    return item


class BoxEditorWidget(ConfirmsUnsaved, QWidget):
    """One image's objects; :meth:`open_sample` loads them, Save writes one store edit."""

    saved = Signal(int)  # dataset index
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.index = -1
        self.edit: BoxEdit | None = None
        self.predictions = None  # core.inference.DetectionPredictions
        self.selected: int | None = None  # an object of ``edit``
        self.selected_prediction: int | None = None  # a row of the predictions shown
        self._predicted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # boxes, scores, classes
        self._drag: tuple[str, int | None, float, float, tuple] | None = None  # mode, object, x, y, box
        self._drawn: QGraphicsRectItem | None = None
        self._items: list[QGraphicsItem] = []
        self._masks: np.ndarray | None = None
        self._listening = None
        self.palette = np.zeros((0, 3), np.uint8)

        self.canvas = MaskCanvas()
        self.canvas.cursor_item.setVisible(False)
        self.canvas.overlay.opacity_value = 0.35
        self.origin = QLabel(objectName="box_origin", wordWrap=True)
        self.class_combo = QComboBox(toolTip="The class of new boxes; choosing one also gives it to the selected box")
        self.class_combo.activated.connect(self._on_class_chosen)
        self.show_predictions = QCheckBox("Predictions", checked=True, toolTip="Show the model's boxes, dashed")
        self.show_predictions.toggled.connect(self._redraw)
        self.min_score = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=0.3, decimals=2)
        self.min_score.setToolTip("Predicted boxes below this score are not shown")
        self.min_score.valueChanged.connect(self._load_predictions)
        self.undo_button = QPushButton("Undo", toolTip="Undo (Ctrl+Z)", clicked=self.undo)
        self.redo_button = QPushButton("Redo", toolTip="Redo (Ctrl+Shift+Z)", clicked=self.redo)
        self.delete_button = QPushButton("Delete", toolTip="Delete the selected box (Del)", clicked=self.delete)
        self.accept_button = QPushButton("Accept prediction", toolTip="Take the selected predicted box as truth (A)")
        self.accept_button.clicked.connect(self.accept_prediction)
        self.save_button = QPushButton("Save", toolTip="Save the objects as one edit (Ctrl+S)", clicked=self.save)
        self.status = QLabel(HELP, wordWrap=True)
        self.picker = ClassPicker(self)
        self.picker.picked.connect(lambda value: self.set_class(int(value)))
        self._lay_out()
        self._shortcuts()
        self.canvas.pressed.connect(self._on_press)
        self.canvas.dragged.connect(self._on_drag)
        self.canvas.released.connect(self._on_release)
        self._update_buttons()

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        for widget in (QLabel("Class:"), self.class_combo, self.show_predictions, QLabel("min score"), self.min_score):
            top.addWidget(widget)
        top.addStretch(1)
        actions = QHBoxLayout()
        for widget in (self.undo_button, self.redo_button, self.delete_button, self.accept_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        actions.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.origin)
        layout.addLayout(top)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(actions)
        layout.addWidget(self.status)

    def _shortcuts(self) -> None:
        # whatsThis: what Help > Keyboard Shortcuts says the key does
        keys = [
            (QKeySequence.StandardKey.Undo, self.undo, "Undo"),
            ("Ctrl+Shift+Z", self.redo, "Redo"),
            (QKeySequence.StandardKey.Save, self.save, "Save the objects as one edit"),
            ("Delete", self.delete, "Delete the selected box"),
            ("Backspace", self.delete, "Delete the selected box"),
            ("A", self.accept_prediction, "Accept the selected predicted box as truth"),
            ("Return", self.accept_prediction, "Accept the selected predicted box as truth"),
            ("Enter", self.accept_prediction, "Accept the selected predicted box as truth"),
            ("L", self.open_picker, "Search the classes for the selected box"),
            ("/", self.open_picker, "Search the classes for the selected box"),
            ("Escape", lambda: self.select(None), "Select nothing"),
            ("Tab", lambda: self._select_next(1), "Select the next box"),
            ("Shift+Tab", lambda: self._select_next(-1), "Select the previous box"),
        ]
        keys += [
            (key, lambda k=k: self.number_key(k), "Give the selected box class 1-9, 0")
            for k, key in enumerate(NUMBER_KEYS)
        ]
        for key, slot, what in keys:
            QShortcut(
                QKeySequence(key), self, slot, context=Qt.ShortcutContext.WidgetWithChildrenShortcut, whatsThis=what
            )

    # -- opening ------------------------------------------------------------------
    def open_sample(self, project: Project, index: int, predictions=None) -> bool:
        """Edit the objects of ``project``'s sample ``index``; False when it cannot (the reason shown) or the
        user chose Cancel over unsaved changes of the image open now."""
        if not self.confirm_unsaved():
            return False
        dataset = project.dataset
        try:
            image = dataset.load_image(index)
        except SampleError as exc:
            self.status.setText(f"<span style='color:#b00020'>Cannot edit {dataset.sample_ids[index]}: {exc}</span>")
            return False
        try:
            objects = project.objects(index)
            own = dataset.load_instances(index) if dataset.task == "instance_segmentation" else None
            note = HELP
        except SampleError as exc:  # a broken annotation: the user can still give the image its objects
            objects, own = Objects(np.zeros((0, 4), np.float32), np.zeros(0, np.int64)), None
            note = (
                f"<span style='color:#b00020'>The dataset's objects cannot be read ({exc}): starting from none.</span>"
            )
        self.project, self.index, self.predictions = project, int(index), predictions
        self._follow_store(project)
        self.palette = palette_for(None, max(len(dataset.classes), 1))
        self._masks = own
        flags = tuple(getattr(dataset, "flag_names", None) or objects.flags)
        self.edit = BoxEdit(objects, image.shape[:2], flags, single=dataset.task == "localization")
        self.status.setText(note)
        self.selected = self.selected_prediction = None
        self._fill_classes(dataset.classes)
        lut = np.zeros((256, 4), np.uint8)
        lut[1 : len(dataset.classes) + 1, :3] = self.palette[: min(len(dataset.classes), 255)]
        lut[1 : len(dataset.classes) + 1, 3] = 255
        self.canvas.set_content(image, self._instance_map(), lut)
        self._load_predictions()
        self._after_edit()
        return True

    def _fill_classes(self, classes: list[str]) -> None:
        current = self.class_combo.currentIndex()
        self.class_combo.clear()
        for k, name in enumerate(classes):
            keys = [NUMBER_KEYS[j] for j in range(10) if key_class(classes, j) == k]
            self.class_combo.addItem(f"{name}  ({keys[0]})" if keys else name)
        self.class_combo.setCurrentIndex(current if 0 <= current < len(classes) else 0)

    def _follow_store(self, project: Project) -> None:
        if self._listening is not project.store:
            project.store.subscribe(self._on_store_step)  # held weakly
            self._listening = project.store

    def _on_store_step(self, step: Step) -> None:
        """An undo or redo (here or in the main window) changed this image's objects: show them, unless the
        editor holds unsaved changes (kept, and said)."""
        project = self.project
        if step.kind == "edit" or project is None or self.edit is None:
            return
        sample_id = project.dataset.sample_ids[self.index]
        if not any(c.field == "boxes" and c.split == project.split and c.sample_id == sample_id for c in step.changes):
            return
        if self.edit.modified:
            self.status.setText("The saved objects changed (undo/redo); your unsaved changes are kept.")
            return
        self.edit.mark_saved()
        self.open_sample(project, self.index, self.predictions)

    def _load_predictions(self) -> None:
        """The run's boxes of this image at the minimum score, their classes mapped by name to the dataset's."""
        self._predicted, self.selected_prediction = None, None
        preds, project = self.predictions, self.project
        if preds is not None and project is not None and hasattr(preds, "image"):
            ids = list(getattr(preds, "sample_ids", []))
            sample_id = project.dataset.sample_ids[self.index]
            row = self.index if self.index < len(ids) and ids[self.index] == sample_id else None
            if row is None and sample_id in ids:
                row = ids.index(sample_id)
            if row is not None and bool(np.asarray(preds.done)[row]):
                boxes, scores, labels = preds.image(row, float(self.min_score.value()))
                names = {name: k for k, name in enumerate(project.dataset.classes)}
                classes = np.asarray([names.get(preds.classes[c], -1) for c in labels], np.int64)
                self._predicted = (np.asarray(boxes), np.asarray(scores), classes)
        self._redraw()
        self._update_buttons()

    # -- drawing ------------------------------------------------------------------
    def _instance_map(self) -> np.ndarray:
        """H x W: 1 + class of the object whose kept instance mask covers the pixel, 0 elsewhere."""
        h, w = self.edit.size
        out = np.zeros((h, w), np.uint8)
        if self._masks is not None:
            for item in self.edit.items:
                if 0 <= item.instance < len(self._masks) and self._masks[item.instance].shape == (h, w):
                    out[self._masks[item.instance]] = min(item.cls + 1, 255)
        return out

    def colour(self, cls: int) -> QColor:
        if 0 <= cls < len(self.palette):
            return QColor(*[int(v) for v in self.palette[cls]])
        return QColor(200, 200, 200)

    def _redraw(self) -> None:
        scene = self.canvas.scene()
        for item in self._items:
            scene.removeItem(item)
        self._items = []
        if self.edit is None:
            return
        classes = self.project.dataset.classes
        if self._predicted is not None and self.show_predictions.isChecked():
            for k, (box, score, cls) in enumerate(zip(*self._predicted)):
                name = classes[cls] if cls >= 0 else "?"
                self._add_box(
                    box, self.colour(cls), f"{name} {score:.2f}", dashed=True, chosen=k == self.selected_prediction
                )
        for k, item in enumerate(self.edit.items):
            text = (
                classes[item.cls]
                + (" (crowd)" if item.flag("iscrowd") else "")
                + (" (difficult)" if item.flag("difficult") else "")
            )
            self._add_box(item.box, self.colour(item.cls), text, dashed=False, chosen=k == self.selected)
        if self.selected is not None:
            for x, y in handle_points(self.edit.items[self.selected].box).values():
                self._keep(_handle_item(x, y))

    def _add_box(self, box, colour: QColor, text: str, *, dashed: bool, chosen: bool) -> None:
        x0, y0, x1, y1 = (float(v) for v in box)
        rect = QGraphicsRectItem(x0, y0, x1 - x0, y1 - y0)
        pen = QPen(colour, 3 if chosen else 2)
        pen.setCosmetic(True)  # the same width at every zoom
        if dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        rect.setPen(pen)
        if chosen:
            fill = QColor(colour)
            fill.setAlpha(45)
            rect.setBrush(QBrush(fill))
        rect.setZValue(4 if dashed else 5)
        self._keep(rect)
        tag = TextTag(text, colour, dashed)
        tag.setPos(x0, y0)
        tag.setZValue(7 if chosen else 6)
        self._keep(tag)

    def _keep(self, item: QGraphicsItem) -> None:
        self.canvas.scene().addItem(item)
        self._items.append(item)

    # -- mouse --------------------------------------------------------------------
    def _tolerance(self) -> float:
        """GRAB_PX screen pixels in image pixels at the current zoom."""
        scale = self.canvas.transform().m11() or 1.0
        return GRAB_PX / scale

    def _on_press(self, x: float, y: float, button) -> None:
        if self.edit is None or button != Qt.MouseButton.LeftButton:
            return
        hit = self.edit.hit(x, y, self._tolerance(), self.selected)
        if hit is not None:
            k, handle = hit
            self.select(k)
            self.edit.begin()
            self._drag = ("move" if handle == "inside" else handle, k, x, y, self.edit.items[k].box)
            return
        chosen = self._prediction_at(x, y)
        if chosen is not None:
            self.select_prediction(chosen)
            return
        self.select(None)
        self._drag = ("draw", None, x, y, (x, y, x, y))
        self._drawn = QGraphicsRectItem(QRectF(QPointF(x, y), QPointF(x, y)))
        pen = QPen(self.colour(self.current_class()), 2)
        pen.setCosmetic(True)
        self._drawn.setPen(pen)
        self._drawn.setZValue(8)
        self.canvas.scene().addItem(self._drawn)

    def _on_drag(self, x: float, y: float) -> None:
        if self._drag is None or self.edit is None:
            return
        mode, k, x0, y0, box = self._drag
        if mode == "draw":
            self._drawn.setRect(QRectF(QPointF(x0, y0), QPointF(x, y)).normalized())
            return
        if mode == "move":
            dx, dy = x - x0, y - y0
            h, w = self.edit.size
            dx = min(max(dx, -box[0]), w - box[2])  # the box stays whole on the image
            dy = min(max(dy, -box[1]), h - box[3])
            new = (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)
        else:
            new = resized(box, mode, x, y)
        self.edit.set_box(k, new, step=False)
        self._redraw()

    def _on_release(self, x: float, y: float) -> None:
        if self._drag is None or self.edit is None:
            return
        mode, _k, x0, y0, _box = self._drag
        self._drag = None
        if mode == "draw":
            self.canvas.scene().removeItem(self._drawn)
            self._drawn = None
            added = self.edit.add((x0, y0, x, y), self.current_class())
            if added is not None:
                self.selected = added
        else:
            self.edit.cancel_empty_step()
        self._after_edit()

    def _prediction_at(self, x: float, y: float) -> int | None:
        """The smallest shown predicted box containing (x, y)."""
        if self._predicted is None or not self.show_predictions.isChecked():
            return None
        boxes = self._predicted[0]
        inside = [k for k, b in enumerate(boxes) if b[0] <= x <= b[2] and b[1] <= y <= b[3]]
        return min(inside, key=lambda k: (boxes[k][2] - boxes[k][0]) * (boxes[k][3] - boxes[k][1])) if inside else None

    # -- selection and edits -------------------------------------------------------
    def select(self, k: int | None) -> None:
        self.selected, self.selected_prediction = k, None
        if k is not None and self.edit is not None:
            self.class_combo.setCurrentIndex(self.edit.items[k].cls)
        self._redraw()
        self._update_buttons()

    def select_prediction(self, k: int | None) -> None:
        self.selected, self.selected_prediction = None, k
        self._redraw()
        self._update_buttons()

    def _select_next(self, step: int) -> None:
        if self.edit is not None and self.edit.items:
            start = -1 if self.selected is None and step > 0 else (self.selected or 0)
            self.select((start + step) % len(self.edit.items))

    def current_class(self) -> int:
        return max(self.class_combo.currentIndex(), 0)

    def number_key(self, k: int) -> None:
        """1-9, 0: the k-th class (``key_class``) for the selected box, and for the boxes drawn next."""
        if self.project is None:
            return
        c = key_class(self.project.dataset.classes, k)
        if c is not None:
            self.set_class(c)

    def set_class(self, cls: int) -> None:
        self.class_combo.setCurrentIndex(cls)
        if self.edit is not None and self.selected is not None and self.edit.set_class(self.selected, cls):
            self._after_edit()

    def _on_class_chosen(self, row: int) -> None:
        self.set_class(row)

    def open_picker(self) -> None:
        """L or /: search the classes by name; Enter gives the selected box the class."""
        if self.project is None:
            return
        names = self.project.dataset.classes
        hints = [""] * len(names)
        for j in range(10):
            c = key_class(names, j)
            if c is not None:
                hints[c] = NUMBER_KEYS[j]
        at = self.canvas.viewport().mapToGlobal(self.canvas.viewport().rect().center())
        self.picker.open("Class of the box:", list(names), list(range(len(names))), at, hints)

    def delete(self) -> None:
        if self.edit is not None and self.selected is not None:
            self.edit.delete(self.selected)
            self.selected = None
            self._after_edit()

    def accept_prediction(self) -> None:
        """A or Enter: the selected predicted box becomes an object (its class, or the current one if unknown)."""
        if self.edit is None or self._predicted is None or self.selected_prediction is None:
            return
        box = self._predicted[0][self.selected_prediction]
        cls = int(self._predicted[2][self.selected_prediction])
        added = self.edit.add(tuple(float(v) for v in box), cls if cls >= 0 else self.current_class())
        self.selected_prediction = None
        if added is not None:
            self.selected = added
        self._after_edit()

    def undo(self) -> None:
        """Undo a change; with none left, take back the latest save of this image's objects (the store's)."""
        if self.edit is None:
            return
        if self.edit.undo():
            self._after_undo()
        elif self._store_step(redo=False):
            self._run_store(self.project.undo, "Undid the save")

    def redo(self) -> None:
        if self.edit is None:
            return
        if self.edit.redo():
            self._after_undo()
        elif self._store_step(redo=True):
            self._run_store(self.project.redo, "Redid the save")

    def _after_undo(self) -> None:
        if self.selected is not None and self.selected >= len(self.edit.items):
            self.selected = None
        self._after_edit()

    def _store_step(self, redo: bool) -> bool:
        project = self.project
        if project is None or project.read_only:
            return False
        sample_id = project.dataset.sample_ids[self.index]
        return next_step_saves(project.store, project.split, sample_id, redo=redo, field="boxes")

    def _run_store(self, action, done: str) -> None:
        try:
            action()  # the store tells this editor, which shows the objects now saved
        except StoreError as exc:
            self.status.setText(f"<span style='color:#b00020'>{exc}</span>")
            return
        self.status.setText(done)

    def _after_edit(self) -> None:
        if self.edit is not None:
            self.canvas.overlay.set_mask(self._instance_map())
        self._redraw()
        self._update_buttons()
        self._update_origin()
        self.changed.emit()

    def _update_origin(self) -> None:
        if self.edit is None or self.project is None:
            return
        sample_id = self.project.dataset.sample_ids[self.index]
        edited = self.index in self.project.edited_boxes()
        source = "your saved objects" if edited else "the dataset's own objects"
        n = len(self.edit.items)
        text = f"<b>{sample_id}</b>: {n} object{'s' if n != 1 else ''}, from {source}"
        if self.edit.modified:
            text += " · <i>unsaved changes</i>"
        if self._masks is not None:
            text += " · a box drawn, moved or resized has its rectangle as its mask"
        if self.edit.single:
            text += " · one object an image (localization): a new box replaces it"
        self.origin.setText(text)

    def _update_buttons(self) -> None:
        edit = self.edit
        self.undo_button.setEnabled(edit is not None and (edit.can_undo or self._store_step(False)))
        self.redo_button.setEnabled(edit is not None and (edit.can_redo or self._store_step(True)))
        self.delete_button.setEnabled(self.selected is not None)
        self.accept_button.setEnabled(self.selected_prediction is not None)
        self.save_button.setEnabled(
            edit is not None and edit.modified and not (self.project and self.project.read_only)
        )

    # -- saving -------------------------------------------------------------------
    def save(self) -> bool:
        """Write the objects as one store edit ("boxes of a.jpg: 3 objects → 4 objects"); False if not saved."""
        if self.edit is None or self.project is None:
            return False
        if not self.edit.modified:
            return True
        try:
            step = self.project.set_objects(self.index, self.edit.objects())
        except (StoreError, ValueError) as exc:
            self.status.setText(f"<span style='color:#b00020'>Not saved: {exc}</span>")
            return False
        self.edit.mark_saved()
        self.status.setText(f"Saved: {step.description}" if step is not None else "Saved (no change)")
        self._update_origin()
        self._update_buttons()
        self.saved.emit(self.index)
        return True

    # -- unsaved changes (the prompt: gui/labeling/unsaved.py) -----------------------------
    def _unsaved_prompt(self) -> UnsavedPrompt | None:
        if self.edit is None or not self.edit.modified:
            return None
        return UnsavedPrompt(
            "unsaved_boxes",
            "Unsaved objects",
            f"The objects of {self.project.dataset.sample_ids[self.index]} have changes that are not saved.",
            "Save them as one edit, or discard them?",
        )

    def _save_unsaved(self) -> bool:
        return self.save()

    def _discard_unsaved(self) -> None:
        self.edit.mark_saved()
