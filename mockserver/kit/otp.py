"""One-time codes a login 'sends' to a phone or an e-mail, and the outbox that holds them."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import datetime, timedelta
from typing import Any

from ..behaviour import Context
from ..clock import format_instant
from ..credentials import same_secret
from ..journal import fingerprint
from ..store import Store
from .shapes import public

__all__ = ["OneTimeCodes", "Outbox"]

JsonDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class OneTimeCodes:
    """Numeric codes of `length` digits, live `lifetime` on the tenant's clock, each sent to
    one or more recipients (keys the provider makes: a phone number, an e-mail address). The
    latest code of a recipient is the live one; using it through one recipient spends it for
    the others it was sent to. A recipient that was ever sent a code is `known` in `known`
    (a namespace of its own, kept for good)."""

    namespace: str
    lifetime: timedelta
    _: KW_ONLY
    known: str
    length: int = 6

    def send(self, ctx: Context, recipients: Sequence[str]) -> tuple[str, datetime]:
        """A new code for every recipient (replacing each one's previous code); its expiry."""
        code = "".join(secrets.choice("0123456789") for _ in range(self.length))
        keys, expires = list(recipients), ctx.now + self.lifetime
        for key in keys:
            ctx.store.put_value(self.namespace, key, {"otp": code, "keys": keys}, expires)
            ctx.store.put_value(self.known, key, True, None)
        return code, expires

    def sent_to(self, ctx: Context, recipients: Sequence[str]) -> bool:
        """Whether any of the recipients was ever sent a code."""
        return any(ctx.store.get_value(self.known, key, ctx.now) for key in recipients)

    def use(self, ctx: Context, recipients: Sequence[str], code: str) -> bool:
        """Spend `code` if it is the live code of one of the recipients: once, also for every
        other recipient it was sent to (the same code sent to the other channel). False when
        it is none's."""
        for key in recipients:
            entry = ctx.store.get_value(self.namespace, key, ctx.now)
            if not entry or not same_secret(entry["otp"], code):
                continue
            taken = ctx.store.take_value(self.namespace, key, ctx.now)
            if taken and taken["otp"] == code:  # not lost to a request that used it meanwhile
                for other in taken["keys"]:
                    sibling = ctx.store.get_value(self.namespace, other, ctx.now)
                    if sibling and sibling["otp"] == code:
                        ctx.store.delete_value(self.namespace, other)
                return True
        return False


@dataclass(frozen=True, slots=True)
class Outbox:
    """The messages the simulator 'sent' (an SMS, an e-mail), in a store feed of at most
    `capacity` (the oldest dropped). Each message is one append, so none is lost between
    workers; deleting some appends a tombstone `{"_deleted": [ids]}` for the same reason."""

    feed: str
    capacity: int = 1000

    def send(self, ctx: Context, fields: JsonDict, expires: datetime | None = None) -> None:
        """Keep a message: a new `id`, the `fields`, `sentAt` (the tenant's clock), its
        `expiresAt` when it has one, and the tenant (`_tenant`, not shown)."""
        message = {"id": uuid.uuid4().hex, **fields, "sentAt": format_instant(ctx.now)}
        if expires is not None:
            message["expiresAt"] = format_instant(expires)
        ctx.store.feed_append(self.feed, {**message, "_tenant": ctx.tenant}, self.capacity)

    def messages(
        self, store: Store, keep: Callable[[JsonDict], bool] = lambda message: True
    ) -> list[JsonDict]:
        """The messages not deleted that `keep` selects, oldest first."""
        entries = store.feed_read(self.feed)
        deleted = {i for entry in entries for i in entry.get("_deleted", ())}
        return [m for m in entries if "_deleted" not in m and m["id"] not in deleted and keep(m)]

    @staticmethod
    def shown(message: JsonDict) -> JsonDict:
        """A message as the admin API shows it: its tenant as the journal shows a secret one
        (a fingerprint), the rest of its bookkeeping hidden."""
        return {**public(message), "tenant": fingerprint(message["_tenant"])}

    def delete(self, store: Store, ids: Sequence[str] | None) -> None:
        """Delete the messages of `ids` (None: every message, the feed cleared)."""
        if ids is None:
            store.feed_clear(self.feed)
        elif ids:
            store.feed_append(self.feed, {"_deleted": list(ids)}, self.capacity)
