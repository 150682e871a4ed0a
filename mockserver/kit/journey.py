"""The end user's journey: its server-side state, and what a provider's pages may use."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..behaviour import Context
from ..store import Record

__all__ = ["Journey", "Site", "is_http_url", "with_params"]

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


class Journey:
    """A journey's state kept server-side for a while; the page carries only its key."""

    def __init__(self, namespace: str, lifetime: timedelta = timedelta(hours=1)) -> None:
        self.namespace = namespace
        self.lifetime = lifetime

    def start(self, ctx: Context, state: Any) -> str:
        key = secrets.token_urlsafe(16)
        ctx.store.put_value(self.namespace, key, state, ctx.now + self.lifetime)
        return key

    def peek(self, ctx: Context, key: str) -> Any:
        return ctx.store.get_value(self.namespace, key, ctx.now) if key else None

    def take(self, ctx: Context, key: str) -> Any:
        """The state, once: a second decision with the same key finds nothing."""
        return ctx.store.take_value(self.namespace, key, ctx.now) if key else None


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
