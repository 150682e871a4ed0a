"""The credential registry: secrets per tenant, `open` or `registered` mode, and revocation."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeGuard

from .behaviour import Context, SecretRegistry
from .clock import format_instant
from .journal import fingerprint, mask_body

__all__ = [
    "MODES",
    "FirstSecret",
    "describe",
    "listing",
    "registered",
    "revoke",
    "same_secret",
]

# `open`: any well-formed credential names a tenant (a new one registers its first secret).
# `registered`: only the fixtures' credentials and those POSTed to /__admin/<p>/credentials.
MODES = ("open", "registered")
JsonDict = dict[str, Any]


def same_secret(known: Any, given: Any) -> bool:
    """A constant-time comparison of two secrets, of any text (compare_digest refuses a str
    outside ASCII, and plain UTF-8 a lone surrogate, which a JSON body can hold)."""
    return hmac.compare_digest(
        str(known).encode("utf-8", "surrogatepass"), str(given).encode("utf-8", "surrogatepass")
    )


def _entry(found: Any) -> TypeGuard[JsonDict]:
    return isinstance(found, dict) and isinstance(found.get("secret"), str)


def _strict(ctx: Context) -> bool:
    return ctx.credential_mode == "registered"


class FirstSecret:
    """Tenants and their secret. In `open` mode a tenant is registered by the first secret it
    is used with and later ones must match it; in `registered` mode only a registered entry
    (`register`: the fixtures', the admin API's) is accepted. The entry may carry more than
    the secret (a name, an environment...); `hashed` keeps only the secret's SHA-256. Every
    entry has an `id`, new once the tenant is revoked: a token records it, so revoking a
    credential ends the tokens issued with it, even if it is registered again."""

    def __init__(self, namespace: str, *, hashed: bool = False) -> None:
        self.namespace = namespace
        self.hashed = hashed

    def _kept(self, secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest() if self.hashed else secret

    def claim(self, ctx: Context, tenant: str, secret: str, **extra: Any) -> JsonDict | None:
        """The tenant's entry (in `open` mode registered now if new); None when it holds
        another secret, or (in `registered` mode) when the tenant is not registered."""
        if _strict(ctx):
            known = self.entry(ctx, tenant)
            if known is None or known.get("registered") is not True:
                return None
            return known if same_secret(known["secret"], self._kept(secret)) else None
        entry = {"secret": self._kept(secret), "id": uuid.uuid4().hex, **extra}
        found = ctx.store.claim_value(self.namespace, tenant, entry, ctx.now)
        if not _entry(found):  # written by an older version (a persistent store): replace
            ctx.store.put_value(self.namespace, tenant, entry, None)
            return entry
        return found if same_secret(found["secret"], self._kept(secret)) else None

    def register(self, ctx: Context, tenant: str, secret: str, **extra: Any) -> None:
        """Register (or replace) a tenant's secret: the fixtures' and the admin API's
        `credentials`. It counts as registered in `registered` mode."""
        entry = {"secret": self._kept(secret), "id": _index_id(ctx, tenant), **extra}
        ctx.store.put_value(self.namespace, tenant, {**entry, "registered": True}, None)

    def seeder(self, field: str) -> Callable[[Context, JsonDict], None]:
        """A `seed_tenant`: the fixtures' `credentials: {<field>: <secret>}` register it."""

        def seed_tenant(ctx: Context, credentials: JsonDict) -> None:
            secret = credentials.get(field)
            if set(credentials) - {field} or not isinstance(secret, str) or not secret:
                raise ValueError(f"give exactly {field}: a non-empty string")
            self.register(ctx, ctx.tenant, secret)

        return seed_tenant

    def key_seeder(self, allowed: str) -> Callable[[Context, JsonDict], None]:
        """A `seed_tenant` for keys that are their own tenant: the fixtures' `credentials: {}`
        register the tenant's key (with an empty secret); any field is refused (`allowed` says
        what is, as the refusal does)."""

        def seed_tenant(ctx: Context, credentials: JsonDict) -> None:
            if credentials:
                unknown = ", ".join(sorted(credentials))
                raise ValueError(f"unknown fields: {unknown}; allowed: {allowed}")
            self.register(ctx, ctx.tenant, "")

        return seed_tenant

    def entry(self, ctx: Context, tenant: str) -> JsonDict | None:
        found = ctx.store.get_value(self.namespace, tenant, ctx.now)
        return found if _entry(found) else None

    def refuses(self, ctx: Context, tenant: str, secret: str) -> bool:
        """Whether the secret is refused: the tenant holds another one, or (`registered`
        mode) is not registered. In `open` mode an unknown tenant is not refused."""
        if _strict(ctx):
            return self.claim(ctx, tenant, secret) is None
        known = self.entry(ctx, tenant)
        return known is not None and not same_secret(known["secret"], self._kept(secret))

    def revoke(self, ctx: Context, tenant: str) -> None:
        ctx.store.delete_value(self.namespace, tenant)


# -- the index of registered credentials, per provider: what GET /__admin/<p>/credentials lists.
# One document per provider, {tenant: {id, registeredAt, credentials (masked)}}: registrations
# are few (fixtures, admin calls), unlike the tenants `open` mode makes on first use.
def _index_name(ctx: Context) -> str:
    return f"credentials:{ctx.provider.name}"


def _index_id(ctx: Context, tenant: str) -> str:
    """The registration's id: the tenant's current one while it stays registered (a provider
    may keep a tenant's credentials in several registries), else a new one."""
    made = uuid.uuid4().hex

    def add(index: Any) -> JsonDict:
        kept: JsonDict = index if isinstance(index, dict) else {}
        at = format_instant(ctx.now)
        kept[tenant] = kept.get(tenant) or {"id": made, "registeredAt": at, "credentials": {}}
        return kept

    return str(ctx.store.update_doc(_index_name(ctx), add)[tenant]["id"])


def describe(ctx: Context, tenant: str, credentials: JsonDict) -> JsonDict:
    """Record what was registered for the tenant, its secrets masked (never kept in clear);
    answer the registration as the admin API shows it."""
    masked = mask_body(credentials, ctx.provider.secret_fields)

    def note(index: Any) -> JsonDict:
        kept: JsonDict = index if isinstance(index, dict) else {}
        if tenant in kept:
            kept[tenant]["credentials"] = masked
        return kept

    ctx.store.update_doc(_index_name(ctx), note)
    return _shown(ctx, tenant, registered(ctx).get(tenant, {}))


def _shown(ctx: Context, tenant: str, entry: JsonDict) -> JsonDict:
    label = fingerprint(tenant) if ctx.provider.secret_tenant else tenant
    return {"id": entry.get("id"), "tenant": label, **{k: v for k, v in entry.items() if k != "id"}}


def registered(ctx: Context) -> dict[str, JsonDict]:
    found = ctx.store.read_doc(_index_name(ctx))
    return dict(found) if isinstance(found, dict) else {}


def listing(ctx: Context) -> list[JsonDict]:
    """Every registered credential of the provider, as the admin API shows it."""
    return [_shown(ctx, tenant, entry) for tenant, entry in registered(ctx).items()]


def revoke(ctx: Context, registries: Iterable[SecretRegistry], key: str) -> JsonDict | None:
    """Revoke the credential whose id, tenant or tenant fingerprint is `key`, from every
    registry of its provider; the registration revoked, or None if there is none."""
    index = registered(ctx)
    tenant = next(
        (t for t, e in index.items() if key in (e.get("id"), t, fingerprint(t))),
        key if any(r.entry(ctx, key) for r in registries) else None,
    )
    if tenant is None:
        return None
    for registry in registries:
        registry.revoke(ctx, tenant)
    ctx.store.update_doc(
        _index_name(ctx), lambda doc: {k: v for k, v in (doc or {}).items() if k != tenant}
    )
    return _shown(ctx, tenant, index.get(tenant, {}))
