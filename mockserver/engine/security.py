"""Credentials: read as the operation's security requirements say, or refused (401)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from flask import Request

from ..behaviour import ApiError
from ..runtime import ProviderRuntime
from ..spec import Operation
from .exchange import Exchange, header

__all__ = ["authenticate", "resolve_credentials"]


def authenticate(ex: Exchange) -> None:
    """The step: the request's credentials, for the provider's `identify`."""
    ex.credentials = resolve_credentials(ex.runtime, ex.op, ex.request)


def resolve_credentials(
    runtime: ProviderRuntime, op: Operation, request: Request
) -> dict[str, Any]:
    """The credentials of the first of the operation's security requirements the request
    meets, by scheme name (`{}` for an open operation); else ApiError 401 naming them all."""
    if not op.security:
        return {}
    schemes = runtime.spec.security_schemes
    missing: list[str] = []
    for requirement in op.security:
        found: dict[str, Any] = {}
        for scheme_name in requirement:
            value = _credential(schemes.get(scheme_name, {}), request)
            if value is None:
                missing.append(_describe_scheme(schemes, scheme_name))
                break
            found[scheme_name] = value
        else:
            return found
    raise ApiError(
        401,
        "unauthenticated",
        "Missing or malformed credentials: " + " or ".join(dict.fromkeys(missing)) + ".",
    )


def _credential(scheme: Mapping[str, Any], request: Request) -> Any:
    """One scheme's credential in the request (a basic one as (user, secret)), or None."""
    kind = scheme.get("type")
    if kind == "apiKey":
        name = str(scheme.get("name"))
        value = header(request, name) if scheme.get("in") == "header" else request.args.get(name)
        return value.strip() or None if value else None
    if kind != "http":
        return None
    scheme_word, _, token = (header(request, "Authorization") or "").partition(" ")
    wanted = str(scheme.get("scheme", "")).lower()
    if scheme_word.lower() != wanted or not token.strip():
        return None
    if wanted != "basic":
        return token.strip()
    try:
        user, sep, secret = (
            base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, secret) if sep and user else None


def _describe_scheme(schemes: Mapping[str, Mapping[str, Any]], name: str) -> str:
    scheme = schemes.get(name, {})
    if scheme.get("type") == "apiKey":
        return f"the {scheme.get('name')} {scheme.get('in')}"
    if scheme.get("type") == "http":
        return f"an Authorization: {str(scheme.get('scheme', '')).capitalize()} header"
    return name
