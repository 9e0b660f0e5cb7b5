"""File > Export Labels…: the labels as the user has them now, into a new folder, on a worker thread.

The format list comes from ``core.labels.export.formats_for``; the export writes into a hidden temp
folder renamed at the end, so Cancel (or a failure) leaves nothing under the chosen name. The
summary of what was written and what changed is shown when it is done.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.labels.export import ExportResult, empty_folder, export_labels, formats_for
from gui.state import AppState
from gui.workers import create_worker

FORMAT_NAMES = {
    "image_folder": "Image folders (split/class/image)",
    "csv": "CSV (labels.csv: sample, label, mark, note)",
    "celeba": "CelebA attribute list",
    "food101": "Food-101 meta lists",
    "imagenet": "ImageNet synset folders",
    "coco": "COCO (annotations/instances_<split>.json + images)",
    "yolo": "YOLO (labels/*.txt + data.yaml + images)",
    "voc": "Pascal VOC (Annotations/*.xml + ImageSets/Main + JPEGImages)",
}
#: Formats that place image files (copied or linked).
WITH_IMAGES = ("image_folder", "imagenet", "coco", "yolo", "voc")


class _Cancelled(Exception):
    """Raised from the progress callback: the export removes its temp folder and stops."""


class ProgressRelay(QObject):
    progress = Signal(int, int)  # emitted on the worker thread, delivered on the GUI thread


def free_folder(base: Path) -> Path:
    """``base``, or ``base-2``, ``base-3`` ... the first that does not exist yet."""
    candidate, k = base, 2
    while candidate.exists():
        candidate, k = base.with_name(f"{base.name}-{k}"), k + 1
    return candidate


def summary_text(result: ExportResult) -> str:
    s = result.summary
    lines = [f"Wrote {s.get('samples_written', 0):,} samples to {result.path}"]
    for reason, count in (s.get("left_out") or {}).items():
        lines.append(f"left out: {count:,} {reason}")
    lines.append(f"edited samples: {s.get('samples_edited', 0):,}")
    if "objects_written" in s:
        lines.append(
            f"objects written: {s['objects_written']:,} (images with edited objects: "
            f"{s.get('images_with_edited_objects', 0):,})"
        )
    if s.get("crowd_regions_left_out"):
        lines.append(f"crowd regions left out: {s['crowd_regions_left_out']:,} (the format has no crowd flag)")
    for change, count in list((s.get("label_changes") or {}).items())[:10]:
        lines.append(f"  {change}: {count:,}")
    if s.get("review_marks"):
        lines.append("review marks: " + ", ".join(f"{k} {v:,}" for k, v in s["review_marks"].items()))
    if result.errors:
        lines.append(f"{len(result.errors):,} samples could not be written (see summary.json)")
    lines.append("summary.json and changes.csv in the folder say what changed.")
    return "\n".join(lines)


class ExportDialog(QDialog):
    exported = Signal(object)  # ExportResult

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export labels")
        self.resize(560, 420)
        self.state, self.project = state, state.project
        self.result: ExportResult | None = None
        self._worker = None
        self._cancel = False
        self.format = QComboBox(self)
        for name in formats_for(self.project):
            self.format.addItem(FORMAT_NAMES.get(name, name), name)
        self.format.currentIndexChanged.connect(self._on_format)
        self.link = QComboBox(self)
        self.link.addItems(["copy", "hardlink", "symlink"])
        self.link.setToolTip("Copy the images, or link them (saves space; links point at the dataset)")
        self.include_excluded = QCheckBox("Include samples marked excluded or labeled ignore", self)
        self.folder = QLineEdit(self)
        self.folder.setToolTip("A new (or empty) folder: exports never write into a folder holding anything")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        self.progress = QProgressBar(self)
        self.summary = QPlainTextEdit(self)
        self.summary.setReadOnly(True)
        self.export_button = QPushButton("Export", self)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.close_button = QPushButton("Cancel", self)
        self.close_button.clicked.connect(self._cancel_or_close)
        self._lay_out(browse)
        self._on_format()

    def _lay_out(self, browse: QPushButton) -> None:
        where = QHBoxLayout()
        where.addWidget(self.folder, 1)
        where.addWidget(browse)
        form = QFormLayout()
        form.addRow("Format:", self.format)
        form.addRow("Images:", self.link)
        form.addRow("", self.include_excluded)
        form.addRow("New folder:", where)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary, 1)
        layout.addLayout(buttons)

    def _on_format(self) -> None:
        name = self.format.currentData()
        self.link.setEnabled(name in WITH_IMAGES)
        root = Path(self.project.dataset.root)
        self.folder.setText(str(free_folder(root.parent / f"{root.name}-labels-{name}")))

    def _browse(self) -> None:
        parent = QFileDialog.getExistingDirectory(
            self, "Export into which folder?", str(Path(self.folder.text()).parent)
        )
        if parent:
            self.folder.setText(str(free_folder(Path(parent) / Path(self.folder.text()).name)))

    # -- exporting ---------------------------------------------------------------------
    def start(self) -> None:
        out = Path(self.folder.text()).expanduser()
        if out.exists() and not empty_folder(out):
            self.summary.setPlainText(
                f"{out} exists already and is not empty; choose a new folder (nothing was written)."
            )
            return
        relay = ProgressRelay(self)
        relay.progress.connect(self._on_progress)

        def progress(done: int, total: int) -> None:
            if self._cancel:
                raise _Cancelled
            relay.progress.emit(done, total)

        options = {"link": self.link.currentText(), "include_excluded": self.include_excluded.isChecked()}
        job = lambda: export_labels(self.project, out, self.format.currentData(), progress=progress, **options)  # noqa: E731
        worker = create_worker(job, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._done)
        worker.errored.connect(self._failed)
        worker.finished.connect(self._finished)
        self._worker, self._cancel = worker, False
        self.export_button.setEnabled(False)
        self.summary.setPlainText(f"Exporting to {out}…")
        worker.start()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)

    def _done(self, result: ExportResult) -> None:
        self.result = result
        self.progress.setValue(self.progress.maximum())
        self.summary.setPlainText(summary_text(result))
        self.state.message.emit(f"Exported the labels to {result.path}")
        self.exported.emit(result)

    def _failed(self, exc: Exception) -> None:
        text = "Export cancelled; nothing was left in the folder." if isinstance(exc, _Cancelled) else str(exc)
        self.summary.setPlainText(text)

    def _finished(self) -> None:
        self._worker = None
        self.export_button.setEnabled(self.result is None)
        self.close_button.setText("Close")

    def busy(self) -> bool:
        return self._worker is not None

    def _cancel_or_close(self) -> None:
        if self._worker is not None:
            self._cancel = True
        else:
            self.close()
