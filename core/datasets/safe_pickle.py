"""Reading pickled dataset files without running code from them.

A pickle can name any importable callable and have it called while loading (``os.system``
in ``__reduce__`` is the classic). Dataset pickles such as CIFAR's only need plain
containers, strings, numbers and numpy arrays, so :class:`RestrictedUnpickler` resolves
exactly the globals that rebuild those and refuses every other one before it is imported.
"""

from __future__ import annotations

import codecs
import io
import pickle
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO


class ForbiddenGlobal(pickle.UnpicklingError):
    """The pickle names a global that dataset files never need."""


@cache
def _allowed_globals() -> dict[tuple[str, str], Any]:
    """(module, name) -> object, for everything a pickled numpy array of numbers needs."""
    import numpy as np

    try:  # numpy >= 2 keeps these in numpy._core; pickles written by numpy 1 say numpy.core
        from numpy._core import multiarray, numeric
    except ImportError:  # pragma: no cover - numpy 1
        from numpy.core import multiarray, numeric

    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # Python 3 pickles of protocol < 3 store bytes as _codecs.encode(text, "latin1").
        ("_codecs", "encode"): codecs.encode,
        ("builtins", "bytearray"): bytearray,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "complex"): complex,
        ("collections", "OrderedDict"): OrderedDict,
    }
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that builds containers, numbers, strings and numpy arrays, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "__builtin__":  # Python 2's name, in pickles of protocol < 3
            module = "builtins"
        try:
            return _allowed_globals()[(module, name)]
        except KeyError:
            raise ForbiddenGlobal(f"refused to load {module}.{name}: dataset pickles hold data, not code") from None


def load(file: BinaryIO, encoding: str = "latin1") -> Any:
    """Unpickle from an open binary file. ``latin1`` reads Python 2 pickles (CIFAR's) byte for byte."""
    return RestrictedUnpickler(file, encoding=encoding).load()


def loads(data: bytes, encoding: str = "latin1") -> Any:
    return load(io.BytesIO(data), encoding=encoding)


def load_path(path: str | Path, encoding: str = "latin1") -> Any:
    with open(path, "rb") as file:
        return load(file, encoding=encoding)
