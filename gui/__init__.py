"""The Qt side of CV Lens: panes and widgets that show core objects and call core functions."""

from gui.import_hook import lighten

lighten()  # before the panes' modules: PySide6's per-module check of every later import, made cheap
