"""What goes wrong with a dataset: the whole of it (it cannot be opened) or one sample (it cannot be decoded)."""

from __future__ import annotations


class DatasetError(Exception):
    """A dataset that cannot be opened: the message says which file and what is wrong."""


class SampleError(Exception):
    """One sample that cannot be decoded. Shown on its tile and counted, never fatal."""
