"""gui.import_hook: shiboken's per-import check answered from the file's bytes, with the same answers."""

import inspect
import sys
import types

import numpy

import core.metrics
import gui.import_hook as hook
import gui.widgets


def _shiboken_answer(module) -> bool:  # what PySide6's own _mod_uses_pyside computes
    try:
        return "PySide6" in inspect.getsource(module)
    except (TypeError, OSError, SyntaxError):
        return False


def test_importing_gui_replaces_shibokens_check():
    feature = sys.modules[hook.FEATURE_MODULE]
    assert feature._mod_uses_pyside is hook.mentions_pyside
    assert hook.lighten() is True  # again: harmless


def test_same_answers_as_shiboken():
    modules = [gui.widgets, core.metrics, numpy, inspect, sys, hook, types.ModuleType("made_here")]
    answers = [hook.mentions_pyside(m) for m in modules]
    assert answers == [_shiboken_answer(m) for m in modules]
    assert answers[0] is True and answers[1] is False


def test_a_module_whose_file_is_gone_or_unreadable(tmp_path):
    gone = types.ModuleType("gone")
    gone.__file__ = str(tmp_path / "gone.py")
    binary = types.ModuleType("binary")
    binary.__file__ = str(tmp_path / "binary.cpython-311-x86_64-linux-gnu.so")
    (tmp_path / "binary.cpython-311-x86_64-linux-gnu.so").write_bytes(b"PySide6")
    assert hook.mentions_pyside(gone) is False
    assert hook.mentions_pyside(binary) is False  # not a source file: shiboken says no as well


def test_a_mention_anywhere_in_the_file_counts(tmp_path):
    path = tmp_path / "mentions.py"
    path.write_text('"""Uses PySide6 only in its docstring."""\nx = 1\n', encoding="utf-8")
    module = types.ModuleType("mentions")
    module.__file__ = str(path)
    assert hook.mentions_pyside(module) is True
