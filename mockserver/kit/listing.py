"""Reading a tenant's consents: one by id or a 404 in the provider's words; filtered pages."""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..behaviour import ApiError, Context, sort_stamp
from ..clock import parse_instant
from ..store import Record
from ..validation import Violation
from .journey import Tickets

__all__ = [
    "Filters",
    "equal",
    "missing_property",
    "one_of",
    "order_by",
    "order_clause",
    "owned",
    "since",
    "until",
]

JsonDict = dict[str, Any]
Check = Callable[[JsonDict, Any], bool]
_REQUIRED = re.compile(r"'([^']+)' is a required property")


def owned(ctx: Context, missing: Callable[[str], ApiError], param: str = "consentId") -> Record:
    """The tenant's record the path names, brought up to the clock; else the provider's 404."""
    record_id = str(ctx.path[param])
    record = ctx.fetch(record_id)
    if record is None:
        raise missing(record_id)
    return record


class Filters:
    """A list's filters: query parameter → does a record's data match the parameter's value.

    The store's index serves the status and the order; these are applied to each record of
    that status, and only when the query names one (else the store reads just the page)."""

    def __init__(self, checks: Mapping[str, Callable[[JsonDict, Any], bool]]) -> None:
        self.checks = dict(checks)

    def keep(self, query: Mapping[str, Any]) -> Callable[[JsonDict], bool] | None:
        given = [(check, query[name]) for name, check in self.checks.items() if name in query]
        if not given:
            return None
        return lambda data: all(check(data, value) for check, value in given)

    def page(self, ctx: Context, **paging: Any) -> tuple[list[Record], int]:
        """A page of `ctx.listing`, filtered by what `ctx.query` names."""
        return ctx.listing(keep=self.keep(ctx.query), **paging)

    def ordered(
        self,
        ctx: Context,
        field: str,
        *,
        descending: bool = False,
        offset: int = 0,
        limit: int | None = None,
        **paging: Any,
    ) -> tuple[list[Record], int]:
        """A page ordered by `field` rather than the list order: a missing or null value first
        ascending, last descending (as SQL Server orders), ties in the list order. The filtered
        set is read (`paging`: `status`); a heap keeps only up to the page's end."""
        records, total = self.page(ctx, **paging)
        pick = heapq.nlargest if descending else heapq.nsmallest
        end = len(records) if limit is None else offset + limit
        return pick(end, records, key=lambda r: _nulls_first(r.data.get(field)))[offset:], total

    def after(
        self,
        ctx: Context,
        cursors: Tickets,
        cursor: str,
        order_key: Callable[[JsonDict], str],
        **paging: Any,
    ) -> tuple[list[Record], int, str | None] | None:
        """A cursor-paged list: the page after `cursor` (a key `cursors` issued to this
        tenant, holding the order key of the last record shown; empty: the first page, the
        store reading just it), its total, and the next page's cursor (None: the last page);
        None for a cursor that is not one of the tenant's. `paging`: `status`, `limit`."""
        limit = paging.pop("limit")
        if cursor:
            position = cursors.peek(ctx, cursor)
            if not position or position.get("tenant") != ctx.tenant or "after" not in position:
                return None
            everything, total = self.page(ctx, **paging)
            later = [r for r in everything if order_key(r.data) > position["after"]]
            page, more = later[:limit], len(later) > limit
        else:
            page, total = self.page(ctx, limit=limit, **paging)
            more = total > len(page)
        if not more:
            return page, total, None
        last = {"tenant": ctx.tenant, "after": order_key(page[-1].data)}
        return page, total, cursors.issue(ctx, last)


def _nulls_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, "" if value is None else value)


def equal(field: str, *, fold: bool = False) -> Check:
    """A filter: the record's field is the parameter's value (with `fold`, as lower-case text,
    a missing field as empty)."""
    if fold:
        return lambda data, value: str(data.get(field) or "").lower() == str(value).lower()
    return lambda data, value: data.get(field) == value


def one_of(field: str, *, fold: bool = False) -> Check:
    """A filter: the record's field is one of the parameter's values (a list; with `fold`,
    compared as lower-case text)."""

    def case(value: Any) -> Any:
        return str(value).lower() if fold else value

    return lambda data, values: case(data.get(field)) in [case(v) for v in values]


def since(field: str) -> Check:
    """A filter: the instant in the record's field is the parameter's instant or later."""
    return lambda data, value: parse_instant(str(data[field])) >= parse_instant(str(value))


def until(field: str) -> Check:
    """A filter: the instant in the record's field is the parameter's instant or earlier."""
    return lambda data, value: parse_instant(str(data[field])) <= parse_instant(str(value))


def order_by(field: str, *, tie: str = "", newest_first: bool = False) -> Callable[[JsonDict], str]:
    """An `order_key`: the instant in `field` (oldest first, or newest), ties by `tie`'s value;
    without the instant, the stamp is empty (first, unless a tie is appended)."""

    def order_key(data: JsonDict) -> str:
        moment = data.get(field)
        stamp = sort_stamp(parse_instant(str(moment)), newest_first=newest_first) if moment else ""
        return stamp + (str(data[tie]) if tie else "")

    return order_key


def order_clause(value: str, fields: Iterable[str]) -> tuple[str, bool]:
    """An order parameter, `<field>[ asc|desc]` in any letter case (the spec's pattern has
    checked it): which of `fields` it names, and whether descending."""
    field, _, direction = value.partition(" ")
    named = {name.lower(): name for name in fields}
    return named[field.lower()], direction.lower() == "desc"


def missing_property(violation: Violation) -> str | None:
    """The property a `required` violation says is missing, if it is one."""
    found = _REQUIRED.match(violation.message)
    return found.group(1) if found else None
