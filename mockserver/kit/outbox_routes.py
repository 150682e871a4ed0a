"""An outbox's admin routes: the messages 'sent', listed newest first or deleted, by filters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .admin_doc import TEXT, answer, json_object, parameter
from .admin_routes import AdminRoutes
from .journey import Site
from .otp import Outbox

__all__ = ["OutboxRoutes"]

JsonDict = dict[str, Any]
Match = Callable[[JsonDict, str], bool]  # (a message, the query parameter's value) → kept
_DELETED: JsonDict = {"$ref": "#/components/responses/Deleted"}  # the admin document's own


@dataclass(frozen=True, slots=True)
class OutboxRoutes:
    """The admin routes of `outbox`, declared at a rule by `declare`: GET answers the messages
    selected, newest first, as {messages, total} (a message as `Outbox.shown` shows it,
    `message` its schema); DELETE deletes them (with no filter given, every message: the feed
    cleared) and answers {deleted}. `filters`: a query parameter → its description and whether
    a message matches its value (when given, not empty); `tenant` describes the one filter
    every outbox has, the tenant the message was sent for."""

    outbox: Outbox
    message: JsonDict
    filters: Mapping[str, tuple[str, Match]]
    tenant: str

    def _matches(self) -> dict[str, Match]:
        matches = {name: match for name, (_, match) in self.filters.items()}
        return {**matches, "tenant": lambda message, value: bool(message["_tenant"] == value)}

    def selected(self, site: Site) -> list[JsonDict]:
        """The messages that every filter given keeps, oldest first."""
        args = site.args()
        given = [(match, args[name]) for name, match in self._matches().items() if args.get(name)]
        return self.outbox.messages(
            site.context("").store, lambda m: all(match(m, value) for match, value in given)
        )

    def declare(
        self, routes: AdminRoutes, rule: str, listed: tuple[str, str], deleted: tuple[str, str]
    ) -> None:
        """The routes at `rule`; `listed` and `deleted` are the GET's and the DELETE's
        (operationId, summary)."""
        described = {name: text for name, (text, _) in self.filters.items()}
        described["tenant"] = self.tenant
        query = [
            parameter(name, "query", TEXT, description=text) for name, text in described.items()
        ]
        routes.shared(rule, query)
        items = {"messages": {"type": "array", "items": self.message}}
        body = json_object({**items, "total": {"type": "integer", "minimum": 0}})

        def listing(site: Site) -> Any:
            shown = [self.outbox.shown(m) for m in reversed(self.selected(site))]
            return site.json({"messages": shown, "total": len(shown)})

        def deleting(site: Site) -> Any:
            doomed = [m["id"] for m in self.selected(site)]
            filtered = any(site.args().get(name) for name in described)
            self.outbox.delete(site.context("").store, doomed if filtered else None)
            return site.json({"deleted": len(doomed)})

        listing.__name__, deleting.__name__ = listed[0], deleted[0]  # the sites' endpoints
        routes.route(rule, "get", *listed, responses={"200": answer("The messages.", body)})(
            listing
        )
        routes.route(rule, "delete", *deleted, responses={"200": _DELETED})(deleting)
