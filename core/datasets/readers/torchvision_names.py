"""Class names and label tables as torchvision carries them, read without importing torch.

Importing ``torchvision.datasets`` takes seconds (it imports torch), which alone would break
the "opens in under a second" promise of the small datasets. The lists we need are plain
literals in torchvision's source (``MNIST.classes``, ``Flowers102.classes``,
``models._meta._IMAGENET_CATEGORIES``, ``Cityscapes.classes``), so we parse that source
with :mod:`ast` and evaluate only the literal. Nothing is executed. When torchvision is not
installed, or a later version moved the list, the caller gets None and falls back.
"""

from __future__ import annotations

import ast
import importlib.util
from functools import cache
from pathlib import Path
from typing import Any


def _source(module: str) -> ast.Module | None:
    """The parsed source of ``torchvision/<module>.py``, found without importing torchvision."""
    try:
        spec = importlib.util.find_spec("torchvision")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / f"{module.replace('.', '/')}.py"
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None


def _literal(node: ast.expr) -> Any:
    """A literal; a list of constructor calls with literal arguments becomes a list of tuples."""
    if isinstance(node, ast.List) and node.elts and all(isinstance(e, ast.Call) for e in node.elts):
        return [tuple(ast.literal_eval(arg) for arg in e.args) for e in node.elts]  # type: ignore[attr-defined]
    return ast.literal_eval(node)


def _assigned(body: list[ast.stmt], name: str) -> ast.expr | None:
    for statement in body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in statement.targets
        ):
            return statement.value
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.target.id == name
        ):
            return statement.value
    return None


@cache
def torchvision_literal(module: str, name: str, attribute: str | None = None) -> Any:
    """``torchvision.<module>.<name>`` (or ``<name>.<attribute>`` of a class), or None if not found.

    >>> torchvision_literal("datasets.mnist", "FashionMNIST", "classes")[0]  # doctest: +SKIP
    'T-shirt/top'
    """
    tree = _source(module)
    if tree is None:
        return None
    body: list[ast.stmt] = tree.body
    if attribute is not None:
        classes = [s for s in tree.body if isinstance(s, ast.ClassDef) and s.name == name]
        if not classes:
            return None
        body, name = classes[0].body, attribute
    node = _assigned(body, name)
    if node is None:
        return None
    try:
        return _literal(node)
    except (ValueError, TypeError, SyntaxError):
        return None


def class_names(module: str, name: str, attribute: str | None, count: int) -> list[str]:
    """A list of ``count`` names from torchvision, or "class 0", "class 1", ... when it is not there."""
    names = torchvision_literal(module, name, attribute)
    if isinstance(names, list) and len(names) == count and all(isinstance(n, str) for n in names):
        return list(names)
    return [f"class {i}" for i in range(count)]
