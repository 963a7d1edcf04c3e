"""Errors raised while reading a challenge bundle or its data (no Django here)."""

from __future__ import annotations


class ChallengeDataError(ValueError):
    """Bad input for a challenge: a bundle, a data file or a split that cannot be made.

    The message names the file and, where there is one, the field, and says what was
    expected, so an organizer can fix it without reading code.
    """

    def __init__(self, file: str, message: str, *, field: str = "") -> None:
        self.file = file
        self.field = field
        self.detail = message
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {message}")

    @property
    def message(self) -> str:
        return str(self)


class BundleError(ChallengeDataError):
    """A bundle (folder or zip) that is malformed, unsafe or incomplete."""
