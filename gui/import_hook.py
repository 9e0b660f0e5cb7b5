"""PySide6's look at every imported module, made cheap (applied when ``gui`` is imported).

Importing PySide6.QtCore replaces ``builtins.__import__``: after each module's first import, shiboken's
``feature_imported`` asks ``_mod_uses_pyside(module)`` whether the module's source mentions "PySide6", for
PySide's opt-in ``from __feature__ import snake_case, true_property`` (a module that mentions it gets feature
set 0, any other -1, "ignore"). It answers with ``inspect.getsource``: linecache reads the file, tokenize
detects its encoding, the lines are split and searched. Every module imported after Qt pays it: the panes'
300 modules at start-up, and the ~2,000 of torch and torchvision that the runner imports. Measured on 2 cores:
``import torch, torchvision`` on a thread took 6.9 s with PySide6 imported first and 5.3 s without.

:func:`lighten` answers the same question from the file's bytes (one read and a byte search). The answer is
the same for every module with a ``.py`` file; a module without one (built in, an extension, frozen, in a zip)
is "does not use PySide" as before, except the rare zip-imported module that does, which CV Lens does not
have and which matters only to a module that selects a ``__feature__`` (CV Lens selects none).
"""

from __future__ import annotations

import sys

#: Where shiboken keeps ``_mod_uses_pyside`` (PySide6 6.x; see tests/gui/test_import_hook.py).
FEATURE_MODULE = "shibokensupport.feature"
NEEDLE = b"PySide6"


def mentions_pyside(module) -> bool:
    """Whether ``module``'s source file contains "PySide6" (False when it has no readable ``.py`` file)."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return False
    try:
        with open(path, "rb") as source:
            return NEEDLE in source.read()
    except OSError:
        return False


def lighten() -> bool:
    """Put :func:`mentions_pyside` in place of shiboken's check; False where this PySide6 has no such check."""
    import PySide6.QtCore  # noqa: F401  (installs shiboken's import hook and its feature module)

    feature = sys.modules.get(FEATURE_MODULE)
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = mentions_pyside
    return True
