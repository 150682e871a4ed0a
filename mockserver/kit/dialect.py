"""Pieces of a provider's error dialect: picking its code for an error, reading violations."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from ..behaviour import ApiError

__all__ = ["error_code", "status_phrase"]


def error_code(
    err: ApiError,
    by_kind: Mapping[str, str],
    by_status: Mapping[int, str],
    default: str,
) -> str:
    """The provider's own code if the error carries one, else by the engine's kind, by the
    HTTP status (injected faults), and last `default`."""
    return err.code or by_kind.get(err.kind) or by_status.get(err.status) or default


def status_phrase(status: int, names: Mapping[int, str] | None = None) -> str:
    """HTTP's reason phrase for a status (`names` overrides it), or "Error"."""
    if names and status in names:
        return names[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
