"""The Qt side of CV Lens: panes and widgets that show core objects and call core functions."""
