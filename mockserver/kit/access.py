"""Credential schemes: a key that names the tenant, a first secret that registers it, tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from ..behaviour import Context
from .bounds import next_slot, parse_slot

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
    `forget` is off); the tenant's own clock decides whether it is still live.

    `per_tenant`: at most that many tokens are kept for a tenant (a new one retires the oldest),
    so a client that asks for tokens without end cannot grow the store. The token is then
    `<tenant tag>.<slot>.<random>`: where it is stored, and the secret part its entry holds
    (as a SHA-256). An expired token that is presented is deleted from the store."""

    def __init__(
        self,
        namespace: str,
        lifetime: timedelta,
        *,
        forget: bool = True,
        per_tenant: int | None = None,
    ) -> None:
        self.namespace = namespace
        self.lifetime = lifetime
        self.forget = forget
        self.per_tenant = per_tenant

    def issue(self, ctx: Context, **grant: Any) -> tuple[str, datetime]:
        """A new token for `ctx.tenant` (ctx.now is the tenant's clock); its expiry."""
        token = secrets.token_urlsafe(32)
        expires = ctx.now + self.lifetime
        entry = {"tenant": ctx.tenant, "expiresAt": expires.isoformat(), **grant}
        issued = ctx.clock_now(None) + self.lifetime if self.forget else None
        key = token
        if self.per_tenant is not None:
            tag = hashlib.sha256(ctx.tenant.encode()).hexdigest()[:16]
            key = f"{tag}.{next_slot(ctx, self.namespace, tag, self.per_tenant)}"
            entry["secret"] = hashlib.sha256(token.encode()).hexdigest()
            token = f"{key}.{token}"
        ctx.store.put_value(self.namespace, key, entry, issued)
        return token, expires

    def _located(self, token: str) -> tuple[str, str | None]:
        """The token's store key, and its secret part when the tokens are bounded."""
        if self.per_tenant is None:
            return token, None
        tag, _, rest = token.partition(".")
        slot_text, _, secret = rest.partition(".")
        if len(tag) != 16 or parse_slot(slot_text, self.per_tenant) is None or not secret:
            return "", None
        return f"{tag}.{slot_text}", secret

    def grant(self, ctx: Context, token: str) -> JsonDict | None:
        """The grant behind a token while it is live on its tenant's clock; else None."""
        key, secret = self._located(token) if token else ("", None)
        entry: JsonDict | None = (
            ctx.store.get_value(self.namespace, key, ctx.clock_now(None)) if key else None
        )
        if key and entry is None and self.per_tenant is not None:  # expired: collect it
            ctx.store.delete_value(self.namespace, key)
        if not isinstance(entry, dict) or "expiresAt" not in entry:  # none, or an older version's
            return None
        if secret is not None and not same_secret(
            entry.get("secret"), hashlib.sha256(secret.encode()).hexdigest()
        ):
            return None  # a slot's newer token, or a forged one: left alone
        live = ctx.clock_now(str(entry["tenant"])) < datetime.fromisoformat(entry["expiresAt"])
        if not live and secret is not None:
            ctx.store.delete_value(self.namespace, key)
        entry.pop("secret", None)
        return entry if live else None
