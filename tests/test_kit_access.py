"""The kit's HTTP Basic tenants and a status's constant name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_kit import _ctx

from mockserver import kit
from mockserver.behaviour import ApiError
from mockserver.stores.memory import MemoryStore

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _refused(code: str) -> ApiError:
    return ApiError(401, "unauthenticated", "no", code=code)


def _code(identify: object, ctx: object) -> str | None:
    with pytest.raises(ApiError) as raised:
        identify(ctx)  # type: ignore[operator]
    return raised.value.code


def test_basic_tenants_register_the_first_secret_and_refuse_others() -> None:
    store = MemoryStore()
    registry = kit.FirstSecret("t:basic")
    identify = kit.basic_tenant("basic", registry, _refused)
    ctx = _ctx(store, {None: T0})
    ctx.credentials = {"basic": ("app", "s1")}
    assert identify(ctx) == "app"
    ctx.credentials = {"basic": ("app", "s2")}
    assert _code(identify, ctx) == "wrong_secret"
    ctx.credentials = {"basic": ("app", "")}
    assert _code(identify, ctx) == "empty_secret"
    ctx.credentials = {"basic": ("app", "s1")}
    assert identify(ctx) == "app"
    registered = _ctx(store, {None: T0}, mode="registered")
    registered.credentials = {"basic": ("other", "s1")}  # never registered: refused
    assert _code(identify, registered) == "wrong_secret"


def test_status_names_are_the_constants_overridden_where_asked() -> None:
    assert kit.status_name(404) == "NOT_FOUND"
    assert kit.status_name(413) == "REQUEST_ENTITY_TOO_LARGE"
    assert kit.status_name(413, {413: "PAYLOAD_TOO_LARGE"}) == "PAYLOAD_TOO_LARGE"
    assert kit.status_name(599) == "UNKNOWN"


def test_a_body_signer_signs_with_the_previous_secret_while_it_is_given() -> None:
    sign = kit.body_signer("X-Sig", "sha256=")
    body = b'{"a": 1}'
    assert sign(body, "u", "new", None, T0) == {"X-Sig": "sha256=" + kit.hmac_hex("new", body)}
    assert sign(body, "u", "new", "old", T0) == {"X-Sig": "sha256=" + kit.hmac_hex("old", body)}
    assert kit.body_signer("S")(body, "u", "k", None, T0) == {"S": kit.hmac_hex("k", body)}


def test_aliases_find_each_other_and_refuse_a_mismatch() -> None:
    store = MemoryStore()
    users = kit.Aliases("t:users", ("uuid", "app"))
    ctx, other = _ctx(store, {None: T0}, "t1"), _ctx(store, {None: T0}, "t2")
    assert users.resolve(ctx, None, "alice", lambda: "u1") == ("u1", "alice")
    assert users.resolve(ctx, None, "alice", lambda: "u9") == ("u1", "alice")
    assert users.resolve(ctx, "u1", None, lambda: "u9") == ("u1", "alice")
    assert users.resolve(ctx, "u2", None, lambda: "u9") == ("u2", "")
    assert users.resolve(ctx, "u2", "alice", lambda: "u9") is None  # alice is u1's
    assert users.resolve(ctx, "u1", "bob", lambda: "u9") is None  # u1 is alice
    assert users.resolve(ctx, "u2", "bob", lambda: "u9") == ("u2", "bob")
    assert users.resolve(other, None, "alice", lambda: "u7") == ("u7", "alice")  # per tenant
    assert store.get_value("t:users:t1", "app:bob", T0) == "u2"
