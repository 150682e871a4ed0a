"""kit.Seals.spend: a sealed token's state, once."""

from __future__ import annotations

from datetime import timedelta

from test_kit import T0, _ctx

from mockserver import kit
from mockserver.stores.memory import MemoryStore


def test_a_sealed_token_is_spent_once_per_tenant_and_only_when_it_opens() -> None:
    store = MemoryStore()
    ctx = _ctx(store, {None: T0}, tenant="o")
    seals = kit.Seals("t:seal", timedelta(minutes=5))
    spent = kit.Tickets("t:spent", timedelta(minutes=5), per_owner=2)
    token = seals.seal(ctx, {"who": "a"})
    assert seals.spend(ctx, token, spent, who="b") is None  # not for this one: not spent
    opened = seals.spend(ctx, token, spent, who="a")
    assert opened is not None and opened["who"] == "a"
    assert seals.spend(ctx, token, spent, who="a") is None  # spent
    assert seals.open(ctx, token, who="a") == opened  # still opens: spending is apart
    assert seals.spend(ctx, "x.y", spent) is None
    others = [seals.seal(ctx, {"n": n}) for n in range(3)]
    assert all(seals.spend(ctx, t, spent) for t in others)
    # Bounded per tenant: the oldest remembered one is forgotten, so it would open again.
    assert seals.spend(ctx, token, spent, who="a") == opened
