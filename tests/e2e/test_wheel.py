"""The wheel is the app: built from the checkout, installed into a fresh venv outside it, run from a folder
that is not the checkout: `cvlens --version`, `cvlens evaluate` on the bundled demo, `cvlens --screenshot`.

The venv gets the wheel alone (--no-deps); the libraries (torch, Qt, ...) are the running interpreter's,
made visible through a .pth file, so nothing is downloaded and the test stays fast. What runs is the wheel's
code and data: the test checks that `core` and the demo are imported and read from the venv.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE).group(1)


def _run(args, cwd, env, timeout=300) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv's bin folder, a working folder outside the checkout, the environment to run in)."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["CVLENS_DATA_DIR"] = str(tmp / "data")
    # A copy of the sources: setuptools builds in the source folder, and a stale build/ left in the checkout
    # would put removed files into the wheel.
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__"))
    dist = tmp / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run([*pip, "wheel", source, "--no-deps", "--no-build-isolation", "--no-index", "-w", dist], tmp, env)
    (wheel,) = dist.glob("cvlens-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp, env)
    python = venv / "bin" / "python"
    _run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], tmp, env)
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env)
    host = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib.stdout.strip()) / "_cvlens_test_host_libraries.pth").write_text("\n".join(sorted(host)) + "\n")
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return venv / "bin", elsewhere, env


def test_the_wheel_holds_the_bundled_models_and_demos(installed):
    bin_dir, cwd, env = installed
    code = "import core, cvlens.cli; from core.system.resources import resources_dir; print(core.__file__); " \
        "print(resources_dir())"  # fmt: skip
    core_file, resources = _run([bin_dir / "python", "-c", code], cwd, env).stdout.split()
    venv = bin_dir.parent.resolve()
    assert Path(core_file).resolve().is_relative_to(venv), "the test ran the checkout's code, not the wheel's"
    assert Path(resources).resolve().is_relative_to(venv)
    # every file under resources/ is in the installed package, whatever is added there later
    ours = {p.relative_to(ROOT / "resources") for p in (ROOT / "resources").rglob("*") if _shipped(p)}
    theirs = {p.relative_to(resources) for p in Path(resources).rglob("*") if p.is_file()}
    assert ours and ours == theirs


def _shipped(path: Path) -> bool:
    """A file of the checkout's resources/ that belongs in the wheel (not a project store the app wrote)."""
    return path.is_file() and not any(part.startswith(".") for part in path.relative_to(ROOT).parts)


def test_cvlens_version_and_python_m_cvlens(installed):
    bin_dir, cwd, env = installed
    assert _run([bin_dir / "cvlens", "--version"], cwd, env).stdout.strip() == f"CV Lens {VERSION}"
    usage = _run([bin_dir / "python", "-m", "cvlens", "--help"], cwd, env).stdout
    assert "evaluate" in usage and "--screenshot" in usage


def test_cvlens_evaluate_runs_the_bundled_digits_demo(installed):
    bin_dir, cwd, env = installed
    code = "from core.system.resources import bundled; print(bundled('demo', 'digits'))"
    demo = Path(_run([bin_dir / "python", "-c", code], cwd, env).stdout.strip())
    out = cwd / "eval"
    result = _run([bin_dir / "cvlens", "evaluate", demo, "--device", "cpu", "--out", out, "--quiet"], cwd, env)
    metrics = json.loads((out / "metrics.json").read_text())
    card = json.loads((demo.parents[1] / "models" / "digits_cnn.json").read_text())
    assert metrics["samples"] == metrics["evaluated"] == card["metrics"]["test_samples"]
    assert abs(metrics["accuracy"] - card["metrics"]["test_accuracy"]) < 1e-9
    # the run is recorded in the user's data folder, not written into the installed package
    assert "saved the run" in result.stderr
    assert not list(bin_dir.parent.rglob(".cvlens")), "the run was written into the installed package"
    assert list((Path(env["CVLENS_DATA_DIR"]) / "projects").glob("*/project.sqlite"))


def test_cvlens_screenshot_opens_the_digits_demo_with_its_model(installed):
    import cv2

    bin_dir, cwd, env = installed
    png = cwd / "shot.png"
    _run([bin_dir / "cvlens", "--screenshot", png, "--size", "1200x800"], cwd, dict(env, QT_QPA_PLATFORM="offscreen"))
    image = cv2.imread(str(png))
    assert image.shape[:2] == (800, 1200)
    # the model ran: the confusion matrix's dark-blue diagonal on the right, green-framed thumbnails on the left
    right, left = image[:, 600:].astype(int), image[:, :600].astype(int)
    assert ((abs(right[:, :, 0] - 107) < 12) & (abs(right[:, :, 2] - 8) < 12)).sum() > 500
    assert ((left[:, :, 1] > 120) & (left[:, :, 0] < 90) & (left[:, :, 2] < 90)).sum() > 200


def test_cvlens_without_the_demo_says_so_instead_of_exiting_silently(installed):
    bin_dir, cwd, env = installed
    code = "from core.system.resources import bundled; print(bundled('demo', 'digits'))"
    demo = Path(_run([bin_dir / "python", "-c", code], cwd, env).stdout.strip())
    aside = demo.with_name("digits-aside")
    demo.rename(aside)  # an install that lost its demo (the venv is this test's own)
    try:
        args, offscreen = [bin_dir / "cvlens", "--screenshot", cwd / "none.png"], dict(env, QT_QPA_PLATFORM="offscreen")
        result = subprocess.run(args, cwd=cwd, env=offscreen, capture_output=True, text=True, timeout=300)
    finally:
        aside.rename(demo)
    assert result.returncode == 2 and not (cwd / "none.png").exists()
    assert f"the bundled demo/digits is not installed (looked in {demo})" in result.stderr
