"""Errors of the project store and the exporters; each message is written for the user to read."""

from __future__ import annotations


class StoreError(Exception):
    """The project store cannot do what was asked; ``str(error)`` says why and what happened to the data."""


class StoreReadOnlyError(StoreError):
    """A write to a store opened read-only (another copy of the app holds it, or its folder is read-only)."""


class StoreDamagedError(StoreError):
    """A read found the store damaged; it gets the full check when it is opened next (and is set aside then)."""


class StoreWriteError(StoreError):
    """A write failed (disk full, I/O error, folder read-only); nothing of it was saved."""


class ExportError(Exception):
    """An export that could not be written; nothing was left under the destination name."""
