"""Where the bundled models and demos are: ``resources/`` of a checkout, else the installed package's data.

A checkout keeps them in ``resources/`` beside ``core/`` (the scripts write there); a wheel ships the same
folder as package data, ``cvlens/resources/`` (pyproject.toml maps one onto the other). Whatever lies under
it is found by globbing, never by a fixed list, so a new demo or model needs no code here.

The checkout is asked first: the data must belong to the code that runs, and a second checkout (a git
worktree) sharing one editable install would otherwise read the first one's models.
"""

from __future__ import annotations

import atexit
import contextlib
from functools import cache
from importlib import resources
from pathlib import Path

PACKAGE = "cvlens"
FOLDER = "resources"
_CHECKOUT = Path(__file__).resolve().parents[2]


class ResourcesMissing(FileNotFoundError):
    """The bundled models and demos are not installed; the message says where they were looked for."""


@cache
def resources_dir() -> Path:
    """The folder of the bundled models (``models/``) and demos (``demo/``), a real folder on disk.

    A checkout's ``resources/`` when this code runs from one (pyproject.toml beside it), else the installed
    ``cvlens`` package's data. A path that may not exist: :func:`bundled` says what is missing.
    """
    checkout = _CHECKOUT / FOLDER
    if (_CHECKOUT / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    return _package_data() or checkout


def _package_data() -> Path | None:
    """The installed package's ``resources`` folder as a filesystem path, or None when there is no package."""
    try:
        found = resources.files(PACKAGE) / FOLDER
    except ModuleNotFoundError:
        return None
    if isinstance(found, Path):  # an ordinary install: the folder itself
        return found
    # A zipped install (zipimport): the readers need real folders, so the tree is extracted once for the
    # process's life (Python 3.12+ extracts folders; before, as_file raises and the error says so).
    stack = contextlib.ExitStack()
    atexit.register(stack.close)
    return stack.enter_context(resources.as_file(found))


def bundled(*parts: str) -> Path:
    """A path inside the bundled resources (``bundled("demo", "digits")``); ResourcesMissing when it is not
    there, saying where it was looked for and how to get it."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        where = "/".join(parts) or FOLDER
        raise ResourcesMissing(
            f"the bundled {where} is not installed (looked in {path}); reinstall CV Lens from its wheel or a "
            "checkout, or open a dataset folder of your own"
        )
    return path


def is_installed_data(path: str | Path) -> bool:
    """Whether ``path`` lies inside an installed package's bundled resources (not a checkout's): files there
    belong to the installation and are not written into (pip would leave them behind on uninstall)."""
    root = resources_dir()
    if root == _CHECKOUT / FOLDER and (_CHECKOUT / "pyproject.toml").is_file():
        return False
    try:
        Path(path).resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True
