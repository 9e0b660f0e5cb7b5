"""`evaluate` saves its run into the project, and `import-run` of the folder it wrote is that same run: said,
not recorded a second time. A folder evaluate wrote into again since is another run (--replace puts it in place)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from core.datasets import open_dataset
from core.labels import open_project

ROOT = Path(__file__).resolve().parents[2]
EVALUATE = ("--device", "cpu", "--quiet", "--batch-size", "64")


def run_main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def kept_runs(root: Path) -> list:
    project = open_project(open_dataset(root))
    try:
        return project.runs()
    finally:
        project.store.close()


def test_import_run_of_the_folder_evaluate_wrote_finds_the_run_evaluate_saved(tmp_path):
    root, out = tmp_path / "digits", tmp_path / "eval"
    shutil.copytree(ROOT / "resources/demo/digits/test", root / "test")  # the project store goes beside the copy
    made = run_main("evaluate", str(root), "--out", str(out), *EVALUATE)
    assert made.returncode == 0 and "saved the run as #1" in made.stderr, made.stderr
    (saved,) = kept_runs(root)
    assert saved.settings["command"] == "evaluate" and saved.settings["out"] == str(out.resolve())

    again = run_main("import-run", str(root), str(out))
    assert again.returncode == 0, again.stderr
    assert f"already imported as #1 {saved.name}" in again.stdout and "nothing recorded" in again.stdout
    assert [run.id for run in kept_runs(root)] == [1]

    # evaluate wrote into the folder again (not saved: --no-save-run), with other metrics: another run
    rerun = run_main("evaluate", str(root), "--out", str(out), *EVALUATE, "--beta", "2", "--no-save-run")
    assert rerun.returncode == 0, rerun.stderr
    replaced = run_main("import-run", str(root), str(out), "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert f"changed since it was saved by evaluate as #1 {saved.name}: replaced it" in replaced.stdout
    (run,) = kept_runs(root)
    assert run.id == 1 and run.name == saved.name and run.settings["command"] == "import-run"
    assert run.metrics["beta"] == 2
