"""Class names read from torchvision's source without importing torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.datasets.readers import torchvision_names
from core.datasets.readers.torchvision_names import class_names, torchvision_literal


def test_names_are_torchvisions_own() -> None:
    tv_datasets = pytest.importorskip("torchvision.datasets")
    assert class_names("datasets.mnist", "FashionMNIST", "classes", 10) == tv_datasets.FashionMNIST.classes
    assert class_names("datasets.flowers102", "Flowers102", "classes", 102) == tv_datasets.Flowers102.classes
    table = torchvision_literal("datasets.cityscapes", "Cityscapes", "classes")
    assert table == [tuple(row) for row in tv_datasets.Cityscapes.classes]


def test_reading_names_does_not_import_torch() -> None:
    code = (
        "import sys; from core.datasets.readers.torchvision_names import class_names;"
        "class_names('datasets.mnist', 'MNIST', 'classes', 10); print('torch' in sys.modules)"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo)
    assert out.stdout.strip() == "False"


def test_fallback_names_when_torchvision_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torchvision_names, "_source", lambda module: None)
    torchvision_literal.cache_clear()
    try:
        assert class_names("datasets.mnist", "MNIST", "classes", 3) == ["class 0", "class 1", "class 2"]
    finally:
        torchvision_literal.cache_clear()


def test_wrong_count_falls_back() -> None:
    assert class_names("datasets.mnist", "MNIST", "classes", 11)[0] == "class 0"
