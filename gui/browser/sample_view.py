"""One sample, large: the image with sharp pixels, its id and path, label, prediction and top-5 scores."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, QThreadPool, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from core.datasets import Dataset
from core.inference import Predictions
from gui.browser.grid_model import label_text
from gui.browser.thumbnails import DecodeTask, ResultRelay, to_qimage
from gui.browser.tile_delegate import RIGHT_COLOR, WRONG_COLOR


class ImageCanvas(QWidget):
    """An image scaled to fit, aspect kept: nearest-neighbour when enlarged, so pixels stay square."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.text = ""
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def show_image(self, image: QImage | None, text: str = "") -> None:
        self.image, self.text = image, text
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self.image is None or self.image.isNull():
            painter.setPen(WRONG_COLOR if self.text.startswith("⚠") else self.palette().placeholderText().color())
            painter.drawText(
                self.rect().adjusted(8, 8, -8, -8), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.text
            )
            return
        w, h = self.image.width(), self.image.height()
        scale = min(self.width() / w, self.height() / h)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1)
        target = QRectF(0, 0, w * scale, h * scale)
        target.moveCenter(QRectF(self.rect()).center())
        painter.drawImage(target, self.image)


class TopKBars(QWidget):
    """The best classes of one prediction as a small list of horizontal bars."""

    ROW = 18

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, float, bool]] = []  # class name, score, is the true label
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("The model's five most likely classes; the true label is drawn in green")

    def set_rows(self, rows: list[tuple[str, float, bool]]) -> None:
        self.rows = rows
        self.setFixedHeight(self.ROW * len(rows) + 2)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(200, self.ROW * len(self.rows) + 2)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        metrics = painter.fontMetrics()
        name_w = min(self.width() // 3, max((metrics.horizontalAdvance(n) for n, _, _ in self.rows), default=0) + 12)
        pct_w = metrics.horizontalAdvance("100.0%") + 6
        bar_w = max(10, self.width() - name_w - pct_w)
        for k, (name, score, is_label) in enumerate(self.rows):
            y = k * self.ROW + 1
            painter.setPen(self.palette().text().color())
            name_rect = QRectF(0, y, name_w - 6, self.ROW)
            elided = metrics.elidedText(name, Qt.TextElideMode.ElideRight, name_w - 6)
            painter.drawText(name_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, elided)
            painter.fillRect(QRectF(name_w, y + 3, bar_w, self.ROW - 6), QColor(128, 128, 128, 40))
            color = RIGHT_COLOR if is_label else QColor(90, 120, 200)
            painter.fillRect(QRectF(name_w, y + 3, bar_w * max(0.0, min(1.0, score)), self.ROW - 6), color)
            pct_rect = QRectF(name_w + bar_w, y, pct_w, self.ROW)
            painter.drawText(pct_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{score:.1%}")


class SampleView(QWidget):
    """Shows the sample the user selected; the full image is decoded on a worker thread."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self.predictions: Predictions | None = None
        self.index: int | None = None
        self._request = 0
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._relay = ResultRelay(self)
        self._relay.done.connect(self._on_image)
        self._loading_timer = QTimer(self, singleShot=True, interval=150)
        self._loading_timer.timeout.connect(lambda: self.canvas.show_image(None, "loading…"))

        self.canvas = ImageCanvas(self)
        self.title = self._label(bold=True)
        self.path = self._label(small=True)
        self.label = self._label()
        self.prediction = self._label()
        self.topk = TopKBars(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.canvas, 1)
        for widget in (self.title, self.path, self.label, self.prediction, self.topk):
            layout.addWidget(widget)
        self.clear()

    def _label(self, bold: bool = False, small: bool = False) -> QLabel:
        label = QLabel(self)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setWordWrap(True)
        font = label.font()
        font.setBold(bold)
        if small:
            font.setPointSizeF(font.pointSizeF() * 0.85)
            label.setStyleSheet("color: gray")
        label.setFont(font)
        return label

    def clear(self, text: str = "Click a thumbnail to see the sample here") -> None:
        self.index = None
        self._request += 1
        self._loading_timer.stop()
        self.canvas.show_image(None, text)
        for label in (self.title, self.path, self.label, self.prediction):
            label.clear()
        self.topk.set_rows([])

    def set_dataset(self, dataset: Dataset | None) -> None:
        self.dataset, self.predictions = dataset, None
        self.clear()

    def show_sample(self, index: int) -> None:
        dataset = self.dataset
        if dataset is None or not 0 <= index < len(dataset):
            return
        self.index = index
        self._request += 1
        # Say "loading" only if the decode is slow: tiny images would just flicker.
        self._loading_timer.start()
        request = self._request
        # Arrowing through the grid queues decodes: only the latest one is worth running.
        wanted = lambda: request == self._request  # noqa: E731
        self.pool.start(DecodeTask(self._relay, request, index, lambda: to_qimage(dataset.load_image(index)), wanted))
        self.title.setText(dataset.sample_ids[index])
        path = dataset.sample_path(index)
        self.path.setText(str(path) if path is not None else "")
        label = label_text(dataset, index)
        self.label.setText(f"Label: {label}" if label else "Label: none")
        self.set_predictions(self.predictions)

    def set_predictions(self, predictions: Predictions | None) -> None:
        """Refresh the prediction lines only (called per batch while a run fills them)."""
        self.predictions = predictions
        i, dataset = self.index, self.dataset
        if i is None or dataset is None:
            return
        if predictions is None or len(predictions) != len(dataset):
            self.prediction.setText("Prediction: run a model to see one")
            self.prediction.setStyleSheet("")
            self.topk.set_rows([])
            return
        if i in predictions.errors:
            self.prediction.setText(f"Prediction failed: {predictions.errors[i]}")
            self.prediction.setStyleSheet(f"color: {WRONG_COLOR.name()}")
            self.topk.set_rows([])
            return
        top = predictions.top_k(i, 5)
        if not top:
            self.prediction.setText("Prediction: not run yet")
            self.prediction.setStyleSheet("")
            self.topk.set_rows([])
            return
        labels = set(dataset[i].labels)
        best, score = top[0]
        name = predictions.classes[best] if best < len(predictions.classes) else str(best)
        color = "" if not labels else RIGHT_COLOR.name() if best in labels else WRONG_COLOR.name()
        self.prediction.setText(f"Prediction: {name} ({score:.1%})")
        self.prediction.setStyleSheet(f"color: {color}; font-weight: bold" if color else "")
        self.topk.set_rows([(predictions.classes[c], s, c in labels) for c, s in top])

    def shutdown(self) -> None:
        self._request += 1
        self.pool.waitForDone()

    def _on_image(self, request: int, index: int, image: QImage | None, error: str) -> None:
        if request != self._request:  # the user moved on to another sample meanwhile
            return
        self._loading_timer.stop()
        self.canvas.show_image(image, f"⚠ {error}" if error else "")
        if image is not None:
            self.canvas.setToolTip(f"{image.width()} × {image.height()} pixels")
        else:
            self.canvas.setToolTip(error)
