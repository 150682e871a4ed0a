"""Registered webhook endpoints, in one store document so that every worker sees the same."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..clock import format_instant
from ..journal import fingerprint
from ..store import Store
from .model import Hook

__all__ = ["DOC", "ROTATION_GRACE", "Registry", "shown"]

DOC = "webhooks"
ROTATION_GRACE = timedelta(hours=24)


def _load(item: dict[str, Any]) -> Hook:
    events = item.get("events")
    return Hook(**{**item, "events": None if events is None else tuple(events)})


def _dump(hook: Hook) -> dict[str, Any]:
    data = asdict(hook)
    data["events"] = None if hook.events is None else list(hook.events)
    return data


def shown(hook: Hook) -> dict[str, Any]:
    """A hook as the admin API lists it: secrets as fingerprints, never in clear."""
    data = _dump(hook)
    data["secret"] = fingerprint(hook.secret)
    if hook.previous_secret is not None:
        data["previous_secret"] = fingerprint(hook.previous_secret)
    return {
        "id": data["id"],
        "provider": data["provider"],
        "tenant": data["tenant"],
        "url": data["url"],
        "backupUrl": data["backup_url"],
        "events": data["events"],
        "metadata": data["metadata"],
        "created": data["created"],
        "secret": data["secret"],
        "previousSecret": data["previous_secret"],
        "previousSecretUntil": (
            None
            if hook.previous_until is None
            else format_instant(datetime.fromtimestamp(hook.previous_until, tz=UTC))
        ),
    }


class Registry:
    """Add, find, rotate and remove hooks; each change is one atomic update of the document."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def all(self) -> list[Hook]:
        doc = self.store.read_doc(DOC)
        return [_load(item) for item in (doc or {}).get("hooks", ())]

    def of(self, provider: str, tenant: str) -> list[Hook]:
        return [h for h in self.all() if h.provider == provider and h.tenant == tenant]

    def get(self, hook_id: str) -> Hook | None:
        return next((h for h in self.all() if h.id == hook_id), None)

    def add(
        self,
        provider: str,
        tenant: str,
        url: str,
        secret: str,
        now: datetime,
        **options: Any,
    ) -> Hook:
        hook = Hook(
            id=str(uuid.uuid4()),
            provider=provider,
            tenant=tenant,
            url=url,
            secret=secret,
            created=format_instant(now),
            **options,
        )

        def change(doc: Any) -> Any:
            hooks = list((doc or {}).get("hooks", ()))
            return {"hooks": [*hooks, _dump(hook)]}

        self.store.update_doc(DOC, change)
        return hook

    def remove(self, hook_id: str) -> Hook | None:
        return self._change_one(hook_id, lambda old: None)

    def rotate(
        self, hook_id: str, secret: str, now: datetime, grace: timedelta = ROTATION_GRACE
    ) -> Hook | None:
        """A new secret; the one it replaces is still signed with for `grace` (simulated)."""
        until = (now + grace).timestamp() if grace > timedelta(0) else None

        def rotated(old: Hook) -> Hook:
            return replace(old, secret=secret, previous_secret=old.secret, previous_until=until)

        changed = self._change_one(hook_id, rotated)
        return None if changed is None else rotated(changed)

    def _change_one(self, hook_id: str, change: Callable[[Hook], Hook | None]) -> Hook | None:
        """Replace hook `hook_id` by `change(hook)` (None: remove it) in one store update;
        answers the hook as it was, or None if there is none."""
        found: list[Hook] = []

        def update(doc: Any) -> Any:
            found.clear()
            hooks = []
            for item in (doc or {}).get("hooks", ()):
                if item["id"] == hook_id:
                    found.append(_load(item))
                    new = change(found[0])
                    if new is None:
                        continue
                    item = _dump(new)
                hooks.append(item)
            return {"hooks": hooks}

        self.store.update_doc(DOC, update)
        return found[0] if found else None
