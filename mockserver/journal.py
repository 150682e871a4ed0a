"""A bounded ring of what clients sent, with each request's contract verdict; secrets masked."""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from .store import Store

__all__ = [
    "Journal",
    "fingerprint",
    "header_is_plain",
    "is_secret_name",
    "mask_body",
    "mask_header",
    "mask_headers",
    "mask_query",
    "mask_value",
]

ALWAYS_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


# Names that hold a secret in any provider's body, query or form, besides the provider's own
# `secret_fields`: compared lower-cased, exactly or as a suffix (`consentToken`, `api-key`).
SECRET_NAMES = frozenset(
    {"password", "passcode", "otp", "pin", "secret", "token", "apikey", "api_key", "api-key"}
)
_SECRET_SUFFIXES = ("password", "secret", "token", "apikey", "api_key", "api-key")
_MASK = "****"
_ATOMS = frozenset((str, int, float, bool, type(None)))


def mask_value(value: str) -> str:
    """Hide a secret entirely: not one of its characters, nor its length, is kept."""
    return _MASK


def is_secret_name(name: str, secret: frozenset[str] = frozenset()) -> bool:
    lowered = name.lower()
    return lowered in secret or lowered in SECRET_NAMES or lowered.endswith(_SECRET_SUFFIXES)


@functools.lru_cache(maxsize=1024)  # a tenant's fingerprint goes into every journal entry
def fingerprint(value: str) -> str:
    """A stable, non-reversible name for a secret that identifies a tenant."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def _mask_authorization(value: str) -> str:
    scheme, _, credential = value.partition(" ")
    if scheme.lower() == "basic":
        try:
            user, colon, _ = base64.b64decode(credential, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return f"Basic {_MASK}"
        # The user name is the application's identity (the tenant), the password its secret;
        # without a colon the whole value may be the secret.
        return f"Basic {user}:{_MASK}" if colon else f"Basic {_MASK}"
    return f"{scheme} {_MASK}" if credential else _MASK


def header_is_plain(name: str, secret: frozenset[str]) -> bool:
    """Whether a header is journaled as sent (else through `mask_header`)."""
    lowered = name.lower()
    return not (lowered == "authorization" or lowered in ALWAYS_SECRET_HEADERS or lowered in secret)


def mask_header(name: str, value: str, secret: frozenset[str]) -> str:
    """A header's value as the journal shows it."""
    lowered = name.lower()
    if lowered == "authorization":
        return _mask_authorization(value)
    if lowered in ALWAYS_SECRET_HEADERS or lowered in secret:
        return mask_value(value)
    return value


def mask_headers(headers: Iterable[tuple[str, str]], secret: frozenset[str]) -> dict[str, str]:
    return {name: mask_header(name, value, secret) for name, value in headers}


def mask_body(body: Any, secret: frozenset[str]) -> Any:
    """Mask secret fields anywhere in a JSON-like body, and the `value` of an item that names a
    secret (`{"name": "password", "value": ...}`, as in a form of bank credentials). A boolean
    or null under a secret name (a flag such as `"token": true` asks for a token, it is none)
    is no secret: kept as sent."""
    if type(body) in _ATOMS:  # before isinstance(Mapping), an ABC check (most values)
        return body
    if isinstance(body, Mapping):
        named = body.get("name", body.get("key"))
        item_secret = isinstance(named, str) and is_secret_name(named, secret)
        return {
            k: (
                mask_value(str(v))
                if (is_secret_name(k, secret) or (item_secret and k == "value"))
                and v is not None
                and not isinstance(v, bool)
                else mask_body(v, secret)
            )
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [mask_body(item, secret) for item in body]
    return body


def mask_query(query: str, secret: frozenset[str] = frozenset()) -> str:
    """A raw query string with the value of every secret parameter masked, the rest as sent."""
    if not query:
        return query
    parts = query.split("&")
    for i, part in enumerate(parts):
        name, equals, _ = part.partition("=")
        if equals and is_secret_name(unquote_plus(name), secret):
            parts[i] = f"{name}={_MASK}"
    return "&".join(parts)


class Journal:
    """The last `capacity` requests, oldest dropped first (WireMock's journal grows unbounded).

    The entries live in the store, so every worker process appends to and reads one journal.
    """

    def __init__(self, store: Store, capacity: int = 10_000) -> None:
        self.store = store
        self.capacity = capacity
        # A store that batches journal writes (SQLite) takes entries through journal_defer.
        self._defer = getattr(store, "journal_defer", None)

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append an entry; it gets its `id` here, or when written if the store defers."""
        if self._defer is not None:
            self._defer(entry, self.capacity)
            return entry
        entry["id"] = self.store.journal_append(entry, self.capacity)
        return entry

    def observe(self, observer: Callable[[dict[str, Any]], None]) -> None:
        """Show `observer` every entry recorded from now on, in the thread that records it
        (`serve --log requests` reads each request's verdict this way). The hook replaces
        `record` on this journal only, so a journal nobody observes pays nothing for it."""
        record = self.record

        def observed(entry: dict[str, Any]) -> dict[str, Any]:
            observer(entry)
            return record(entry)

        self.record = observed  # type: ignore[method-assign]

    def entries(
        self,
        *,
        provider: str | None = None,
        operation: str | None = None,
        status: int | None = None,
        since: str | None = None,
        tenant: str | None = None,
        matched: bool | None = None,
        valid: bool | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        selected = [
            e
            for e in self.store.journal_entries()
            if (provider is None or e.get("provider") == provider)
            and (operation is None or e.get("operation") == operation)
            and (status is None or e.get("status") == status)
            and (since is None or str(e.get("time", "")) >= since)
            and (tenant is None or e.get("tenant") in (tenant, fingerprint(tenant)))
            and (matched is None or (e.get("operation") is not None) == matched)
            and (valid is None or e.get("valid") == valid)
            and (after is None or int(e["id"]) > after)
        ]
        if limit is not None:
            selected = selected[-limit:] if limit else []
        return selected

    def clear(self) -> int:
        return self.store.journal_clear()

    def __len__(self) -> int:
        return self.store.journal_size()
