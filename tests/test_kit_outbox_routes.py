"""kit.OutboxRoutes: an outbox's GET and DELETE admin routes, their filters and document."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from test_kit import _ctx
from test_kit_settings import FakeSite as SettingSite

from mockserver import kit
from mockserver.stores.memory import MemoryStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)
OUTBOX = kit.Outbox("t:outbox")
MESSAGE = kit.json_object({"to": kit.TEXT}, ["id", "to"])
ROUTES = kit.OutboxRoutes(
    OUTBOX,
    MESSAGE,
    {"to": ("Only messages to this address.", lambda m, to: m["to"] == to.lower())},
    tenant="Only messages sent for this client.",
)


class FakeSite(SettingSite):
    """An admin site whose contexts share one store."""

    def __init__(self, store: MemoryStore, query: dict[str, str]) -> None:
        super().__init__(query)
        self.store = store

    def context(self, tenant: str) -> Any:
        return SimpleNamespace(tenant=tenant, store=self.store)


def _sent(store: MemoryStore) -> None:
    for tenant, to in (("a", "x"), ("a", "y"), ("b", "x")):
        OUTBOX.send(_ctx(store, {None: T0}, tenant), {"to": to})


def _site(store: MemoryStore, query: dict[str, str]) -> FakeSite:
    routes = kit.AdminRoutes()
    ROUTES.declare(routes, "/outbox", listed=("getOutbox", "List"), deleted=("clear", "Clear"))
    site = FakeSite(store, query)
    routes.mount(site)  # type: ignore[arg-type]
    return site


def test_the_routes_are_declared_with_the_filters_as_query_parameters() -> None:
    routes = kit.AdminRoutes()
    ROUTES.declare(routes, "/outbox", listed=("getOutbox", "List"), deleted=("clear", "Clear"))
    (item,) = routes.paths.values()
    assert list(item) == ["parameters", "get", "delete"]
    assert [(p["name"], p["in"], p["description"]) for p in item["parameters"]] == [
        ("to", "query", "Only messages to this address."),
        ("tenant", "query", "Only messages sent for this client."),
    ]
    assert (item["get"]["operationId"], item["delete"]["summary"]) == ("getOutbox", "Clear")
    listed = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["properties"]["messages"]["items"] == MESSAGE
    assert item["delete"]["responses"]["200"] == {"$ref": "#/components/responses/Deleted"}


def test_the_messages_are_listed_newest_first_by_the_filters_given() -> None:
    store = MemoryStore()
    _sent(store)
    every = _site(store, {}).views["/outbox GET"]()
    assert every[0] == 200 and every[1]["total"] == 3
    assert [m["to"] for m in every[1]["messages"]] == ["x", "y", "x"]
    assert "_tenant" not in every[1]["messages"][0] and "tenant" in every[1]["messages"][0]
    by_to = _site(store, {"to": "X", "tenant": ""}).views["/outbox GET"]()  # empty: no filter
    assert by_to[1]["total"] == 2
    both = _site(store, {"to": "X", "tenant": "a"}).views["/outbox GET"]()
    assert [m["id"] for m in both[1]["messages"]] == [OUTBOX.messages(store)[0]["id"]]


def test_a_filtered_delete_deletes_the_messages_selected_and_none_clears_the_feed() -> None:
    store = MemoryStore()
    _sent(store)
    assert _site(store, {"tenant": "b"}).views["/outbox DELETE"]() == (200, {"deleted": 1})
    assert [m["_tenant"] for m in OUTBOX.messages(store)] == ["a", "a"]
    assert _site(store, {"to": "z"}).views["/outbox DELETE"]() == (200, {"deleted": 0})
    assert len(OUTBOX.messages(store)) == 2
    assert _site(store, {}).views["/outbox DELETE"]() == (200, {"deleted": 2})
    assert store.feed_read("t:outbox") == []  # cleared, no tombstone left
