"""The errors storage raises, so callers never handle a driver's exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class StorageError(Exception):
    """The database cannot be used as asked: unreadable, failed migration, or a newer schema."""


class RecordNotFound(StorageError, LookupError):
    """A write named a respondent or session that does not exist."""


class ConstraintViolated(StorageError):
    """A write broke one of the schema's constraints; backends raise it for their driver's error."""


class MissingParent(ConstraintViolated):
    """A write referred to a row (by foreign key) that does not exist."""


class DuplicateKey(ConstraintViolated):
    """A write would have made two rows with the same unique key."""


@contextmanager
def not_found_if_missing_parent(message: str) -> Iterator[None]:
    """Report a write naming a row that does not exist (by foreign key) as RecordNotFound."""
    try:
        yield
    except MissingParent as error:
        raise RecordNotFound(message) from error
