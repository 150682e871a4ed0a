"""The kit's grants: single-use keys naming one consent, found again only by its tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from mockserver import kit
from mockserver.stores.memory import MemoryStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _ctx(store: MemoryStore, tenant: str, now: datetime = T0) -> Any:
    """The part of a Context grants use: the tenant, the clock, the store, `fetch`."""
    records = {"c1": SimpleNamespace(id="c1"), "c2": SimpleNamespace(id="c2")}
    return SimpleNamespace(tenant=tenant, now=now, store=store, fetch=records.get)


def test_a_grant_is_redeemed_once_by_its_tenant_with_the_expected_fields() -> None:
    store, grants = MemoryStore(), kit.Grants("t:code", timedelta(minutes=10))
    a, b = _ctx(store, "a"), _ctx(store, "b")
    key = grants.grant(a, "c1", "k1", state="s")
    assert key == "k1" and grants.peek(a, key) == {"tenant": "a", "consentId": "c1", "state": "s"}
    assert grants.redeem(b, key, state="s") is None  # another tenant's: left alone
    assert grants.redeem(a, key, state="other") is None  # not the expected state: left alone
    redeemed = grants.redeem(a, key, state="s")
    assert redeemed is not None and redeemed.id == "c1"
    assert grants.redeem(a, key, state="s") is None  # taken once


def test_a_grant_of_a_gone_record_or_expired_redeems_nothing() -> None:
    store, grants = MemoryStore(), kit.Grants("t:code", timedelta(minutes=10))
    gone = grants.grant(_ctx(store, "a"), "deleted")
    assert grants.redeem(_ctx(store, "a"), gone) is None
    late = grants.grant(_ctx(store, "a"), "c2")
    assert grants.redeem(_ctx(store, "a", T0 + timedelta(minutes=10)), late) is None
    assert grants.redeem(_ctx(store, "a"), "") is None


def test_names_tells_the_granted_record_and_keeps_the_key() -> None:
    store, grants = MemoryStore(), kit.Grants("t:access", timedelta(days=1))
    a = _ctx(store, "a")
    key = grants.grant(a, "c2")
    assert len(key) > 16 and grants.names(a, key) == "c2" and grants.names(a, key) == "c2"
    assert grants.names(_ctx(store, "b"), key) is None and grants.names(a, "forged") is None
    assert kit.Tickets("t:other").issue(a, "not a grant", "plain") == "plain"
    assert grants.names(a, "plain") is None  # another namespace
