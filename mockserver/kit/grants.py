"""Single-use keys that name one consent of one tenant: authorisation codes, one-time tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..behaviour import Context
from ..store import Record
from .journey import Tickets

__all__ = ["Grants"]


@dataclass(slots=True)
class Grants(Tickets):
    """`Tickets` whose state names a record of the tenant that was given the key: `grant` and
    `redeem` (taken once) or `names` (kept) find it again only for that tenant."""

    def grant(self, ctx: Context, record_id: str, key: str | None = None, **extra: Any) -> str:
        """A key (`key`, else a fresh random one) naming the tenant's record `record_id`, with
        `extra` fields that `redeem` may expect."""
        return self.issue(ctx, {"tenant": ctx.tenant, "consentId": record_id, **extra}, key)

    def redeem(self, ctx: Context, key: str, **expect: Any) -> Record | None:
        """The record a key granted to this tenant names, the key taken once (when it holds
        every `expect`ed field); None: unknown, used, another tenant's, or the record gone."""
        entry = self.take(ctx, key, tenant=ctx.tenant, **expect)
        return ctx.fetch(str(entry["consentId"])) if entry else None

    def names(self, ctx: Context, key: str) -> str | None:
        """The id of the record a key granted to this tenant names (the key kept); else None."""
        entry = self.peek(ctx, key)
        mine = isinstance(entry, dict) and entry.get("tenant") == ctx.tenant
        return str(entry["consentId"]) if mine else None
