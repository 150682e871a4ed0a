"""The Redis store's connection, its registered scripts and the names of its keys."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ...store import (
    KeyFunction,
)
from . import scripts

if TYPE_CHECKING:
    import redis

__all__ = ["RedisBase"]


def key_part(text: str) -> str:
    """A key component that is followed by another: `:` cannot occur in it, so keys never clash."""
    return text.replace("%", "%25").replace(":", "%3A")


def as_int(reply: Any) -> int:
    """Replies typed loosely by redis-py (it depends on its version): one conversion each."""
    return int(reply)


def as_text(reply: Any) -> str | None:
    return None if reply is None else str(reply)


def glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def connect(url: str) -> redis.Redis:
    try:
        import redis
    except ImportError:
        raise ImportError(
            "the redis store needs the redis package: pip install 'consent-mockserver[redis]'"
        ) from None
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5)


class RedisBase:
    """What every part of `RedisStore` builds on: one connection pool per process, the scripts
    registered once, and every key under the prefix."""

    def __init__(self, url: str, *, prefix: str | None = None) -> None:
        self._redis = connect(url)
        self._local = threading.local()
        options = self._redis.connection_pool.connection_kwargs
        db = int(options.get("db", 0) or 0)
        where = f"{options.get('host', 'localhost')}:{options.get('port', 6379)}/{db}"
        self.prefix = prefix if prefix is not None else f"mockserver:{db}"
        import redis

        try:
            self._redis.ping()
        except redis.RedisError as exc:
            self._redis.close()
            raise ConnectionError(f"redis store at {where} does not answer: {exc}") from None
        script = self._redis.register_script
        self._insert = script(scripts.INSERT)
        self._replace = script(scripts.REPLACE)
        self._delete = script(scripts.DELETE)
        self._rekey = script(scripts.REKEY)
        self._page = script(scripts.PAGE)
        self._due = script(scripts.DUE)
        self._feed_append = script(scripts.FEED_APPEND)
        self._feed_clear = script(scripts.FEED_CLEAR)
        self._keys: dict[str, KeyFunction] = {}
        self._list = script(scripts.LIST)
        self._recount_tenants = script(scripts.RECOUNT_TENANTS)
        self._put_expiring = script(scripts.PUT_EXPIRING)
        self._claim = script(scripts.CLAIM)
        self._journal_append = script(scripts.JOURNAL_APPEND)
        self._journal_clear = script(scripts.JOURNAL_CLEAR)
        self._fault_add = script(scripts.FAULT_ADD)
        self._fault_hit = script(scripts.FAULT_HIT)
        self._fault_remove_all = script(scripts.FAULT_REMOVE_ALL)
        self._clear = script(scripts.CLEAR)
        self._queue_push = script(scripts.QUEUE_PUSH)
        self._queue_claim = script(scripts.QUEUE_CLAIM)
        self._queue_retry = script(scripts.QUEUE_RETRY)

    # -- keys -----------------------------------------------------------------------------------
    def _key(self, *parts: str) -> str:
        """The prefix, then every part but the last escaped, then the last one as it is."""
        return ":".join([self.prefix, *(key_part(p) for p in parts[:-1]), parts[-1]])

    def _record_key(self, provider: str, record_id: str) -> str:
        return self._key("rec", provider, record_id)

    def _tenant_key(self, provider: str, tenant: str) -> str:
        return self._key("ten", provider, tenant)
