"""Pieces of a provider's error dialect: picking its code for an error, reading violations,
status names, RFC 7807 problem details."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from ..behaviour import ApiError, ErrorScope, Reply
from ..validation import Violation
from .listing import missing_property

__all__ = ["error_code", "explain", "invalid", "problem_details", "status_name", "status_phrase"]

_RFC9110 = "https://tools.ietf.org/html/rfc9110#section-"
_SECTIONS = {400: "15.5.1", 401: "15.5.2", 403: "15.5.4", 404: "15.5.5", 405: "15.5.6"}
_SECTIONS |= {409: "15.5.10", 412: "15.5.13", 413: "15.5.14", 415: "15.5.16", 500: "15.6.1"}


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
    return _status_word(status, names, "phrase", "Error")


def status_name(status: int, names: Mapping[int, str] | None = None) -> str:
    """A status's constant name, as Python's HTTPStatus and Java's HttpStatus write it
    (`NOT_FOUND`; `names` overrides it where they differ), or "UNKNOWN"."""
    return _status_word(status, names, "name", "UNKNOWN")


def _status_word(status: int, names: Mapping[int, str] | None, word: str, unknown: str) -> str:
    """`names`' word for a status, else HTTPStatus's `word` attribute, else `unknown`."""
    if names and status in names:
        return names[status]
    try:
        return str(getattr(HTTPStatus(status), word))
    except ValueError:
        return unknown


def _problem_type(status: int) -> str:
    """The `type` ASP.NET Core gives a status: its section of RFC 9110 (428: RFC 6585's)."""
    if status == 428:
        return "https://tools.ietf.org/html/rfc6585#section-3"
    return _RFC9110 + _SECTIONS[status] if status in _SECTIONS else "about:blank"


def problem_details(
    err: ApiError, scope: ErrorScope, describe: Callable[[Violation], str] | None = None
) -> Reply:
    """RFC 7807 problem details, as an ASP.NET Core service writes them. A refused request
    (violations) is its validation problem: `errors` by field, each violation in the words
    `describe` gives it (its message by default); where those differ from the message, they
    are the `detail` too (the last such)."""
    validation = err.kind == "invalid_request" and bool(err.violations)
    hexed = scope.request_id.replace("-", "")
    body: dict[str, Any] = {
        "type": _problem_type(err.status),
        "title": "One or more validation errors occurred."
        if validation
        else status_phrase(err.status),
        "status": err.status,
        "detail": err.message,
        "instance": scope.path,
        "traceId": f"00-{hexed}-{hexed[:16]}-01",  # a W3C traceparent, as ASP.NET Core's
    }
    if validation:
        errors: dict[str, list[str]] = {}
        for violation in err.violations:
            message = describe(violation) if describe else violation.message
            errors.setdefault(violation.name or violation.location, []).append(message)
            if message != violation.message:
                body["detail"] = message
        body["errors"] = errors
    return Reply(err.status, body, media_type="application/problem+json")
