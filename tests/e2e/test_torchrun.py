"""`evaluate` under torchrun writes what one process writes; `--model` takes every kind of model."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from core.datasets import open_dataset
from core.labels import open_project
from core.models import load_card
from core.models.checkpoints import open_checkpoint, save_card

ROOT = Path(__file__).resolve().parents[2]
DIGITS = "resources/demo/digits"
#: What may differ between two runs of the same evaluation: the time it took (predictions.npz keeps it
#: in its JSON "meta", and the zip members carry their write time). Everything else must be identical.
TIMING_FIELDS = {"seconds"}


def run(args, tmp_path, timeout=300, **env):
    environment = {**os.environ, "TORCH_HOME": str(tmp_path / "torch"), **env}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=environment)


def evaluate(tmp_path, *args, **env):
    """main.py evaluate; the run is not recorded (the bundled demo's project is left alone)."""
    return run([sys.executable, "main.py", "evaluate", *args, "--quiet", "--no-save-run"], tmp_path, **env)


def npz_content(path: Path) -> tuple[dict, dict]:
    """(arrays, meta without the timing fields) of a predictions.npz."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "meta"}
        meta = json.loads(data["meta"].tobytes())
    return arrays, {k: v for k, v in meta.items() if k not in TIMING_FIELDS}


def test_two_processes_under_torchrun_write_exactly_what_one_process_writes(tmp_path):
    digits = tmp_path / "digits"  # a copy: each evaluation records its run in the dataset's project
    shutil.copytree(ROOT / DIGITS / "test", digits / "test")
    options = ["--model", "digits-cnn", "--device", "cpu", "--batch-size", "32", "--quiet"]
    single = run([sys.executable, "main.py", "evaluate", str(digits), *options, "--out", str(tmp_path / "single")],
                 tmp_path)  # fmt: skip
    assert single.returncode == 0, single.stderr
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "main.py",
                "evaluate", str(digits), *options, "--out", str(tmp_path / "two")]  # fmt: skip
    double = run(torchrun, tmp_path, OMP_NUM_THREADS="1")
    assert double.returncode == 0, double.stderr
    assert "cpu x 2 processes" in double.stderr and double.stdout.count("wrote ") == 1  # rank 0 writes, once
    one, two = tmp_path / "single", tmp_path / "two"
    assert (one / "metrics.json").read_bytes() == (two / "metrics.json").read_bytes()
    assert (one / "predictions.csv").read_bytes() == (two / "predictions.csv").read_bytes()
    arrays_one, meta_one = npz_content(one / "predictions.npz")
    arrays_two, meta_two = npz_content(two / "predictions.npz")
    assert arrays_one.keys() == arrays_two.keys() == {"scores", "done"}
    for key in arrays_one:  # bit for bit: the ranks ran exactly the batches one process runs
        assert arrays_one[key].tobytes() == arrays_two[key].tobytes()
    assert meta_one == meta_two and meta_one["device"] == "cpu"
    assert json.loads((two / "metrics.json").read_text())["evaluated"] == 360
    # rank 0 alone recorded the torchrun's run: the project holds one run per command, the same predictions
    assert double.stderr.count("saved the run as #2") == 1 and "saved the run" not in double.stdout
    project = open_project(open_dataset(digits))
    runs = project.runs()
    assert [run.settings["command"] for run in runs] == ["evaluate", "evaluate"]
    np.testing.assert_array_equal(project.load_run(runs[0]).scores, project.load_run(runs[1]).scores)
    project.store.close()


def test_a_users_checkpoint_with_its_edited_card_evaluates_like_the_bundled_model(tmp_path):
    bundled = load_card(ROOT / "resources/models/digits_cnn.json")
    mine = tmp_path / "models" / "my_digits.pt"
    mine.parent.mkdir()
    shutil.copy(ROOT / "resources/models/digits_cnn.pt", mine)
    card = open_checkpoint(mine, classes=[str(d) for d in range(10)])  # recognised: SmallCNN, 1 channel
    assert (card.architecture, card.channels, card.arch_kwargs) == ("smallcnn", 1, {"width": 16})
    card.input_size, card.mean, card.std = bundled.input_size, bundled.mean, bundled.std  # what the user edits
    save_card(card)
    result = evaluate(tmp_path, DIGITS, "--model", str(mine), "--device", "cpu", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert abs(metrics["accuracy"] - bundled.metrics["test_accuracy"]) < 1e-9


def test_a_torchvision_name_without_cached_weights_says_where_to_put_them(tmp_path):
    """Two ImageNet classes, mapped by name onto ResNet-18's 1000; offline, its weights are missing."""
    for name in ("tench", "goldfish"):
        (tmp_path / "fish" / name).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "fish" / name / "0.jpg"), np.zeros((40, 40, 3), np.uint8))
    refused = evaluate(tmp_path, str(tmp_path / "fish"), "--model", "resnet18", "--out", str(tmp_path / "out"))
    assert refused.returncode == 2 and "2 names are in both: map the classes" in refused.stderr
    result = evaluate(tmp_path, str(tmp_path / "fish"), "--model", "resnet18", "--map-classes", "--device", "cpu",
                      "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    assert "resnet18-f37072fd.pth" in result.stderr and str(folder) in result.stderr


def test_a_pickled_model_given_to_evaluate_is_refused(tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "whole.pt")
    result = evaluate(tmp_path, DIGITS, "--model", str(tmp_path / "whole.pt"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "never runs code" in result.stderr and "Traceback" not in result.stderr
