"""A store that reports every write of a watched provider's records: the one place events
come from, whoever writes (a handler, the lifecycle, the admin API, the sweep)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, cast

from ..store import Record, Store

__all__ = ["Listener", "watch_store"]

JsonDict = dict[str, Any]


class Listener(Protocol):
    """What hears of a watched store's writes: the webhooks' `Hub`."""

    def changed(
        self, provider: str, tenant: str, before: JsonDict | None, after: JsonDict | None
    ) -> None:
        """A record of a watched provider was written (`before` None: created; `after`
        None: deleted)."""

    def kick(self) -> None:
        """The hooks' document changed: a provider's own API that registers a hook starts
        the sender, as the admin API does."""


# Read straight from the store underneath: bound once, so a read costs no extra call.
_READS = ("get", "locate", "list", "due", "page", "count", "read_doc", "get_value")


class WatchedStore:
    """Delegates everything to `inner`; after a record write of a watched provider succeeds it
    tells the `listener`, and after a change of the hooks' document (`hooks_doc`) too."""

    def __init__(
        self, inner: Store, providers: frozenset[str], listener: Listener, hooks_doc: str
    ) -> None:
        self.inner = inner
        self.watched = providers
        self.listener = listener
        self.hooks_doc = hooks_doc
        for name in _READS:
            setattr(self, name, getattr(inner, name))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def insert(self, provider: str, tenant: str, record_id: str, data: JsonDict) -> Record:
        record = self.inner.insert(provider, tenant, record_id, data)
        if provider in self.watched:
            self.listener.changed(provider, tenant, None, record.data)
        return record

    def replace(self, record: Record, data: JsonDict) -> Record:
        if record.provider not in self.watched:
            return self.inner.replace(record, data)
        before = self.inner.get(record.provider, record.tenant, record.id)
        written = self.inner.replace(record, data)
        earlier = None if before is None else before.data
        self.listener.changed(record.provider, record.tenant, earlier, written.data)
        return written

    def update_doc(self, name: str, change: Callable[[Any], Any]) -> Any:
        value = self.inner.update_doc(name, change)
        if name == self.hooks_doc:
            self.listener.kick()
        return value

    def delete(self, provider: str, tenant: str, record_id: str) -> bool:
        if provider not in self.watched:
            return self.inner.delete(provider, tenant, record_id)
        before = self.inner.get(provider, tenant, record_id)
        deleted = self.inner.delete(provider, tenant, record_id)
        if deleted and before is not None:
            self.listener.changed(provider, tenant, before.data, None)
        return deleted


_CLASSES: dict[type, type[WatchedStore]] = {}


def watch_store(
    inner: Store, providers: frozenset[str], listener: Listener, hooks_doc: str
) -> Store:
    """`inner`, watched for these providers. The wrapper's class carries the inner store's
    name, so that what reports the store kind (the health page) still names the real one."""
    kind = type(inner)
    if kind not in _CLASSES:
        _CLASSES[kind] = type(kind.__name__, (WatchedStore,), {})
    return cast(Store, _CLASSES[kind](inner, providers, listener, hooks_doc))
