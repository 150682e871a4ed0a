"""Pieces of a provider's error dialect: picking its code for an error, reading violations."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from ..behaviour import ApiError
from ..validation import Violation
from .listing import missing_property

__all__ = ["error_code", "explain", "invalid", "status_phrase"]


def error_code(
    err: ApiError,
    by_kind: Mapping[str, str],
    by_status: Mapping[int, str],
    default: str,
) -> str:
    """The provider's own code if the error carries one, else by the engine's kind, by the
    HTTP status (injected faults), and last `default`."""
    return err.code or by_kind.get(err.kind) or by_status.get(err.status) or default


def explain(violation: Violation, said: Mapping[tuple[str, str], str]) -> str:
    """One violation in words a client developer can act on: the provider's own (`said`: the
    field and the schema keyword it broke → words), else "<property> is required" for a
    missing property, else "<field>: <the validator's message>"."""
    rule = violation.schema_path.rsplit("/", 1)[-1]
    field = violation.name.rsplit("/", 1)[-1] or violation.location
    if rule == "required":
        return f"{missing_property(violation)} is required"
    return said.get((field, rule)) or f"{field}: {violation.message}"


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
