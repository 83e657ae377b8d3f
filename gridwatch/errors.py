"""One exception root for gridwatch.

Each class carries what the edges need: a CLI exit code, an HTTP status and an
OGC exception code, and a message that is safe to show a user. Where the meaning
matches, a class also inherits the matching builtin so callers can catch either.
"""

from __future__ import annotations


class GridwatchError(Exception):
    """Root of every error gridwatch raises on purpose."""

    exit_code: int = 1
    http_status: int = 500
    ogc_code: str = "NoApplicableCode"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class ConfigError(GridwatchError, ValueError):
    """A setting is missing or wrong."""

    exit_code = 2


class MissingDependencyError(GridwatchError, FileNotFoundError):
    """A program gridwatch needs (PostgreSQL, PostGIS, Python 3.12) is not installed."""

    exit_code = 3


class DatabaseError(GridwatchError, ConnectionError):
    """The database cannot be reached or refused an operation."""

    exit_code = 4
    http_status = 503
    ogc_code = "ServiceUnavailable"


class InputError(GridwatchError, ValueError):
    """A user-supplied file or value is wrong; nothing was written."""

    exit_code = 2
    http_status = 400
    ogc_code = "InvalidParameterValue"


class ValidationFailed(InputError):
    """Rows of an input file failed validation; carries the row-level report."""

    def __init__(self, message: str, report: object, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report
