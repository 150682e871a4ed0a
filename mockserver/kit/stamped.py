"""Webhook signature headers that carry their instant: `t=<epoch>,v=<hex>[,v0=<hex>]`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..credentials import same_secret
from .jwt import hmac_hex

__all__ = ["SignatureError", "StampedSignature"]


class SignatureError(ValueError):
    """A header that is not `t=<epoch>,<current>=<hex>[,<previous>=<hex>]`."""


@dataclass(frozen=True, slots=True)
class StampedSignature:
    """A signature header (`header`) naming the instant it was made: `t=<epoch seconds>`, the
    lower-case hex HMAC-SHA256 (keyed by the secret's bytes) of `message(t, url, body)` with
    the current secret under `current`, and with the previous secret under `previous` while
    one is given (its grace period after a change). `sign` is a `WebhookDef` signer; `verify`
    is a receiver's check."""

    header: str
    message: Callable[[int, str, bytes], bytes]
    current: str = "v"
    previous: str = "v0"

    def signature_of(self, stamp: int, url: str, body: bytes, secret: str) -> str:
        return hmac_hex(secret, self.message(stamp, url, body))

    def sign(
        self, body: bytes, url: str, secret: str, previous_secret: str | None, now: datetime
    ) -> dict[str, str]:
        """The header of one delivery, signed at `now`."""
        stamp = int(now.timestamp())
        value = f"t={stamp},{self.current}={self.signature_of(stamp, url, body, secret)}"
        if previous_secret is not None:
            value += f",{self.previous}={self.signature_of(stamp, url, body, previous_secret)}"
        return {self.header: value}

    def parts(self, header: str) -> tuple[int, str, str | None]:
        """The instant, the current signature and the previous one (if any) a header holds;
        SignatureError for a header of another shape."""
        now, old = self.current, self.previous
        parts = header.split(",")
        if not 2 <= len(parts) <= 3:
            raise SignatureError(f"expected t=<epoch>,{now}=<hex>[,{old}=<hex>], got {header!r}")
        named = {name: value for name, _, value in (p.partition("=") for p in parts)}
        if "t" not in named or now not in named:
            raise SignatureError(f"t= and {now}= are required, got {header!r}")
        if not named["t"].isdigit():
            raise SignatureError(f"t must be epoch seconds, got {named['t']!r}")
        return int(named["t"]), named[now], named.get(old)

    def verify(
        self, header: str, body: bytes, url: str, secret: str, previous_secret: str | None = None
    ) -> bool:
        """The current signature against `secret`, or the previous one (when the header has
        it) against `previous_secret`; no tolerance on the instant. False for a wrong one
        (of any text), SignatureError for a malformed header."""
        stamp, current, old = self.parts(header)
        if same_secret(current, self.signature_of(stamp, url, body, secret)):
            return True
        if old is None or previous_secret is None:
            return False
        return same_secret(old, self.signature_of(stamp, url, body, previous_secret))
