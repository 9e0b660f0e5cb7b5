"""README's table of measured figures is generated from benchmarks/results.json by benchmarks/record.py."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "record.py"


def load_record():
    """benchmarks/record.py as a module (benchmarks/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("benchmark_record", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_record(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture
def copies(tmp_path: Path) -> tuple[Path, Path]:
    """The README and results.json copied, so that the tests may make them drift."""
    readme, results = tmp_path / "README.md", tmp_path / "results.json"
    shutil.copy(ROOT / "README.md", readme)
    shutil.copy(ROOT / "benchmarks" / "results.json", results)
    return readme, results


def test_the_readmes_table_is_what_results_json_makes() -> None:
    """Fails when someone edited the table by hand or recorded results without regenerating it."""
    done = run_record("--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_fails_when_a_recorded_figure_changes(copies: tuple[Path, Path]) -> None:
    readme, results = copies
    assert run_record("--check", "--readme", str(readme), "--results", str(results)).returncode == 0
    data = json.loads(results.read_text())
    data["rows"]["mask_editor"]["figure"] = "9.9 ms at the 95th percentile"
    results.write_text(json.dumps(data))
    done = run_record("--check", "--readme", str(readme), "--results", str(results))
    assert done.returncode == 1 and "+| Mask editor" in done.stdout and "9.9 ms" in done.stdout
    before = readme.read_text()
    assert run_record("--readme", str(readme), "--results", str(results)).returncode == 0
    after = readme.read_text()
    assert "9.9 ms at the 95th percentile" in after
    assert run_record("--check", "--readme", str(readme), "--results", str(results)).returncode == 0
    # nothing outside the markers moved
    record = load_record()
    outside = [text.split(record.BEGIN)[0] + text.split(record.END)[1] for text in (before, after)]
    assert outside[0] == outside[1]


def test_check_fails_when_the_table_is_edited_by_hand(copies: tuple[Path, Path]) -> None:
    readme, results = copies
    text = readme.read_text()
    readme.write_text(text.replace("| Mask editor", "| The mask editor", 1))
    assert run_record("--check", "--readme", str(readme), "--results", str(results)).returncode == 1
    readme.write_text(text.replace("<!-- end of the measured table -->", ""))  # a lost marker is an error too
    assert run_record("--check", "--readme", str(readme), "--results", str(results)).returncode != 0


def test_record_stores_a_row_with_its_circumstances(tmp_path: Path) -> None:
    record = load_record()
    results = tmp_path / "results.json"
    record.record("open_x", "Opening X", "1.0 s, 2.0× a bare walk", "< 3 s", True, "python b.py", results=results)
    record.record("zz_new", "Something new", "5 ms", None, None, "python c.py", results=results)
    record.record("open_x", "Opening X", "4.0 s, 8.0× a bare walk", "< 3 s", False, "python b.py", results=results)
    text = results.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"  # sorted: stable diffs
    row = data["rows"]["open_x"]
    assert row["figure"] == "4.0 s, 8.0× a bare walk" and row["met"] is False  # the newer run replaced the row
    assert len(row["load"]) == 3 and row["cpus"] >= 1 and row["measured"][:2] == "20"
    assert row["commit"] is None or len(row["commit"].split("+")[0]) == 40
    assert data["rows"]["zz_new"]["met"] is None
    assert not list(tmp_path.glob("*.tmp"))  # written through a temporary file, none left behind
    with pytest.raises(ValueError):
        record.record("bad", "x", "y", "< 1 s", "yes", "z", results=results)


def test_the_table_orders_rows_and_says_what_missed() -> None:
    record = load_record()
    row = {"what": "W", "figure": "F | G", "target": "< 1 s", "reproduce": "python x.py", "cpus": 2}
    row |= {"measured": "2026-11-30T22:00:00+00:00", "load": [5.97, 3.0, 1.0]}
    rows = {
        "zz_unknown": {**row, "what": "last", "met": None},
        "aa_unknown": {**row, "what": "unknown", "met": True},
        "label_store": {**row, "what": "store", "met": False},
        "startup": {**row, "what": "startup", "met": True, "source": record.CARRIED},
    }
    lines = record.table({"rows": rows}).splitlines()
    body = [line for line in lines if line.startswith("| ") and not line.startswith("| What")]
    assert [line.split(" | ")[0] for line in body] == ["| startup", "| store", "| unknown", "| last"]
    assert "**missed**: < 1 s" in body[1] and "(met)" in body[0]
    assert "F \\| G" in body[0] and "measured 2026-11-30, load 6.0 on 2 CPUs" in body[1]
    assert record.CARRIED in body[0]


def test_run_runs_the_named_benchmarks_then_writes_the_table(copies: tuple[Path, Path], tmp_path: Path) -> None:
    """--run starts each script in turn; what they record goes to --results, and the table follows."""
    readme, results = copies
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "bench_fake.py").write_text(  # imports record.py from benchmarks/ through PYTHONPATH
        "from record import record\n"
        "record('fake_row', 'A fake benchmark', '42 ms, 0.5× its floor', '< 50 ms', True, 'python bench_fake.py')\n"
    )
    (folder / "bench_broken.py").write_text("raise SystemExit(3)\n")
    args = ["--readme", str(readme), "--results", str(results), "--benchmarks", str(folder)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "benchmarks")}
    done = run_record("--run", "fake", "bench_broken", *args, env=env)
    assert done.returncode == 1 and "bench_broken" in done.stderr  # a failed benchmark fails the run
    assert "| A fake benchmark | 42 ms, 0.5× its floor<br>" in readme.read_text()
    assert json.loads(results.read_text())["rows"]["fake_row"]["met"] is True
    assert run_record("--check", *args).returncode == 0
