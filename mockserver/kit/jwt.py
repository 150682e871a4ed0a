"""JSON Web Tokens signed with a shared key (HS256, HS384, HS512), and URL-safe base64."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..credentials import same_secret

__all__ = ["JwtKey", "b64url", "hmac_hex", "sign_jwt", "unb64url", "verify_jwt"]

JsonDict = dict[str, Any]
_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64url(raw: bytes) -> str:
    """URL-safe base64 without padding, as JWTs write it."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hmac_hex(secret: str, message: bytes) -> str:
    """HMAC-SHA256 of `message` keyed by the secret's UTF-8 bytes, as lower-case hex (how
    webhook signatures are written)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _signature(signed: str, key: bytes, alg: str) -> str:
    return b64url(hmac.new(key, signed.encode(), _DIGESTS[alg]).digest())


def sign_jwt(claims: Mapping[str, Any], key: bytes, alg: str = "HS256") -> str:
    """`header.payload.signature`, the JSON written compactly in the claims' own order."""
    header = b64url(_compact({"typ": "JWT", "alg": alg}))
    payload = b64url(_compact(dict(claims)))
    return f"{header}.{payload}.{_signature(f'{header}.{payload}', key, alg)}"


def verify_jwt(token: str, key: bytes, alg: str = "HS256") -> JsonDict | None:
    """The claims of a token signed with this key and algorithm; None for anything else."""
    parts = token.split(".")
    if len(parts) != 3 or not same_secret(_signature(f"{parts[0]}.{parts[1]}", key, alg), parts[2]):
        return None
    claims: JsonDict = json.loads(unb64url(parts[1]))
    return claims


@dataclass(frozen=True, slots=True)
class JwtKey:
    """A provider's own signing key and algorithm: the tokens it `sign`s, and only those it
    `verify`s (their claims; None for anything else)."""

    key: bytes
    alg: str = "HS256"

    def sign(self, claims: Mapping[str, Any]) -> str:
        return sign_jwt(claims, self.key, self.alg)

    def verify(self, token: str) -> JsonDict | None:
        return verify_jwt(token, self.key, self.alg)
