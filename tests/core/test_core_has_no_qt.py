"""core imports and runs with every GUI toolkit blocked (docs/architecture.md: core is GUI-free).

The import-linter contract "core is GUI-free" in pyproject.toml (``lint-imports``, run by ``make test``) reads
core's own import statements. This test checks what that contract cannot see: what Python really loads when
every core module is imported, including modules imported by name at run time (``importlib``) and Qt pulled
in by a third-party package that core imports (a plotting library picking a Qt backend, say).
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import importlib, pkgutil, sys

class Block:
    BLOCKED = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "superqt", "qtpy", "shiboken6", "gui")
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.BLOCKED:
            raise ImportError(f"core imported {name}")
        return None

sys.meta_path.insert(0, Block())
import core
names = [m.name for m in pkgutil.walk_packages(core.__path__, "core.")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""


def run(script: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``script`` in a fresh interpreter run in ``cwd``, with this checkout's ``core`` (and ``gui``) importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_every_core_module_imports_without_qt():
    result = run(SCRIPT)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 10  # the walk really found the modules


def test_the_blocker_stops_a_direct_import():
    result = run(SCRIPT.replace("import core\n", "import core\nimport pyqtgraph\n"))
    assert result.returncode != 0 and "core imported pyqtgraph" in result.stderr


def test_the_blocker_stops_qt_loaded_by_a_third_party_package_and_by_name(tmp_path):
    """The two ways in that no import statement of core shows (``plotlib`` stands for the third party)."""
    (tmp_path / "plotlib").mkdir()
    (tmp_path / "plotlib" / "__init__.py").write_text("from PySide6 import QtCore\n")
    for line, blocked in (("import plotlib", "PySide6"), ("importlib.import_module('gui.' + 'main_window')", "gui")):
        result = run(SCRIPT.replace("import core\n", f"import core\n{line}\n"), cwd=tmp_path)
        assert result.returncode != 0 and f"core imported {blocked}" in result.stderr, line
