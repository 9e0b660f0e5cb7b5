"""Hostile model files: zip-bomb checkpoints and model cards that ask for absurd inputs (issue 11)."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import pytest
import torch

from core.models import ModelError, load_card
from core.models.checkpoints import load_torchscript, open_checkpoint
from core.models.weights import check_archive
from tests.fake_datasets import write_flat_colour_folder


def _zip_bomb(path: Path, megabytes: int = 200) -> Path:
    """A checkpoint-shaped zip whose one deflated entry inflates to ``megabytes`` of zeros."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        with archive.open("archive/data/0", "w") as entry:
            chunk = bytes(1 << 20)
            for _ in range(megabytes):
                entry.write(chunk)
    return path


@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_a_zip_bomb_checkpoint_is_refused_before_torch_reads_it(tmp_path: Path, suffix: str) -> None:
    path = _zip_bomb(tmp_path / f"bomb{suffix}")
    assert path.stat().st_size < 1 << 20
    start = time.monotonic()
    with pytest.raises(ModelError, match="refused as a zip bomb"):
        open_checkpoint(path)
    with pytest.raises(ModelError, match="refused as a zip bomb"):
        load_torchscript(path)
    assert time.monotonic() - start < 5


def test_a_real_checkpoint_passes_the_archive_check(tmp_path: Path) -> None:
    path = tmp_path / "w.pt"
    torch.save({"w": torch.zeros(2000, 2000)}, path)  # zeros: torch stores them uncompressed anyway
    check_archive(path)


def _card(tmp_path: Path, **fields) -> Path:
    data = {"name": "m", "architecture": "smallcnn", "task": "multiclass", "classes": ["a", "b"]}
    data["input_size"] = [28, 28]
    data.update(fields)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"input_size": [40000, 40000]}, "input_size 40000 x 40000 is outside"),
        ({"input_size": [5000, 5000]}, "at most 16,777,216 pixels"),
        ({"input_size": [0, 28]}, "input_size 0 x 28 is outside"),
        ({"input_size": ["28", 28]}, "input_size must be"),
        ({"input_size": [28]}, "input_size must be"),
        ({"input_size": [True, 28]}, "input_size must be"),
        ({"task": "detection?"}, "task must be one of"),
        ({"classes": []}, "classes must be a non-empty list"),
        ({"classes": "abc"}, "classes must be a non-empty list"),
        ({"channels": 7}, "channels must be 1"),
        ({"std": [0.0]}, "std must not be 0"),
        ({"mean": [0.1, 0.2]}, "mean must be a list of 1 or 3"),
        ({"resize_size": 10**9}, "resize_size must be"),
        ({"interpolation": "lanczos9"}, "interpolation must be one of"),
    ],
)
def test_a_card_asking_for_what_cannot_run_is_a_model_error(tmp_path: Path, fields: dict, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        load_card(_card(tmp_path, **fields))


@pytest.mark.parametrize("text", ["[1, 2]", "5", "null"])
def test_a_card_that_is_not_an_object_is_a_model_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(ModelError, match="not a JSON object"):
        load_card(path)


def test_a_sound_card_still_loads(tmp_path: Path) -> None:
    card = load_card(_card(tmp_path, input_size=[1024, 2048], mean=[0.1, 0.2, 0.3], std=[1, 1, 1]))
    assert card.input_size == (1024, 2048)


class _FlattensToOneRow(torch.nn.Module):
    """A head that reshapes to (1, -1): exported with a dynamic batch, it only runs on one image."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = torch.nn.AdaptiveAvgPool2d(2)
        self.fc = torch.nn.Linear(12, 2)

    def forward(self, x):
        return self.fc(self.pool(x).reshape(1, -1))


def test_an_onnx_model_that_only_runs_one_image_at_a_time_is_fed_one_at_a_time(tmp_path: Path) -> None:
    from core.datasets import open_dataset
    from core.inference import InferenceJob, run_to_end

    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    root = write_flat_colour_folder(tmp_path / "data")
    torch.onnx.export(_FlattensToOneRow().eval(), (torch.zeros(1, 3, 16, 16),), str(tmp_path / "m.onnx"),
                      input_names=["x"], dynamic_axes={"x": {0: "n"}}, dynamo=False)  # fmt: skip
    card = open_checkpoint(tmp_path / "m.onnx", classes=["a", "b"])
    assert card.arch_kwargs == {"batch": 1}
    preds = run_to_end(InferenceJob(card, open_dataset(root), device="cpu", num_workers=0, batch_size=4))
    assert preds.num_done == 6 and not preds.errors
