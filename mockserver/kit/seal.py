"""State a client carries in a signed token instead of the store keeping it."""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from typing import Any

from ..behaviour import Context
from ..credentials import same_secret
from .journey import Tickets
from .jwt import b64url, unb64url

__all__ = ["Seals"]

JsonDict = dict[str, Any]


class Seals:
    """Signed, expiring tokens that carry their own state (`payload.signature`, HMAC-SHA256):
    what an unauthenticated page hands out costs the store nothing, however often it is asked.
    The key is one random value in the store (shared by every worker, new after a reset, which
    so voids the tokens issued before it). A token is not single-use by itself."""

    def __init__(self, namespace: str, lifetime: timedelta) -> None:
        self.namespace = namespace
        self.lifetime = lifetime

    def _key(self, ctx: Context) -> bytes:
        fresh = secrets.token_hex(32)
        return str(ctx.store.claim_value(self.namespace, "key", fresh, ctx.now)).encode()

    def _sign(self, ctx: Context, payload: str) -> str:
        return b64url(hmac.new(self._key(ctx), payload.encode(), hashlib.sha256).digest())

    def seal(self, ctx: Context, state: JsonDict) -> str:
        """A token holding `state`, a random `jti` and its expiry (`lifetime` from ctx.now)."""
        claims = {**state, "jti": secrets.token_urlsafe(12)}
        claims["exp"] = (ctx.now + self.lifetime).timestamp()
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(ctx, payload)}"

    def open(self, ctx: Context, token: str, **expect: Any) -> JsonDict | None:
        """The state of a token this namespace signed, not expired by ctx.now and holding every
        `expect`ed field; else None."""
        payload, _, signature = token.partition(".")
        if not signature or not same_secret(signature, self._sign(ctx, payload)):
            return None
        try:
            claims = json.loads(unb64url(payload))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(claims, dict) or ctx.now.timestamp() >= float(claims.get("exp", 0)):
            return None
        return claims if all(claims.get(k) == v for k, v in expect.items()) else None

    def spend(self, ctx: Context, token: str, spent: Tickets, **expect: Any) -> JsonDict | None:
        """`open`, once: None also for a token spent before (its `jti` is remembered in `spent`,
        bounded per tenant as `spent` is, for the browser that goes back and posts it again)."""
        claims = self.open(ctx, token, **expect)
        if claims is None or not spent.first(ctx, str(claims["jti"]), owner=ctx.tenant):
            return None
        return claims
