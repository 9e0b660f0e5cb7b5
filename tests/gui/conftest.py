"""Fixtures of the GUI tests: isolated settings, tiny datasets written to tmp_path in their real on-disk
layout, the app state, and main windows on a copy of the demo digits. Plain helper functions are in
``tests/gui/helpers.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import shiboken6

from core.datasets import open_dataset
from cvlens.cli import DEMO_DATASET
from gui.main_window import MainWindow
from gui.runner import RunnerPane
from gui.state import AppState

#: Samples per class of the "test" split that ``image_folder`` writes (train has one more each).
FOLDER_CLASSES = {"cat": 4, "dog": 3, "fox": 2}


def write_image_folder(
    root: Path,
    classes: dict[str, int] = FOLDER_CLASSES,
    *,
    splits: tuple[str, ...] = ("train", "test"),
    size: tuple[int, int] = (8, 8),
    seed: int = 0,
) -> Path:
    """Write ``root/<split>/<class>/NNN.png`` with random RGB images of ``size`` (h, w); returns root."""
    rng = np.random.default_rng(seed)
    for split in splits:
        extra = 1 if split == "train" else 0
        for name, count in classes.items():
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(count + extra):
                image = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
                cv2.imwrite(str(folder / f"{k:03d}.png"), image)
    return root


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory):
    """QSettings (recent datasets, window geometry) written under a fresh temporary folder per test,
    never into the user's own settings."""
    from PySide6.QtCore import QSettings

    folder = str(tmp_path_factory.mktemp("settings"))
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
            QSettings.setPath(fmt, scope, folder)
    return Path(folder)


@pytest.fixture
def make_image_folder(tmp_path: Path):
    """``make_image_folder(name, classes={...}, size=(h, w), splits=(...))`` writes one under tmp_path."""

    def _make(name: str = "images", classes: dict[str, int] = FOLDER_CLASSES, **options) -> Path:
        return write_image_folder(tmp_path / name, classes, **options)

    return _make


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A 3-class image folder with train/test splits of 8x8 RGB PNGs (see FOLDER_CLASSES)."""
    return write_image_folder(tmp_path / "animals")


@pytest.fixture
def app_state(qapp) -> AppState:
    return AppState()


@pytest.fixture
def open_folder(app_state: AppState):
    """Open a folder into the app state and return the Dataset (test split by default)."""

    def _open(path: Path, split: str | None = None):
        dataset = open_dataset(path, split=split)
        app_state.set_dataset(dataset)
        return dataset

    return _open


# -- fixtures in the real layouts of the lecture's datasets (tests/fake_datasets.py writes them) --
#: CelebA's 40 attribute names, in the order of list_attr_celeba.txt.
CELEBA_NAMES = [
    "5_o_Clock_Shadow",
    "Arched_Eyebrows",
    "Attractive",
    "Bags_Under_Eyes",
    "Bald",
    "Bangs",
    "Big_Lips",
    "Big_Nose",
    "Black_Hair",
    "Blond_Hair",
    "Blurry",
    "Brown_Hair",
    "Bushy_Eyebrows",
    "Chubby",
    "Double_Chin",
    "Eyeglasses",
    "Goatee",
    "Gray_Hair",
    "Heavy_Makeup",
    "High_Cheekbones",
    "Male",
    "Mouth_Slightly_Open",
    "Mustache",
    "Narrow_Eyes",
    "No_Beard",
    "Oval_Face",
    "Pale_Skin",
    "Pointy_Nose",
    "Receding_Hairline",
    "Rosy_Cheeks",
    "Sideburns",
    "Smiling",
    "Straight_Hair",
    "Wavy_Hair",
    "Wearing_Earrings",
    "Wearing_Hat",
    "Wearing_Lipstick",
    "Wearing_Necklace",
    "Wearing_Necktie",
    "Young",
]
#: Where the five landmarks of an aligned CelebA face lie (178 x 218 images).
CELEBA_LANDMARKS = (69, 109, 106, 113, 77, 142, 73, 152, 108, 154)


def write_celeba_faces(parent: Path, n: int = 18, seed: int = 0) -> tuple[Path, dict[str, np.ndarray]]:
    """CelebA as fake_datasets writes it, with the real attribute names, images of the aligned size
    (178 x 218) and landmarks on them. Returns (root, what fake_datasets.write_celeba returns)."""
    from tests.fake_datasets import write_celeba, write_images

    truth = write_celeba(parent, n=n, seed=seed)
    root = parent / "celeba"
    attributes = root / "list_attr_celeba.txt"
    lines = attributes.read_text().splitlines(keepends=True)
    lines[1] = " ".join(CELEBA_NAMES) + " \n"
    attributes.write_text("".join(lines))
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    write_images(root / "img_align_celeba", names, seed=seed, size=(218, 178))
    rng = np.random.default_rng(seed)
    landmarks = np.asarray(CELEBA_LANDMARKS) + rng.integers(-4, 5, size=(n, 10))
    header = (root / "list_landmarks_align_celeba.txt").read_text().splitlines(keepends=True)[:2]
    rows = [f"{name} " + " ".join(f"{v:>4d}" for v in row) + "\n" for name, row in zip(names, landmarks)]
    (root / "list_landmarks_align_celeba.txt").write_text("".join(header + rows))
    truth["landmarks"] = landmarks
    return root, truth


@pytest.fixture
def celeba(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """(root, truth) of an 18-image CelebA (6 per split) with the real attribute names."""
    return write_celeba_faces(tmp_path)


@pytest.fixture
def voc(tmp_path: Path) -> tuple[Path, dict[str, list[str]], dict[str, np.ndarray]]:
    """(root, split -> ids, id -> mask) of fake_datasets' Pascal VOC: 12 x 10 images, random masks, void top row."""
    from tests.fake_datasets import write_voc

    return write_voc(tmp_path)


@pytest.fixture(scope="module")
def segmentation_run(tmp_path_factory):
    """(dataset, predictions) of ``tests.fake_datasets.tiny_segmentation_run``, made once per test module."""
    from tests.fake_datasets import tiny_segmentation_run

    return tiny_segmentation_run(tmp_path_factory.mktemp("seg"))


@pytest.fixture
def digits(tmp_path: Path) -> Path:
    """The demo digits' test split copied to tmp_path, so its project store goes beside the copy."""
    root = tmp_path / "digits"
    shutil.copytree(DEMO_DATASET / "test", root / "test")
    return root


@pytest.fixture
def open_window(qtbot):
    """``open_window(path=None, size=(1400, 900), **options)``: a shown, active MainWindow whose runner has
    listed the devices, with ``path`` open when given (``options`` go to ``open_dataset``). After the test
    every window is cancelled, waited for until idle and closed."""
    windows = []

    def _open(path: Path | None = None, size: tuple[int, int] = (1400, 900), **options) -> MainWindow:
        window = MainWindow()
        qtbot.addWidget(window)
        window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        windows.append(window)
        if path is not None:
            window.open_dataset(str(path), **options)
            qtbot.waitUntil(lambda: window.state.dataset is not None and window._opening is None, timeout=30_000)
        # The runner lists the devices (importing torch) on a worker: a window closed before it answers
        # leaves the worker nowhere to report.
        qtbot.waitUntil(lambda: window.runner.device_combo.count() > 1, timeout=60_000)
        return window

    yield _open
    # pytest-qt's own teardown may have closed a window already, and its deletion may land while we wait
    for window in windows:
        if shiboken6.isValid(window):
            window.runner.cancel()
        qtbot.waitUntil(lambda w=window: not shiboken6.isValid(w) or not w.is_busy(), timeout=60_000)
        if shiboken6.isValid(window):
            window.close()


@pytest.fixture
def runner_pane(qtbot):
    """(RunnerPane, AppState) with the digits demo open; a run still going is cancelled after the test."""
    state = AppState()
    widget = RunnerPane(state)
    qtbot.addWidget(widget)
    state.set_dataset(open_dataset(DEMO_DATASET))
    yield widget, state
    widget.cancel()
    qtbot.waitUntil(lambda: not widget.is_running(), timeout=30_000)
