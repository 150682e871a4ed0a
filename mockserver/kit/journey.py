"""The end user's journey: its server-side state, and what a provider's pages may use."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import KW_ONLY, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..behaviour import Context
from ..store import Record
from .access import same_secret
from .bounds import next_slot, parse_slot

__all__ = ["Aliases", "Site", "Tickets", "is_http_url", "with_params"]

JsonDict = dict[str, Any]


class Site(Protocol):
    """What a provider's extra pages and routes get (under /__sandbox/<p> or /__admin/<p>):
    routes, the request's inputs, the consents through the lifecycle, and answers."""

    title: str

    def route(self, rule: str, methods: Iterable[str] = ("GET",)) -> Callable[[Any], Any]: ...
    def context(self, tenant: str) -> Context: ...
    def find(self, record_id: str) -> Record | None: ...
    def move(self, record_id: str, status: str, **options: Any) -> Record | None: ...
    def args(self) -> Mapping[str, str]: ...
    def form(self) -> Mapping[str, str]: ...
    def json_body(self) -> Any: ...
    def html(self, text: str, status: int = 200) -> Any: ...
    def json(self, body: Any, status: int = 200) -> Any: ...
    def redirect_to(self, url: str, params: Mapping[str, str]) -> Any: ...


@dataclass(slots=True)
class Tickets:
    """Single-use values kept server-side for a while: a journey's state (the page carries only
    its key), a one-time code, a temporary token. `lifetime` None: until used.

    With `per_owner`, `issue(..., owner=)` also keeps the owner's keys (with their expiry) in
    one index value per owner: each issue deletes the owner's expired values, so they are
    collected even by a store that never sweeps, and beyond `per_owner` live ones the oldest
    is deleted, so an owner holds at most `per_owner` values. Two issues racing for one owner
    may each miss the other's key in the index; such a value still expires by the clock.

    With `per_tenant`, at most that many are kept for a tenant (`ctx.tenant`): a new one
    retires the oldest, so a client cannot grow the store without end. The key handed out is
    then `<slot>.<random>`, and only the tenant it was issued to finds it again."""

    namespace: str
    lifetime: timedelta | None = timedelta(hours=1)
    _: KW_ONLY
    per_owner: int | None = None
    per_tenant: int | None = None

    def issue(
        self,
        ctx: Context,
        state: Any,
        key: str | None = None,
        *,
        owner: str | None = None,
        expires: datetime | None = None,
    ) -> str:
        """Keep `state` under `key` (a fresh random one by default) until `expires` (by default
        `lifetime` from now); the key. Issuing a key again replaces its state."""
        if expires is None and self.lifetime is not None:
            expires = ctx.now + self.lifetime
        if self.per_tenant is not None:
            if key is not None:
                raise ValueError("a bounded ticket's key is chosen by the ring, not given")
            slot = next_slot(ctx, self.namespace, ctx.tenant, self.per_tenant)
            secret = secrets.token_urlsafe(16)
            entry = {"key": secret, "state": state}
            ctx.store.put_value(self.namespace, f"{ctx.tenant}|{slot}", entry, expires)
            return f"{slot}.{secret}"
        key = key or secrets.token_urlsafe(16)
        ctx.store.put_value(self.namespace, key, state, expires)
        if owner is not None and self.per_owner:
            self._remember(ctx, owner, key, expires)
        return key

    def _remember(self, ctx: Context, owner: str, key: str, expires: datetime | None) -> None:
        index = f"{self.namespace}:owner"
        held = ctx.store.get_value(index, owner, ctx.now)
        kept: list[list[Any]] = []
        for entry in held if isinstance(held, list) else []:
            old, until = str(entry[0]), entry[1]
            if old == key:
                continue
            if until is not None and datetime.fromisoformat(until) <= ctx.now:
                ctx.store.delete_value(self.namespace, old)  # expired: collect it now
            else:
                kept.append([old, until])
        kept.append([key, None if expires is None else expires.isoformat()])
        while len(kept) > (self.per_owner or 0):
            ctx.store.delete_value(self.namespace, str(kept.pop(0)[0]))
        # The index never expires: it must outlive what it lists, to collect it. One per owner.
        ctx.store.put_value(index, owner, kept, None)

    def first(self, ctx: Context, key: str, *, owner: str | None = None) -> bool:
        """Whether this is the first use of `key`, atomically across workers (a single-use
        token that is not itself stored: a signed one); remembered `lifetime` from now, through
        the owner's index (so collected) when the tickets are bounded per owner."""
        mark = secrets.token_urlsafe(12)
        if ctx.store.claim_value(self.namespace, key, mark, ctx.now) != mark:
            return False
        if owner is not None and self.per_owner:
            expires = None if self.lifetime is None else ctx.now + self.lifetime
            self._remember(ctx, owner, key, expires)
        return True

    def _stored_key(self, ctx: Context, key: str) -> tuple[str, str | None]:
        """Where the ticket is stored, and the secret part its entry must hold (bounded)."""
        if self.per_tenant is None:
            return key, None
        slot_text, _, secret = key.partition(".")
        slot = parse_slot(slot_text, self.per_tenant)
        return ("", None) if slot is None or not secret else (f"{ctx.tenant}|{slot}", secret)

    def peek(self, ctx: Context, key: str) -> Any:
        stored, secret = self._stored_key(ctx, key) if key else ("", None)
        if not stored:
            return None
        found = ctx.store.get_value(self.namespace, stored, ctx.now)
        if found is None and self.lifetime is not None:  # absent, or expired: collect it now
            ctx.store.delete_value(self.namespace, stored)
        if secret is None or found is None:
            return found
        held = found.get("key") if isinstance(found, dict) else None
        return found["state"] if same_secret(held, secret) else None

    def take(self, ctx: Context, key: str, **expect: Any) -> Any:
        """The state, once, if it holds every `expect`ed field (else it is left alone): a second
        use of the same key, or one that lost a race for it, finds nothing."""
        found = self.peek(ctx, key)
        if found is None or any(
            not isinstance(found, dict) or found.get(k) != v for k, v in expect.items()
        ):
            return None
        stored, secret = self._stored_key(ctx, key)
        taken = ctx.store.take_value(self.namespace, stored, ctx.now)
        if secret is None:
            return taken
        # A ticket issued into the same slot between the peek and the take is not ours.
        return taken["state"] if isinstance(taken, dict) and taken.get("key") == secret else None


@dataclass(frozen=True, slots=True)
class Aliases:
    """Two names of one thing, per tenant (a user's id here and the client's own id for it):
    once given together, either finds the other, for as long as the store keeps its values.
    `kinds` prefixes the stored keys of the first and the second name."""

    namespace: str
    kinds: tuple[str, str] = ("first", "second")

    def resolve(
        self, ctx: Context, first: str | None, second: str | None, new: Callable[[], str]
    ) -> tuple[str, str] | None:
        """Both names of what `first` and `second` (either may be None) name: one not given is
        the known one, else `new()` for the first and "" for the second. None when both are
        given and either is known with another partner."""
        where, (one, two) = f"{self.namespace}:{ctx.tenant}", self.kinds
        known_first = ctx.store.get_value(where, f"{two}:{second}", ctx.now) if second else None
        known_second = ctx.store.get_value(where, f"{one}:{first}", ctx.now) if first else None
        if first and second:
            if (known_first and known_first != first) or (known_second and known_second != second):
                return None
        first, second = first or known_first or new(), second or known_second or ""
        ctx.store.put_value(where, f"{one}:{first}", second, None)
        if second:
            ctx.store.put_value(where, f"{two}:{second}", first, None)
        return first, second


def with_params(url: str, params: Mapping[str, str], *, fragment: bool = False) -> str:
    """The URL with parameters added to its query (or its fragment)."""
    parts = urlsplit(url)
    if fragment:
        merged = urlencode([*parse_qsl(parts.fragment), *params.items()])
        return urlunsplit(parts._replace(fragment=merged))
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
