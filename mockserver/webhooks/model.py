"""What a provider declares about its webhooks, a registered hook, and the generic signer."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = [
    "GENERIC_HEADER",
    "Event",
    "Hook",
    "Signer",
    "WebhookDef",
    "generic_sign",
    "generic_verify",
]

JsonDict = dict[str, Any]


@dataclass(slots=True, frozen=True)
class Event:
    """One thing that happened: its type (the provider's event name or category, or a name
    of ours where the provider has none) and its payload, as JSON-shaped data."""

    type: str
    payload: Any


@dataclass(slots=True, frozen=True)
class Hook:
    """A registered webhook endpoint of one tenant of one provider. `previous_secret` is still
    signed with until `previous_until` (epoch seconds on the tenant's simulated clock).
    `events` lists the event types it wants (None: all); `backup_url` is tried when `url`
    fails; `metadata` is the registrant's own data, for providers that echo it."""

    id: str
    provider: str
    tenant: str
    url: str
    secret: str
    created: str
    backup_url: str | None = None
    previous_secret: str | None = None
    previous_until: float | None = None
    events: tuple[str, ...] | None = None
    metadata: JsonDict = field(default_factory=dict)

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events

    def old_secret(self, now: datetime) -> str | None:
        """The previous secret while its grace period lasts (by the simulated clock)."""
        if self.previous_secret is None or self.previous_until is None:
            return None
        return self.previous_secret if now.timestamp() < self.previous_until else None


class Signer(Protocol):
    """Headers that sign one delivery: `body` exactly as sent, `url` the hook's registered URL,
    `previous_secret` given only during the grace period after a secret change."""

    def __call__(
        self, body: bytes, url: str, secret: str, previous_secret: str | None, now: datetime
    ) -> dict[str, str]: ...


Detect = Callable[[JsonDict | None, JsonDict | None, datetime], Iterable[Event]]


@dataclass(slots=True, frozen=True)
class WebhookDef:
    """A provider's webhooks. `events(before, after, now)` names the events one change of a
    consent produces (`before` None: created; `after` None: deleted; the stored data, as the
    lifecycle and handlers keep it). `sign` signs a delivery (None: the provider documents no
    signature, so none is sent). `envelope(event, hook)` is the body sent to one hook (default:
    the event's payload as it is)."""

    events: Detect
    sign: Signer | None = None
    envelope: Callable[[Event, Hook], Any] | None = None


GENERIC_HEADER = "X-Mockserver-Signature"


def _hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def generic_sign(
    body: bytes, url: str, secret: str, previous_secret: str | None, now: datetime
) -> dict[str, str]:
    """The simulator's own scheme, for deliveries of a provider that declares no webhooks (the
    admin API's test event): `t=<epoch>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>`, plus
    `,v0=<hex>` with the previous secret during its grace period."""
    stamp = int(now.timestamp())
    text = body.decode()
    value = f"t={stamp},v1={_hex(secret, f'{stamp}.{text}')}"
    if previous_secret is not None:
        value += f",v0={_hex(previous_secret, f'{stamp}.{text}')}"
    return {GENERIC_HEADER: value}


def generic_verify(header: str, body: bytes, secret: str) -> bool:
    """Whether a generic signature header signs `body` with `secret` (as v1 or v0)."""
    parts = dict(part.partition("=")[::2] for part in header.split(","))
    message = f"{parts.get('t', '')}.{body.decode()}"
    expected = _hex(secret, message)
    return any(
        # As bytes: a header holding text outside ASCII is a wrong signature, not a TypeError.
        hmac.compare_digest(parts.get(name, "").encode("utf-8", "surrogatepass"), expected.encode())
        for name in ("v1", "v0")
        if name in parts
    )
