"""Webhooks a provider's own API registers: one tenant's hooks in the generic registry (so the
sender delivers them and `/__admin/webhooks` lists them), and what a provider declares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ..behaviour import Context
from ..webhooks.model import Event, Hook, Signer, WebhookDef
from ..webhooks.registry import Registry
from .jwt import hmac_hex

__all__ = ["Event", "Hook", "TenantHooks", "WebhookDef", "body_signer", "status_events"]

JsonDict = dict[str, Any]
Detect = Callable[[JsonDict | None, JsonDict | None, datetime], list[Event]]


def status_events(
    created: str,
    changed: Callable[[str], str | None],
    payload: Callable[[JsonDict, str | None], Any],
    field: str = "status",
) -> Detect:
    """A `WebhookDef.events` for a consent's life: the event `created` when it is made, and
    `changed(new status)` when its status changes (None: that status sends none); nothing when
    the status stays or the consent is deleted. `payload(data, previous status or None)`."""

    def events(before: JsonDict | None, after: JsonDict | None, now: datetime) -> list[Event]:
        if after is None:
            return []
        if before is None:
            return [Event(created, payload(after, None))]
        kind = changed(str(after[field])) if after[field] != before[field] else None
        return [] if kind is None else [Event(kind, payload(after, str(before[field])))]

    return events


def body_signer(header: str, prefix: str = "") -> Signer:
    """A `WebhookDef.sign` whose one header is `prefix` and the hex HMAC-SHA256 of the body as
    sent, keyed by the hook's secret; during a secret change's grace period the previous
    secret still signs (the new one takes over when it ends)."""

    def sign(
        body: bytes, url: str, secret: str, previous_secret: str | None, now: datetime
    ) -> dict[str, str]:
        key = previous_secret if previous_secret is not None else secret
        return {header: prefix + hmac_hex(key, body)}

    return sign


class TenantHooks:
    """The hooks of the request's tenant of the request's provider: another tenant's hook is
    never found, removed or rotated (a foreign id is as unknown as a made-up one)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.registry = Registry(ctx.store)

    def all(self) -> list[Hook]:
        return self.registry.of(self.ctx.provider.name, self.ctx.tenant)

    def get(self, hook_id: str) -> Hook | None:
        hook = self.registry.get(hook_id)
        mine = hook is not None and (hook.provider, hook.tenant) == self._owner
        return hook if mine else None

    def add(self, url: str, secret: str, **options: Any) -> Hook:
        """Register a hook (options: `backup_url`, `events`, `metadata`, as `Hook` has them)."""
        provider, tenant = self._owner
        return self.registry.add(provider, tenant, url, secret, self.ctx.now, **options)

    def remove(self, hook_id: str) -> Hook | None:
        return self.registry.remove(hook_id) if self.get(hook_id) else None

    def rotate(self, hook_id: str, secret: str, grace: timedelta) -> Hook | None:
        """A new secret; the previous one is still given to the signer for `grace`."""
        if self.get(hook_id) is None:
            return None
        return self.registry.rotate(hook_id, secret, self.ctx.now, grace)

    @property
    def _owner(self) -> tuple[str, str]:
        return self.ctx.provider.name, self.ctx.tenant
