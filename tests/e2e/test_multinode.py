"""Past one machine: `evaluate` over two torchrun "nodes" (two launches meeting at a c10d rendezvous, as two
machines of a cluster would) writes what one process writes; the run comes back with `import-run`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

from core.datasets import open_dataset
from core.labels import open_project
from tests.e2e.test_torchrun import DIGITS, ROOT, npz_content

OPTIONS = ["--model", "digits-cnn", "--device", "cpu", "--batch-size", "32", "--quiet", "--no-save-run"]
TIMEOUT = 240  # s for the whole two-node run: a rendezvous that never completes must not hang the suite


def free_port() -> int:
    """A TCP port nobody listens on now (the OS picks it; closed at once so torchrun's store can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "TORCH_HOME": str(tmp_path / "torch"), "OMP_NUM_THREADS": "1"}


def node(node_rank: int, port: int, dataset: str, out: Path, tmp_path: Path) -> subprocess.Popen:
    """One "machine": a torchrun agent with one process, meeting the other at 127.0.0.1:port."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
        f"--node_rank={node_rank}", "--rdzv_backend=c10d", f"--rdzv_endpoint=127.0.0.1:{port}",
        "--rdzv_id=cvlens-test", "--rdzv_conf=join_timeout=120", "--max_restarts=0",
        "main.py", "evaluate", str(dataset), *OPTIONS, "--out", str(out),
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env=environment(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_two_nodes(dataset: str, out: Path, tmp_path: Path) -> list[tuple[int, str, str]]:
    """(returncode, stdout, stderr) of both nodes; both are killed if either outlives TIMEOUT."""
    port = free_port()
    nodes = [node(rank, port, dataset, out, tmp_path) for rank in (0, 1)]
    try:
        results = []
        for process in nodes:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
            results.append((process.returncode, stdout, stderr))
        return results
    finally:
        for process in nodes:
            if process.poll() is None:
                process.kill()
                process.communicate()


def test_two_nodes_at_a_rendezvous_write_exactly_what_one_process_writes(tmp_path):
    single = subprocess.run(
        [sys.executable, "main.py", "evaluate", DIGITS, *OPTIONS, "--out", str(tmp_path / "single")],
        cwd=ROOT, env=environment(tmp_path), capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr
    results = run_two_nodes(DIGITS, tmp_path / "two", tmp_path)
    for code, _, stderr in results:
        assert code == 0, stderr
    stdout = "".join(out for _, out, _ in results)
    stderr = "".join(err for _, _, err in results)
    assert stdout.count("wrote ") == 1 and "cpu x 2 processes" in stderr  # rank 0 alone writes, on its machine
    one, two = tmp_path / "single", tmp_path / "two"
    assert (one / "metrics.json").read_bytes() == (two / "metrics.json").read_bytes()
    assert (one / "predictions.csv").read_bytes() == (two / "predictions.csv").read_bytes()
    arrays_one, meta_one = npz_content(one / "predictions.npz")
    arrays_two, meta_two = npz_content(two / "predictions.npz")
    assert meta_one == meta_two
    for key in arrays_one:
        assert arrays_one[key].tobytes() == arrays_two[key].tobytes()


def test_a_run_made_elsewhere_is_imported_into_the_project_and_a_changed_dataset_refuses_it(tmp_path):
    digits = tmp_path / "digits"
    shutil.copytree(ROOT / DIGITS / "test", digits / "test")
    made = subprocess.run(
        [sys.executable, "main.py", "evaluate", str(ROOT / DIGITS), *OPTIONS, "--out", str(tmp_path / "cluster")],
        cwd=ROOT, env=environment(tmp_path), capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    def import_run(*args):
        command = [sys.executable, "main.py", "import-run", *args]
        return subprocess.run(command, cwd=ROOT, env=environment(tmp_path), capture_output=True, text=True)

    for gone in sorted((digits / "test" / "7").iterdir())[:4]:
        gone.rename(tmp_path / gone.name)  # this copy lost four images since the run
    refused = import_run(str(digits), str(tmp_path / "cluster"))
    assert refused.returncode == 2 and "4 of the run's 360 samples are not in the split" in refused.stderr
    for back in tmp_path.glob("*.png"):
        back.rename(digits / "test" / "7" / back.name)
    result = import_run(str(digits), str(tmp_path / "cluster"))
    assert result.returncode == 0, result.stderr
    assert "imported" in result.stdout and "run #1 (accuracy 99.7%)" in result.stdout
    again = import_run(str(digits), str(tmp_path / "cluster"))  # the same run: said, not recorded twice
    assert again.returncode == 0 and "already imported as #1 digits-cnn (imported)" in again.stdout
    project = open_project(open_dataset(digits, split="test"))
    (run,) = project.runs()
    metrics = json.loads((tmp_path / "cluster" / "metrics.json").read_text())
    assert run.metrics["accuracy"] == metrics["accuracy"] and run.settings["command"] == "import-run"
    with np.load(tmp_path / "cluster" / "predictions.npz") as written:
        by_id = dict(zip(json.loads(written["meta"].tobytes())["sample_ids"], written["scores"]))
    loaded = project.load_run(run)
    np.testing.assert_array_equal(loaded.scores, np.stack([by_id[i] for i in loaded.sample_ids]))
    project.store.close()


def test_a_dataset_rank_0_cannot_open_ends_every_rank_with_rank_0s_reason(tmp_path):
    """Rank 0 lists for all: when it cannot, the other ranks must not wait for its listing."""
    (tmp_path / "empty").mkdir()
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "main.py",
                "evaluate", str(tmp_path / "empty"), *OPTIONS, "--out", str(tmp_path / "out")]  # fmt: skip
    result = subprocess.run(torchrun, cwd=ROOT, env=environment(tmp_path), capture_output=True, text=True,
                            timeout=TIMEOUT)  # fmt: skip
    assert result.returncode != 0 and result.stderr.count("is not a dataset CV Lens knows") == 1
    assert "rank 0 could not open" not in result.stderr  # rank 0's own reason comes first


def test_a_segmenters_run_comes_back_with_its_masks(tmp_path):
    from core.inference.mask_store import SegmentationPredictions
    from tests.fake_datasets import tiny_unet_card, write_voc

    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="val")
    tiny_unet_card(tmp_path, dataset.classes, sharpen=True, name="unet")
    out = tmp_path / "cluster"
    made = subprocess.run(
        [sys.executable, "main.py", "evaluate", str(root), "--split", "val", "--model", str(tmp_path / "unet.json"),
         "--device", "cpu", "--quiet", "--no-save-run", "--out", str(out)],
        cwd=ROOT, env=environment(tmp_path), capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    result = subprocess.run([sys.executable, "main.py", "import-run", str(root), str(out)], cwd=ROOT,
                            env=environment(tmp_path), capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "mean IoU" in result.stdout  # the run's headline
    project = open_project(dataset)
    (run,) = project.runs()
    assert run.task == "segmentation" and run.split == "val"
    loaded, written = project.load_run(run), SegmentationPredictions.load(out / "masks")
    for i in range(len(dataset)):
        np.testing.assert_array_equal(loaded.mask(i), written.mask(i))
    project.store.close()
