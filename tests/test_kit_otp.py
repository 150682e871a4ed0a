"""kit.OneTimeCodes (sent to recipients, spent once for all) and kit.Outbox (sent messages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from test_kit import _ctx

from mockserver import kit
from mockserver.stores.memory import MemoryStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)
CODES = kit.OneTimeCodes("t:otp", timedelta(minutes=5), known="t:known", length=4)


def test_a_code_is_spent_once_for_every_recipient_it_was_sent_to() -> None:
    store = MemoryStore()
    ctx = _ctx(store, {None: T0}, "a")
    assert not CODES.sent_to(ctx, ["phone", "mail"])
    code, expires = CODES.send(ctx, ["phone", "mail"])
    assert len(code) == 4 and code.isdigit() and expires == T0 + timedelta(minutes=5)
    assert CODES.sent_to(ctx, ["mail"]) and CODES.sent_to(ctx, ["other", "phone"])
    assert not CODES.use(ctx, ["phone"], "x" + code[1:])  # a wrong code spends nothing
    assert CODES.use(ctx, ["phone"], code)
    assert not CODES.use(ctx, ["mail"], code)  # spent through the phone: spent for the mail too


def test_the_latest_code_is_the_live_one_until_it_expires() -> None:
    store = MemoryStore()
    ctx = _ctx(store, {None: T0}, "a")
    first, _ = CODES.send(ctx, ["phone"])
    second, _ = CODES.send(ctx, ["phone"])
    assert first == second or not CODES.use(ctx, ["phone"], first)
    later = _ctx(store, {None: T0 + timedelta(minutes=5)}, "a")
    assert not CODES.use(later, ["phone"], second)  # expired
    assert CODES.sent_to(later, ["phone"])  # known for good


def test_the_outbox_keeps_messages_and_deletes_some_or_all() -> None:
    store = MemoryStore()
    outbox = kit.Outbox("t:outbox", capacity=3)
    ctx = _ctx(store, {None: T0}, "a")
    outbox.send(ctx, {"to": "x", "text": "one"}, T0 + timedelta(minutes=1))
    outbox.send(ctx, {"to": "y", "text": "two"})
    first, second = outbox.messages(store)
    assert list(first) == ["id", "to", "text", "sentAt", "expiresAt", "_tenant"]
    assert second["sentAt"] == kit.format_instant(T0) and "expiresAt" not in second
    assert first["_tenant"] == "a" and first["id"] != second["id"]
    assert outbox.messages(store, lambda m: m["to"] == "y") == [second]
    shown = outbox.shown(first)
    assert shown == {"id": first["id"], "to": "x", "text": "one", "sentAt": first["sentAt"]} | {
        "expiresAt": first["expiresAt"],
        "tenant": "sha256:ca978112ca1b",  # the journal's fingerprint of "a"
    }
    outbox.delete(store, [first["id"]])
    assert outbox.messages(store) == [second]
    outbox.delete(store, [])  # nothing selected: nothing appended
    assert len(store.feed_read("t:outbox")) == 3
    outbox.send(ctx, {"to": "z"})  # over capacity: the oldest entry is dropped
    assert [m["to"] for m in outbox.messages(store)] == ["y", "z"]
    outbox.delete(store, None)
    assert outbox.messages(store) == [] and store.feed_read("t:outbox") == []
