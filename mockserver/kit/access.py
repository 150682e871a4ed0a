"""Credential schemes: a key that names the tenant, tokens; the registry is `credentials`."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import datetime, timedelta
from typing import Any

from ..behaviour import ApiError, Context
from ..credentials import FirstSecret, same_secret
from .bounds import next_slot, parse_slot

__all__ = ["FirstSecret", "Tokens", "api_key_tenant", "basic_tenant", "same_secret"]

JsonDict = dict[str, Any]


def api_key_tenant(scheme: str, keys: FirstSecret) -> Callable[[Context], str]:
    """`identify` for a key that is its own tenant: any non-empty key is a development key, in
    `registered` mode only one of `keys` (registered with an empty secret: the key is it)."""

    def identify(ctx: Context) -> str:
        key = str(ctx.credentials.get(scheme, ""))
        if ctx.credential_mode == "registered" and keys.claim(ctx, key, "") is None:
            raise ApiError(401, "unauthenticated", "The API key is not valid.")
        return key

    return identify


def basic_tenant(
    scheme: str, registry: FirstSecret, refused: Callable[[str], ApiError]
) -> Callable[[Context], str]:
    """`identify` for HTTP Basic whose user names the tenant and whose password is a secret
    `registry` registers at its first use: an empty password is `refused("empty_secret")`, one
    the registry refuses (another than the first, an unregistered one) `refused("wrong_secret")`."""

    def identify(ctx: Context) -> str:
        user, secret = ctx.credentials[scheme]
        if not secret:
            raise refused("empty_secret")
        if registry.claim(ctx, str(user), str(secret)) is None:
            raise refused("wrong_secret")
        return str(user)

    return identify


@dataclass(slots=True)
class Tokens:
    """Bearer tokens issued to a tenant, live for `lifetime` on that tenant's clock.

    The store forgets a token `lifetime` after it was issued by the global clock (unless
    `forget` is off); the tenant's own clock decides whether it is still live.

    `per_tenant`: at most that many tokens are kept for a tenant (a new one retires the oldest),
    so a client that asks for tokens without end cannot grow the store. The token is then
    `<tenant tag>.<slot>.<random>`: where it is stored, and the secret part its entry holds
    (as a SHA-256). An expired token that is presented is deleted from the store."""

    namespace: str
    lifetime: timedelta
    _: KW_ONLY
    forget: bool = True
    per_tenant: int | None = None
    issuer: FirstSecret | None = None

    @property
    def seconds(self) -> int:
        """The lifetime in whole seconds, as a token answer's `expires_in` gives it."""
        return int(self.lifetime.total_seconds())

    def _credential(self, ctx: Context, tenant: str) -> str | None:
        """The id of the tenant's credential in `issuer` (None: none, or no issuer)."""
        entry = self.issuer.entry(ctx, tenant) if self.issuer is not None else None
        return None if entry is None else str(entry.get("id"))

    def issue(self, ctx: Context, **grant: Any) -> tuple[str, datetime]:
        """A new token for `ctx.tenant` (ctx.now is the tenant's clock); its expiry."""
        token = secrets.token_urlsafe(32)
        expires = ctx.now + self.lifetime
        entry = {"tenant": ctx.tenant, "expiresAt": expires.isoformat(), **grant}
        if self.issuer is not None:  # revoking the credential ends the token (see `grant`)
            entry["credential"] = self._credential(ctx, ctx.tenant)
        issued = ctx.clock_now(None) + self.lifetime if self.forget else None
        key = token
        if self.per_tenant is not None:
            tag = hashlib.sha256(ctx.tenant.encode()).hexdigest()[:16]
            key = f"{tag}.{next_slot(ctx, self.namespace, tag, self.per_tenant)}"
            entry["secret"] = hashlib.sha256(token.encode()).hexdigest()
            token = f"{key}.{token}"
        ctx.store.put_value(self.namespace, key, entry, issued)
        return token, expires

    def bearer(self, ctx: Context, scheme: str, refused: Callable[[], ApiError]) -> str:
        """`identify` for a bearer token: the tenant the token the request carries in `scheme`
        was issued to, while it is live on that tenant's clock; else the error `refused` makes
        (the provider's 401)."""
        grant = self.grant(ctx, str(ctx.credentials.get(scheme, "")))
        if grant is None:
            raise refused()
        return str(grant["tenant"])

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
        if self.issuer is not None and live:  # issued with a credential since revoked?
            live = entry.get("credential") == self._credential(ctx, str(entry["tenant"]))
        if not live and secret is not None:
            ctx.store.delete_value(self.namespace, key)
        entry.pop("secret", None)
        return entry if live else None
