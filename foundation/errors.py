"""The one family of user-facing errors: each message is one line naming what to fix.

The CLI prints ``error: <message>`` and exits 2 for any ``UserError`` (no traceback unless
``--debug``); anything else is a bug and exits 1.
"""

from __future__ import annotations


class UserError(ValueError):
    """A problem the user can fix (a flag, a file, the data); the message is one line."""


class ConfigError(UserError):
    """A flag or config value that cannot be used."""


class ZooError(UserError):
    """A method / vit-type / flag combination the model zoo cannot serve."""


class CheckpointError(UserError):
    """A checkpoint file that is missing or cannot be loaded as asked."""


class ClassFileError(UserError):
    """A class-name file that cannot be used."""


class DataError(UserError):
    """A problem with the data on disk (layout, pairing, unreadable files, label values)."""


class ResultsError(UserError):
    """A results folder that cannot be read or compared (tools/compare_runs.py)."""
