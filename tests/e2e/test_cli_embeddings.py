"""`evaluate --embeddings` as a user runs it: embeddings.npy in --out (float16, dataset order), the same file
from two processes under torchrun, a model that gives none refused with its reason before the run, the rows
recorded with the run it keeps in the dataset's project."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from core.datasets import open_dataset
from core.labels import open_project
from core.models.loading import build_model, resolve_model

ROOT = Path(__file__).resolve().parents[2]
DIGITS = "resources/demo/digits"
OPTIONS = ("--device", "cpu", "--quiet", "--no-save-run")  # the bundled demo's project is left alone


def run(args, timeout=300, **env):
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=environment)


def evaluate(*args):
    return run([sys.executable, "main.py", "evaluate", *args, *OPTIONS])


def test_evaluate_writes_the_embeddings_in_dataset_order(tmp_path):
    out = tmp_path / "eval"
    result = evaluate(DIGITS, "--model", "digits-cnn", "--out", str(out), "--embeddings")
    assert result.returncode == 0, result.stderr
    assert "embeddings.npy (360 x 64 float16)" in result.stdout.splitlines()[-1]  # the "wrote ..." line says so
    rows = np.load(out / "embeddings.npy")
    assert rows.dtype == np.float16 and rows.shape == (360, 64)
    dataset, card = open_dataset(ROOT / DIGITS, split="test"), resolve_model("digits-cnn")
    model = build_model(card)
    some = [0, 5, 64, 359]
    x = torch.stack([torch.from_numpy(card.preprocess(dataset[i].image())) for i in some])
    with torch.no_grad():
        expected = model.pool(model.features(x)).flatten(1).numpy()
    np.testing.assert_allclose(rows[some].astype(np.float32), expected, atol=2e-3, rtol=2e-3)
    plain = evaluate(DIGITS, "--model", "digits-cnn", "--out", str(tmp_path / "plain"))
    assert plain.returncode == 0 and "embeddings" not in plain.stdout
    assert not (tmp_path / "plain" / "embeddings.npy").exists()


def test_two_processes_under_torchrun_write_the_embeddings_one_process_writes(tmp_path):
    options = ["--model", "digits-cnn", "--batch-size", "32", "--embeddings", *OPTIONS]
    single = run([sys.executable, "main.py", "evaluate", DIGITS, *options, "--out", str(tmp_path / "one")])
    assert single.returncode == 0, single.stderr
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "main.py",
                "evaluate", DIGITS, *options, "--out", str(tmp_path / "two")]  # fmt: skip
    double = run(torchrun)
    assert double.returncode == 0, double.stderr
    assert double.stdout.count("embeddings.npy (360 x 64 float16)") == 1  # rank 0 writes, once
    one, two = np.load(tmp_path / "one" / "embeddings.npy"), np.load(tmp_path / "two" / "embeddings.npy")
    assert one.tobytes() == two.tobytes()  # the ranks ran exactly the batches one process runs
    written = sorted(p.name for p in (tmp_path / "two").iterdir())  # no rank left a temporary file behind
    assert written == ["embeddings.npy", "metrics.json", "predictions.csv", "predictions.npz"]


def test_a_model_without_embeddings_is_refused_before_the_run(tmp_path):
    scripted = torch.jit.script(build_model(resolve_model("digits-cnn")))
    scripted.save(str(tmp_path / "scripted.pt"))
    (tmp_path / "classes.txt").write_text("\n".join(str(d) for d in range(10)))
    out = tmp_path / "eval"
    model = ["--model", str(tmp_path / "scripted.pt"), "--classes", str(tmp_path / "classes.txt")]
    result = evaluate(DIGITS, *model, "--out", str(out), "--embeddings")
    assert result.returncode == 2
    assert "error: a TorchScript model gives no embeddings: its layers cannot be hooked" in result.stderr
    assert not (out / "metrics.json").exists() and not (out / "embeddings.npy").exists()
    assert evaluate(DIGITS, *model, "--out", str(out)).returncode == 0  # without --embeddings it runs


def test_evaluate_records_the_embeddings_with_the_run_it_keeps_in_the_project(tmp_path):
    """What the window shows when the dataset is opened: the run with the very rows evaluate wrote."""
    from core.masks.opening import open_with_project

    root = tmp_path / "digits"  # a copy: the run is recorded beside it
    shutil.copytree(ROOT / DIGITS / "test", root / "test")
    out = tmp_path / "eval"
    result = run([sys.executable, "main.py", "evaluate", str(root), "--model", "digits-cnn", "--out", str(out),
                  "--embeddings", "--device", "cpu", "--quiet"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "saved the run as #1 with its embeddings in the project" in result.stderr
    opened = open_with_project(str(root))
    assert opened.run.has_embeddings and opened.problem == ""
    assert opened.embeddings.dtype == np.float16 and opened.embeddings.shape == (360, 64)
    np.testing.assert_array_equal(opened.embeddings, np.load(out / "embeddings.npy"))
    opened.project.store.close()

    plain = run([sys.executable, "main.py", "evaluate", str(root), "--model", "digits-cnn", "--out",
                 str(tmp_path / "plain"), "--device", "cpu", "--quiet"])  # fmt: skip
    assert plain.returncode == 0 and "saved the run as #2 in the project" in plain.stderr
    project = open_project(open_dataset(root))
    first, second = project.runs()
    assert first.has_embeddings and not second.has_embeddings and project.load_run_embeddings(second) is None
    project.store.close()


def test_evaluate_records_a_segmenters_pooled_bottleneck_with_its_run(tmp_path):
    from tests.fake_datasets import tiny_unet_card, write_voc

    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="val")
    tiny_unet_card(tmp_path, dataset.classes, name="unet")
    out = tmp_path / "eval"
    model = ["--model", str(tmp_path / "unet.json")]
    result = run([sys.executable, "main.py", "evaluate", str(root), "--split", "val", *model, "--out", str(out),
                  "--embeddings", "--device", "cpu", "--quiet"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "saved the run as #1 with its embeddings" in result.stderr
    project = open_project(dataset)
    (saved,) = project.runs()
    rows = project.load_run_embeddings(saved)
    assert saved.task == "segmentation" and rows.shape[0] == len(dataset)
    np.testing.assert_array_equal(rows, np.load(out / "embeddings.npy"))
    project.store.close()
