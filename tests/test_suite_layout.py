"""The test suite's own structure: one importable package, helpers imported by their full names."""

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: An assignment to, or a call that changes, the interpreter's import path.
PATH_EDIT = re.compile(r"\bsys\.path\s*(\.(insert|append|extend)\(|\[|\+=|=[^=])")


def python_files() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def test_every_folder_of_tests_is_a_package():
    """Without ``__init__.py`` pytest imports a test module by its bare name and puts its folder on sys.path,
    so whether ``from fake_datasets import ...`` works would depend on which folder's tests ran first."""
    folders = sorted({path.parent for path in python_files()})
    assert [str(f.relative_to(TESTS.parent)) for f in folders if not (f / "__init__.py").is_file()] == []


def test_no_test_edits_the_import_path():
    """Helpers import as ``tests.fake_datasets``, ``tests.gui.helpers``...; subprocesses run in the repository root."""
    edits = [
        f"{path.relative_to(TESTS.parent)}:{number}: {line.strip()}"
        for path in python_files()
        if path != Path(__file__).resolve()  # its own examples below
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PATH_EDIT.search(line)
    ]
    assert edits == []


def test_the_path_edit_pattern_finds_the_edits_it_forbids():
    for edit in ("sys.path.insert(0, str(ROOT))", "sys.path[:0] = [root]", "sys.path.append(x)", "sys.path = []"):
        assert PATH_EDIT.search(edit), edit
    assert not PATH_EDIT.search("if str(path) not in sys.path:") and not PATH_EDIT.search("sys.path == before")
