"""Reading a tenant's consents: one by id or a 404 in the provider's words; filtered pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ..behaviour import ApiError, Context
from ..store import Record
from ..validation import Violation

__all__ = ["filtered_page", "missing_property", "owned"]

JsonDict = dict[str, Any]
_REQUIRED = re.compile(r"'([^']+)' is a required property")


def owned(ctx: Context, missing: Callable[[str], ApiError], param: str = "consentId") -> Record:
    """The tenant's record the path names, brought up to the clock; else the provider's 404."""
    record_id = str(ctx.path[param])
    record = ctx.fetch(record_id)
    if record is None:
        raise missing(record_id)
    return record


def filtered_page(
    ctx: Context,
    filters: Iterable[str],
    matches: Callable[[JsonDict], bool],
    **paging: Any,
) -> tuple[list[Record], int]:
    """A page of `ctx.listing`; `matches` is applied only when the query names a filter
    (without one, the store's index serves the page and reads only its records)."""
    keep = matches if any(name in ctx.query for name in filters) else None
    return ctx.listing(keep=keep, **paging)


def missing_property(violation: Violation) -> str | None:
    """The property a `required` violation says is missing, if it is one."""
    found = _REQUIRED.match(violation.message)
    return found.group(1) if found else None
