"""The end user's journey: its server-side state, and what a provider's pages may use."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..behaviour import Context
from ..store import Record

__all__ = ["Site", "Tickets", "is_http_url", "with_params"]

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


class Tickets:
    """Single-use values kept server-side for a while: a journey's state (the page carries only
    its key), a one-time code, a temporary token. `lifetime` None: until used."""

    def __init__(self, namespace: str, lifetime: timedelta | None = timedelta(hours=1)) -> None:
        self.namespace = namespace
        self.lifetime = lifetime

    def issue(self, ctx: Context, state: Any, key: str | None = None) -> str:
        """Keep `state` under `key` (a fresh random one by default); the key."""
        key = key or secrets.token_urlsafe(16)
        expires = None if self.lifetime is None else ctx.now + self.lifetime
        ctx.store.put_value(self.namespace, key, state, expires)
        return key

    def peek(self, ctx: Context, key: str) -> Any:
        return ctx.store.get_value(self.namespace, key, ctx.now) if key else None

    def take(self, ctx: Context, key: str, **expect: Any) -> Any:
        """The state, once, if it holds every `expect`ed field (else it is left alone): a second
        use of the same key, or one that lost a race for it, finds nothing."""
        found = self.peek(ctx, key)
        if found is None or any(
            not isinstance(found, dict) or found.get(k) != v for k, v in expect.items()
        ):
            return None
        return ctx.store.take_value(self.namespace, key, ctx.now)


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
