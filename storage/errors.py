"""The errors storage raises, so callers never handle a driver's exceptions."""

from __future__ import annotations


class StorageError(Exception):
    """The database cannot be used as asked: unreadable, failed migration, or a newer schema."""


class RecordNotFound(StorageError, LookupError):
    """A write named a respondent or session that does not exist."""
