"""Fliqa's webhook signature, `X-Fliqa-Signature` (FACTS-2 §2.1): the sender's `sign` (the
`WebhookDef` signer of hooks.py) and a receiver's `verify`, as Fliqa's examples check it."""

from __future__ import annotations

from datetime import datetime

from ... import kit

__all__ = ["HEADER", "SignatureError", "sign", "signature_of", "verify"]

HEADER = "X-Fliqa-Signature"


class SignatureError(ValueError):
    """A header that is not `t=<epoch>,v=<hex>[,v0=<hex>]`."""


def signature_of(stamp: int, url: str, body: bytes, secret: str) -> str:
    """Lower-case hex (64 characters) HMAC-SHA256, keyed by the secret's bytes, of
    `"{t}.{hookUrl}.{rawBody}"`: the registered URL exactly, the body exactly as sent."""
    return kit.hmac_hex(secret, f"{stamp}.{url}.".encode() + body)


def sign(
    body: bytes, url: str, secret: str, previous_secret: str | None, now: datetime
) -> dict[str, str]:
    """The header of one delivery: `t=<epoch seconds>,v=<hex>`, and `,v0=<hex>` signed with
    the previous secret while it is given (the 24 hours after a secret change)."""
    stamp = int(now.timestamp())
    value = f"t={stamp},v={signature_of(stamp, url, body, secret)}"
    if previous_secret is not None:
        value += f",v0={signature_of(stamp, url, body, previous_secret)}"
    return {HEADER: value}


def _parts(header: str) -> tuple[int, str, str | None]:
    parts = header.split(",")
    if not 2 <= len(parts) <= 3:
        raise SignatureError(f"expected t=<epoch>,v=<hex>[,v0=<hex>], got {header!r}")
    named = {name: value for name, _, value in (p.partition("=") for p in parts)}
    if "t" not in named or "v" not in named:
        raise SignatureError(f"t= and v= are required, got {header!r}")
    if not named["t"].isdigit():
        raise SignatureError(f"t must be epoch seconds, got {named['t']!r}")
    return int(named["t"]), named["v"], named.get("v0")


def verify(
    header: str, body: bytes, url: str, secret: str, previous_secret: str | None = None
) -> bool:
    """A receiver's check, as Fliqa's examples do it: `v` against the current secret, or `v0`
    (when present) against the previous one. No timestamp tolerance: the docs have none."""
    stamp, current, old = _parts(header)
    if kit.same_secret(current, signature_of(stamp, url, body, secret)):
        return True
    if old is None or previous_secret is None:
        return False
    return kit.same_secret(old, signature_of(stamp, url, body, previous_secret))
