"""Credential schemes: a key that names the tenant, a first secret that registers it, tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from ..behaviour import Context

__all__ = ["FirstSecret", "Tokens", "api_key_tenant", "same_secret"]

JsonDict = dict[str, Any]


def api_key_tenant(scheme: str) -> Callable[[Context], str]:
    """`identify` for a key that is its own tenant: any non-empty key is a development key."""

    def identify(ctx: Context) -> str:
        return str(ctx.credentials.get(scheme, ""))

    return identify


def same_secret(known: Any, given: Any) -> bool:
    """A constant-time comparison of two secrets."""
    return hmac.compare_digest(str(known).encode(), str(given).encode())


def _registered(entry: Any) -> TypeGuard[JsonDict]:
    return isinstance(entry, dict) and isinstance(entry.get("secret"), str)


class FirstSecret:
    """Tenants registered by the first secret they are used with; later ones must match it.
    The entry may carry more than the secret (a name, an environment...); `hashed` keeps
    only the secret's SHA-256."""

    def __init__(self, namespace: str, *, hashed: bool = False) -> None:
        self.namespace = namespace
        self.hashed = hashed

    def _kept(self, secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest() if self.hashed else secret

    def claim(self, ctx: Context, tenant: str, secret: str, **extra: Any) -> JsonDict | None:
        """The tenant's entry, registered now if new; None when it holds another secret."""
        entry = {"secret": self._kept(secret), **extra}
        known = ctx.store.claim_value(self.namespace, tenant, entry, ctx.now)
        if not _registered(known):  # written by an older version (a persistent store): replace
            self.register(ctx, tenant, secret, **extra)
            return entry
        return known if same_secret(known["secret"], self._kept(secret)) else None

    def register(self, ctx: Context, tenant: str, secret: str, **extra: Any) -> None:
        """Register (or replace) a tenant's secret: the fixtures' `credentials`."""
        entry = {"secret": self._kept(secret), **extra}
        ctx.store.put_value(self.namespace, tenant, entry, None)

    def seeder(self, field: str) -> Callable[[Context, JsonDict], None]:
        """A `seed_tenant`: the fixtures' `credentials: {<field>: <secret>}` register it."""

        def seed_tenant(ctx: Context, credentials: JsonDict) -> None:
            secret = credentials.get(field)
            if set(credentials) - {field} or not isinstance(secret, str) or not secret:
                raise ValueError(f"give exactly {field}: a non-empty string")
            self.register(ctx, ctx.tenant, secret)

        return seed_tenant

    def entry(self, ctx: Context, tenant: str) -> JsonDict | None:
        found = ctx.store.get_value(self.namespace, tenant, ctx.now)
        return found if _registered(found) else None

    def refuses(self, ctx: Context, tenant: str, secret: str) -> bool:
        """Whether a registered tenant holds another secret (an unknown one is not refused)."""
        known = self.entry(ctx, tenant)
        return known is not None and not same_secret(known["secret"], self._kept(secret))


class Tokens:
    """Bearer tokens issued to a tenant, live for `lifetime` on that tenant's clock.

    The store forgets a token `lifetime` after it was issued by the global clock (unless
    `forget` is off); the tenant's own clock decides whether it is still live."""

    def __init__(self, namespace: str, lifetime: timedelta, *, forget: bool = True) -> None:
        self.namespace = namespace
        self.lifetime = lifetime
        self.forget = forget

    def issue(self, ctx: Context, **grant: Any) -> tuple[str, datetime]:
        """A new token for `ctx.tenant` (ctx.now is the tenant's clock); its expiry."""
        token = secrets.token_urlsafe(32)
        expires = ctx.now + self.lifetime
        entry = {"tenant": ctx.tenant, "expiresAt": expires.isoformat(), **grant}
        issued = ctx.clock_now(None) + self.lifetime if self.forget else None
        ctx.store.put_value(self.namespace, token, entry, issued)
        return token, expires

    def grant(self, ctx: Context, token: str) -> JsonDict | None:
        """The grant behind a token while it is live on its tenant's clock; else None."""
        entry: JsonDict | None = (
            ctx.store.get_value(self.namespace, token, ctx.clock_now(None)) if token else None
        )
        if not isinstance(entry, dict) or "expiresAt" not in entry:  # none, or an older version's
            return None
        live = ctx.clock_now(str(entry["tenant"])) < datetime.fromisoformat(entry["expiresAt"])
        return entry if live else None
