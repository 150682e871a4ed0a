"""The kit's cursor-paged lists: each page after the last record the cursor names."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from mockserver import kit
from mockserver.store import Record


class FakeCursors:
    """The part of `kit.Tickets` a cursor uses: `issue` a value, `peek` it again."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def issue(self, ctx: Any, value: Any) -> str:
        key = f"c{len(self.values)}"
        self.values[key] = value
        return key

    def peek(self, ctx: Any, key: str) -> Any:
        return self.values.get(key)


def _ctx(tenant: str, names: list[str]) -> Any:
    """A tenant's records in the list order, `listing` as the store pages them."""
    records = [
        Record("p", tenant, n, 1, {"name": n, "odd": i % 2 == 1}) for i, n in enumerate(names)
    ]
    calls: list[dict[str, Any]] = []

    def listing(keep: Any = None, limit: int | None = None, **paging: Any) -> Any:
        calls.append({"limit": limit, **paging})
        kept = [r for r in records if keep is None or keep(r.data)]
        return kept[:limit], len(kept)

    return SimpleNamespace(tenant=tenant, query={}, listing=listing, calls=calls)


def _key(data: kit.JsonDict) -> str:
    return str(data["name"])


def _after(filters: kit.Filters, ctx: Any, cursors: FakeCursors, cursor: str, **paging: Any) -> Any:
    return filters.after(ctx, cursors, cursor, _key, **paging)  # type: ignore[arg-type]


def test_a_cursor_pages_through_the_list_after_the_last_record_shown() -> None:
    ctx, cursors = _ctx("acme", ["a", "b", "c", "d", "e"]), FakeCursors()
    filters = kit.Filters({})
    page, total, cursor = _after(filters, ctx, cursors, "", status=None, limit=2)
    assert [r.id for r in page] == ["a", "b"] and total == 5
    assert ctx.calls == [{"limit": 2, "status": None}]  # the first page: the store reads it
    assert cursor is not None and cursors.values[cursor] == {"tenant": "acme", "after": "b"}
    page, total, cursor = _after(filters, ctx, cursors, cursor, status=None, limit=2)
    assert [r.id for r in page] == ["c", "d"] and total == 5 and cursor is not None
    page, _, cursor = _after(filters, ctx, cursors, cursor, status=None, limit=2)
    assert [r.id for r in page] == ["e"] and cursor is None  # the last page


def test_a_filtered_list_pages_the_records_kept_and_a_full_last_page_has_no_cursor() -> None:
    ctx, cursors = _ctx("acme", ["a", "b", "c", "d"]), FakeCursors()
    ctx.query = {"odd": True}
    filters = kit.Filters({"odd": kit.equal("odd")})
    page, total, cursor = _after(filters, ctx, cursors, "", limit=1)
    assert [r.id for r in page] == ["b"] and total == 2 and cursor is not None
    page, total, cursor = _after(filters, ctx, cursors, cursor, limit=1)
    assert [r.id for r in page] == ["d"] and total == 2 and cursor is None


def test_a_cursor_of_another_tenant_or_none_at_all_is_refused() -> None:
    cursors = FakeCursors()
    mine = cursors.issue(None, {"tenant": "acme", "after": "a"})
    filters = kit.Filters({})
    other = _ctx("globex", ["a", "b"])
    assert _after(filters, other, cursors, mine, limit=1) is None
    assert _after(filters, _ctx("acme", ["a"]), cursors, "nope", limit=1) is None
    unpositioned = cursors.issue(None, {"tenant": "acme"})
    assert _after(filters, _ctx("acme", ["a"]), cursors, unpositioned, limit=1) is None


def test_a_page_ordered_by_a_field_puts_nulls_first_and_keeps_ties_in_list_order() -> None:
    ctx = _ctx("acme", ["a", "b", "c", "d", "e"])
    values = {"a": 2, "b": None, "c": 1, "d": 2, "e": None}
    for record in ctx.listing()[0]:
        record.data["rank"] = values[record.id]
    filters = kit.Filters({})
    up, total = filters.ordered(ctx, "rank", status=None)
    assert [r.id for r in up] == ["b", "e", "c", "a", "d"] and total == 5
    down, _ = filters.ordered(ctx, "rank", descending=True)
    assert [r.id for r in down] == ["a", "d", "c", "b", "e"]
    page, total = filters.ordered(ctx, "rank", offset=1, limit=2)
    assert [r.id for r in page] == ["e", "c"] and total == 5
    assert ctx.calls[-1] == {"limit": None}  # the whole filtered set, not the page, is read
