"""Reading pickled dataset files without running code from them, in bounded memory.

A pickle can name any importable callable and have it called while loading (``os.system``
in ``__reduce__`` is the classic). Dataset pickles such as CIFAR's only need plain
containers, strings, numbers and numpy arrays, so :class:`RestrictedUnpickler` resolves
exactly the globals that rebuild those and refuses every other one before it is imported.

Allowed callables can still be abused to allocate: ``bytearray(12 * 2**30)`` is 34 bytes of
pickle, and so is a memo index of 2**30 (the C unpickler grows its memo table to the index
and zeroes it). So every allowed callable is wrapped to accept only the arguments that a
pickled array or string needs, object dtypes are refused, the opcodes are scanned for memo
indices before loading, and the file is read whole (it is bounded by :data:`MAX_PICKLE_BYTES`)
so that a length field claiming more than the file holds cannot make the reader allocate it.
What a pickle then builds is bounded by a small multiple of its own size.
"""

from __future__ import annotations

import codecs
import io
import pickle
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from core.system.files import open_regular

#: Largest pickle read (CIFAR-100's train file is 158 MB, CIFAR-10's batches 31 MB each).
MAX_PICKLE_BYTES = 1 << 30
#: numpy writes ``_reconstruct(ndarray, (0,), b"b")`` and then fills the array from its state.
_MAX_RECONSTRUCT_ITEMS = 1
_LATIN1 = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1"}
_MEMO_OPCODES = {"PUT", "BINPUT", "LONG_BINPUT"}
#: String arguments this long are reported by :func:`loads` as blocks (a CIFAR image is 3 KiB, a batch 30 MB).
BLOCK_BYTES = 1 << 10


class ForbiddenGlobal(pickle.UnpicklingError):
    """The pickle names a global that dataset files never need."""


class RefusedPickle(pickle.UnpicklingError):
    """The pickle asks for something a dataset file cannot need (a huge allocation, an object array)."""


class _NdarrayType:
    """Stands for ``numpy.ndarray`` inside a pickle: passed to ``_reconstruct``, never called."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RefusedPickle("refused to call numpy.ndarray(...) directly: array pickles never do")


_NDARRAY = _NdarrayType()


def _bytearray(*args: Any) -> bytearray:
    if args and not isinstance(args[0], (bytes, bytearray, str)):
        raise RefusedPickle(f"refused bytearray({type(args[0]).__name__}): only bytes or text are rebuilt")
    return bytearray(*args)


def _encode(text: Any, encoding: str = "utf-8", *rest: Any) -> bytes:
    if not isinstance(text, str) or str(encoding).lower() not in _LATIN1 or rest:
        raise RefusedPickle("refused _codecs.encode other than text to latin1 (Python 2 bytes)")
    return codecs.encode(text, "latin1")


def _check_dtype(dtype: Any) -> Any:
    if getattr(dtype, "hasobject", False):
        raise RefusedPickle(f"refused an array of Python objects (dtype {dtype}): dataset arrays hold numbers")
    return dtype


@cache
def _allowed_globals() -> dict[tuple[str, str], Any]:
    """(module, name) -> object, for everything a pickled numpy array of numbers needs."""
    import numpy as np

    try:  # numpy >= 2 keeps these in numpy._core; pickles written by numpy 1 say numpy.core
        from numpy._core import multiarray, numeric
    except ImportError:  # pragma: no cover - numpy 1
        from numpy.core import multiarray, numeric

    def dtype(*args: Any) -> Any:
        return _check_dtype(np.dtype(*args))

    def reconstruct(subtype: Any, shape: Any, typecode: Any) -> Any:
        if subtype is not _NDARRAY or int(np.prod(shape, dtype=np.float64)) > _MAX_RECONSTRUCT_ITEMS:
            raise RefusedPickle(f"refused numpy _reconstruct({subtype!r}, {shape!r}): not an array pickle")
        return multiarray._reconstruct(np.ndarray, shape, typecode)

    def scalar(dtype: Any, *data: Any) -> Any:
        return multiarray.scalar(_check_dtype(dtype), *data)

    def frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> Any:
        return numeric._frombuffer(buffer, _check_dtype(dtype), shape, order)

    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): _NDARRAY,
        ("numpy", "dtype"): dtype,
        # Python 3 pickles of protocol < 3 store bytes as _codecs.encode(text, "latin1").
        ("_codecs", "encode"): _encode,
        ("builtins", "bytearray"): _bytearray,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "complex"): complex,
        ("collections", "OrderedDict"): OrderedDict,
    }
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = scalar
        allowed[(f"{package}.numeric", "_frombuffer")] = frombuffer
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


def _check_memo(data: bytes) -> list[tuple[int, int]]:
    """Refuse memo indices beyond the number of opcodes: a real pickle numbers its memo 0, 1, 2...

    Returns (offset, length) of the string arguments of at least :data:`BLOCK_BYTES` (a numpy array's
    buffer is one, copied byte for byte into the stream, and ends where the next opcode starts), found in
    the same pass so that a caller can map an array from the file instead of parsing it again.
    """
    import pickletools  # only where a pickle is read: not with every import of core.datasets

    blocks, pending = [], 0
    for count, (opcode, arg, position) in enumerate(pickletools.genops(io.BytesIO(data))):
        if pending:
            blocks.append((position - pending, pending))
        if opcode.name in _MEMO_OPCODES and int(arg) > count:
            raise RefusedPickle(f"refused memo index {arg} at opcode {count}: it would allocate a table that large")
        pending = len(arg) if isinstance(arg, (bytes, bytearray, str)) and len(arg) >= BLOCK_BYTES else 0
    return blocks


def loads(data: bytes, encoding: str = "latin1", blocks: list[tuple[int, int]] | None = None) -> Any:
    """Unpickle bytes. ``latin1`` reads Python 2 pickles (CIFAR's) byte for byte.

    ``blocks``, when given, receives the (offset, length) of the long string arguments: candidates for
    where an array's bytes lie in ``data`` (the caller compares them with the array it got).
    """
    found = _check_memo(data)
    if blocks is not None:
        blocks.extend(found)
    return RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()


def load(file: BinaryIO, encoding: str = "latin1") -> Any:
    """Unpickle from an open binary file (read whole, at most :data:`MAX_PICKLE_BYTES`)."""
    data = file.read(MAX_PICKLE_BYTES + 1)
    if len(data) > MAX_PICKLE_BYTES:
        raise RefusedPickle(f"the pickle is larger than {MAX_PICKLE_BYTES >> 20} MiB")
    return loads(data, encoding=encoding)


def read_path(path: str | Path) -> bytes:
    """The bytes of a regular pickle file, at most :data:`MAX_PICKLE_BYTES` (a FIFO or device is refused)."""
    with open_regular(path) as file:
        data = file.read(MAX_PICKLE_BYTES + 1)
    if len(data) > MAX_PICKLE_BYTES:
        raise RefusedPickle(f"the pickle is larger than {MAX_PICKLE_BYTES >> 20} MiB")
    return data


def load_path(path: str | Path, encoding: str = "latin1") -> Any:
    """Unpickle a regular file (a FIFO or device is refused: it could block or never end)."""
    with open_regular(path) as file:
        return load(file, encoding=encoding)
