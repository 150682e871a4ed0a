"""Pieces of a provider's error dialect: picking its code for an error, reading violations."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from ..behaviour import ApiError
from ..validation import Violation

__all__ = ["error_code", "invalid", "status_name", "status_phrase"]


def error_code(
    err: ApiError,
    by_kind: Mapping[str, str],
    by_status: Mapping[int, str],
    default: str,
) -> str:
    """The provider's own code if the error carries one, else by the engine's kind, by the
    HTTP status (injected faults), and last `default`."""
    return err.code or by_kind.get(err.kind) or by_status.get(err.status) or default


def invalid(
    location: str, name: str, message: str, *, code: str | None = None, said: str | None = None
) -> ApiError:
    """A 400 refusing one field of the request as the engine's own checks do: with its
    violation (`location`, `name`, and `said`, else `message`) for the dialect to show."""
    violation = Violation(location, name, message if said is None else said)
    return ApiError(400, "invalid_request", message, code=code, violations=[violation])


def status_phrase(status: int, names: Mapping[int, str] | None = None) -> str:
    """HTTP's reason phrase for a status (`names` overrides it), or "Error"."""
    if names and status in names:
        return names[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def status_name(status: int, names: Mapping[int, str] | None = None) -> str:
    """A status's constant name, as Python's HTTPStatus and Java's HttpStatus write it
    (`NOT_FOUND`; `names` overrides it where they differ), or "UNKNOWN"."""
    if names and status in names:
        return names[status]
    try:
        return HTTPStatus(status).name
    except ValueError:
        return "UNKNOWN"
