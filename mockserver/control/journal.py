"""/__admin/requests: the journal of requests, filtered; the unmatched ones; clearing it."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response, jsonify, request

from .common import BadAdminRequest, Route, simulator

__all__ = ["ROUTES", "clear_journal", "journal", "unmatched"]


def _numbers(args: Mapping[str, str]) -> dict[str, int | None]:
    numbers: dict[str, int | None] = {}
    for name in ("limit", "after"):
        value = args.get(name)
        if value is not None and not value.isdigit():
            raise BadAdminRequest(f"{name} must be a non-negative integer")
        numbers[name] = int(value) if value is not None else None
    return numbers


def _flags(args: Mapping[str, str]) -> dict[str, bool | None]:
    flags: dict[str, bool | None] = {}
    for name in ("matched", "valid"):
        value = args.get(name)
        if value not in (None, "true", "false"):
            raise BadAdminRequest(f"{name} must be true or false")
        flags[name] = None if value is None else value == "true"
    return flags


def journal() -> Response:
    args = request.args
    status = args.get("status")
    if status is not None and not status.isdigit():
        raise BadAdminRequest("status must be an HTTP status code")
    numbers = _numbers(args)
    flags = _flags(args)
    entries = simulator().journal.entries(
        provider=args.get("provider"),
        operation=args.get("operation"),
        status=int(status) if status else None,
        since=args.get("since"),
        tenant=args.get("tenant"),
        limit=numbers["limit"],
        after=numbers["after"],
        matched=flags["matched"],
        valid=flags["valid"],
    )
    return jsonify({"requests": entries, "total": len(entries)})


def unmatched() -> Response:
    entries = simulator().journal.entries(matched=False, provider=request.args.get("provider"))
    return jsonify({"requests": entries, "total": len(entries)})


def clear_journal() -> Response:
    return jsonify({"deleted": simulator().journal.clear()})


ROUTES: list[Route] = [
    ("/requests", "GET", journal),
    ("/requests/unmatched", "GET", unmatched),
    ("/requests", "DELETE", clear_journal),
]
