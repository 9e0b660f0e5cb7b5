"""Files CV Lens writes atomically get the mode any file the user saves gets: 0666 less the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from core.datasets import open_dataset
from core.evaluation import classification
from core.masks.writers import save_mask
from core.system.files import create_temp_beside
from tests.core.test_evaluation import single_label
from tests.core.test_mask_writers import painted
from tests.fake_datasets import write_voc


@pytest.fixture
def umask():
    """Set the process umask for one test (it is process-wide: restored after)."""
    previous = os.umask(0o022)
    yield lambda value: os.umask(value)
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_metrics_json_predictions_csv_and_npz_are_0644_under_umask_022(tmp_path, umask):
    umask(0o022)
    dataset, preds = single_label("multiclass", n=20)
    classification.write_evaluation(dataset, preds, tmp_path)
    for name in ("metrics.json", "predictions.csv", "predictions.npz"):
        assert mode(tmp_path / name) == 0o644, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "predictions.csv", "predictions.npz"]


def test_a_saved_mask_is_0644_like_the_dataset_files_beside_it(tmp_path, umask):
    umask(0o022)
    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="train")
    written = save_mask(dataset, 0, painted(dataset, 0), tmp_path / "out")
    assert mode(written) == 0o644
    assert [p.name for p in written.parent.iterdir()] == [written.name]  # no temp file left


def test_the_umask_is_respected_not_overridden(tmp_path, umask):
    umask(0o077)  # a user who wants private files gets them
    dataset, preds = single_label("multiclass", n=20)
    classification.write_report(tmp_path / "metrics.json", classification.summarize(dataset, preds))
    assert mode(tmp_path / "metrics.json") == 0o600
    umask(0o002)
    fd, tmp = create_temp_beside(tmp_path / "table.csv", suffix=".csv")
    os.close(fd)
    assert mode(tmp) == 0o664 and tmp.parent == tmp_path and tmp.name.startswith(".table.csv.")
