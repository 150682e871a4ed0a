"""Yapily's consent tokens: HS512 JWTs signed with the simulator's own key, never real."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

JsonDict = dict[str, Any]

# The simulator's own signing key: tokens are verifiable (see verify_token), never real.
SIGNING_KEY = b"consent-mockserver yapily sandbox signing key"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _signature(signed: str) -> str:
    return _b64(hmac.new(SIGNING_KEY, signed.encode(), hashlib.sha512).digest())


def sign_token(claims: Mapping[str, Any]) -> str:
    """An HS512 JWT shaped like the seed's consent token, signed with the simulator's key."""
    header = _b64(json.dumps({"typ": "JWT", "alg": "HS512"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    return f"{header}.{payload}.{_signature(f'{header}.{payload}')}"


def verify_token(token: str) -> JsonDict | None:
    """The claims of a token this simulator signed; None for anything else."""
    parts = token.split(".")
    if len(parts) != 3 or not hmac.compare_digest(_signature(f"{parts[0]}.{parts[1]}"), parts[2]):
        return None
    claims: JsonDict = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    return claims


def consent_token(data: JsonDict) -> str:
    claims = {"INSTITUTION": data.get("institutionId"), "CONSENT": data["id"]}
    if data.get("applicationUserId"):
        claims["APPLICATION_USER_ID"] = data["applicationUserId"]
    claims["USER"] = data.get("userUuid")
    return sign_token(claims)
