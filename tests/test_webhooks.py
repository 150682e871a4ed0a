"""Webhooks end to end in one process: registration, the outbox and its sender, retries,
clock-driven events, delivery faults, and the deliveries log. The two-worker test is in
test_webhook_workers.py."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver import SimClock, create_app
from mockserver.providers import KNOWN
from mockserver.providers.fliqa.signature import HEADER, verify
from mockserver.webhooks import GENERIC_HEADER, Hub, generic_verify
from mockserver.webhooks.receiver import WebhookReceiver

from conftest import T0
from tests_helpers import json_of

DATA = Path(__file__).parent / "data"
TENANT = "tenant-1"
SECRET = "s3cret-value"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, clock: SimClock) -> Iterator[Flask]:
    monkeypatch.setitem(KNOWN, "toy", "toy_provider")
    monkeypatch.setitem(KNOWN, "hooked", "hooked_provider")
    application = create_app(["hooked", "toy"], strict=True, spec_dir=DATA, clock=clock)
    hub: Hub = application.extensions["mockserver.webhooks"]
    hub.tick = 0.05
    yield application
    hub.stop()


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.post("/__admin/webhooks/settings", json={"backoff": 0.05, "timeout": 2})
    return client


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    yield running
    running.stop()


def register(admin: FlaskClient, url: str, provider: str = "hooked", **extra: Any) -> str:
    body = {"provider": provider, "tenant": TENANT, "url": url, "secret": SECRET, **extra}
    response = admin.post("/__admin/webhooks", json=body)
    assert response.status_code == 201, response.json
    return str(json_of(response)["id"])


def make_thing(admin: FlaskClient, **fields: Any) -> str:
    response = admin.post("/__admin/hooked/consents", json={"tenant": TENANT, **fields})
    assert response.status_code == 201, response.json
    return str(json_of(response)["id"])


def deliveries(admin: FlaskClient, at_least: int = 1, timeout: float = 5) -> list[dict[str, Any]]:
    """The deliveries log, once it has `at_least` entries (the sender logs an attempt just
    after the receiver answered it)."""
    deadline = time.monotonic() + timeout
    while True:
        found: list[dict[str, Any]] = json_of(admin.get("/__admin/webhooks/deliveries"))[
            "deliveries"
        ]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def _post(admin: FlaskClient, url: str, body: Any) -> Any:
    """`body` as JSON, or bytes sent as they are (what no JSON encoder would write)."""
    if isinstance(body, bytes):
        return admin.post(url, data=body, content_type="application/json")
    return admin.post(url, json=body)


# -- registration ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            {"provider": "nope", "tenant": "t", "url": "http://x/", "secret": "s"},
            "unknown provider",
        ),
        ({"provider": "toy", "tenant": "t", "url": "ftp://x/", "secret": "s"}, "http(s) URL"),
        ({"provider": "toy", "tenant": "t", "url": "/relative", "secret": "s"}, "http(s) URL"),
        ({"provider": "toy", "tenant": "t", "url": "http://x/"}, "'secret' is required"),
        ({"provider": "toy", "url": "http://x/", "secret": "s"}, "'tenant' is required"),
        ({"provider": "toy", "tenant": "t", "url": "http://x/", "secret": "s", "x": 1}, "unknown"),
        ({"provider": "toy", "tenant": "t", "url": " http://x/", "secret": "s"}, "http(s) URL"),
        ({"provider": "toy", "tenant": "t", "url": "http://x/a b", "secret": "s"}, "http(s) URL"),
        ({"provider": "toy", "tenant": "t", "url": "http://:80/", "secret": "s"}, "http(s) URL"),
        ({"provider": "toy", "tenant": "t", "url": "http://[:]/", "secret": "s"}, "IPv6"),
        ([1, 2], "JSON object"),
        (b"[" * 5000 + b"]" * 5000, "nested deeper"),  # as raw JSON: was a 500
    ],
)
def test_registration_is_validated(admin: FlaskClient, body: Any, fragment: str) -> None:
    response = _post(admin, "/__admin/webhooks", body)
    assert response.status_code == 400
    assert json_of(response)["error"] == "bad_request" and fragment in json_of(response)["message"]


def test_register_list_and_delete_never_show_the_secret(admin: FlaskClient) -> None:
    hook_id = register(admin, "https://receiver.example/hook")
    listed = admin.get("/__admin/webhooks")
    assert [h["id"] for h in json_of(listed)["webhooks"]] == [hook_id]
    assert json_of(listed)["webhooks"][0]["secret"].startswith("sha256:")
    assert SECRET not in listed.get_data(as_text=True)
    rotated = admin.post(f"/__admin/webhooks/{hook_id}/secret", json={"secret": "next-secret"})
    assert rotated.status_code == 200
    assert "next-secret" not in rotated.get_data(as_text=True)
    assert SECRET not in rotated.get_data(as_text=True)
    assert json_of(rotated)["previousSecretUntil"] == "2026-01-06T09:30:00Z"  # 24 h, simulated
    assert admin.delete(f"/__admin/webhooks/{hook_id}").status_code == 200
    assert admin.delete(f"/__admin/webhooks/{hook_id}").status_code == 404
    assert json_of(admin.get("/__admin/webhooks"))["webhooks"] == []


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("secret", {"secret": "n", "graceSeconds": 1e300}, "graceSeconds"),  # was a 500
        ("secret", b'{"secret": "n", "graceSeconds": 1e400}', "graceSeconds"),  # inf: a 500
        ("secret", {"secret": "n", "graceSeconds": -1}, "graceSeconds"),
        ("secret", {"secret": "n", "graceSeconds": True}, "graceSeconds"),
        ("secret", {"secret": "n", "grace": 5}, "unknown fields: grace"),  # was ignored
        ("secret", b'{"secret": "n", "graceSeconds": NaN}', "not valid JSON"),
        ("secret", {"secret": ""}, "'secret' is required"),
        ("test", {"dta": 1}, "unknown fields: dta"),  # was ignored
        ("test", b"[" * 5000 + b"]" * 5000, "nested deeper"),
        ("test", b"{not json", "not valid JSON"),
    ],
)
def test_bad_input_to_a_hook_is_a_json_400(
    admin: FlaskClient, path: str, body: Any, fragment: str
) -> None:
    hook_id = register(admin, "http://127.0.0.1:9/hook")
    response = _post(admin, f"/__admin/webhooks/{hook_id}/{path}", body)
    assert response.status_code == 400, response.data
    assert json_of(response)["error"] == "bad_request" and fragment in json_of(response)["message"]


def test_the_webhook_routes_are_guarded_like_the_rest_of_admin(admin: FlaskClient) -> None:
    misspelt = admin.get("/__admin/webhooks?provder=hooked")
    assert misspelt.status_code == 400
    message = json_of(misspelt)["message"]
    assert message == "unknown query parameters: provder; known: provider, tenant"
    event = admin.get("/__admin/webhooks/deliveries?evnt=1")
    assert event.status_code == 400 and "known: event, hook, provider, tenant" in event.text
    assert admin.get("/__admin/webhooks/deliveries?event=x&hook=y").status_code == 200
    huge = admin.get("/__admin/webhooks", headers={"X-Big": "x" * 40_000})
    assert huge.status_code == 431 and json_of(huge)["error"] == "headers_too_large"
    too_big = admin.post("/__admin/webhooks/faults", data=b" " * (2 * 1024 * 1024))
    assert too_big.status_code == 413 and json_of(too_big)["error"] == "request_entity_too_large"
    # /settings is not a hook id: its methods, not "no webhook settings", nor DELETE in Allow.
    settings = admin.delete("/__admin/webhooks/settings")
    assert settings.status_code == 405 and "DELETE" not in settings.headers["Allow"]
    assert "DELETE" not in admin.options("/__admin/webhooks/settings").headers["Allow"]


def test_with_a_token_every_webhook_route_asks_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(KNOWN, "toy", "toy_provider")
    client = create_app(["toy"], spec_dir=DATA, admin_token="tok").test_client()
    refused = client.get("/__admin/webhooks/settings")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    ok = client.get("/__admin/webhooks/settings", headers={"Authorization": "Bearer tok"})
    assert ok.status_code == 200


def test_no_sender_thread_without_hooks(app: Flask) -> None:
    client = app.test_client()
    client.get("/__admin/health")
    make_thing(client)
    hub: Hub = app.extensions["mockserver.webhooks"]
    assert hub._thread is None


# -- delivery ------------------------------------------------------------------------------------
def test_a_consent_change_is_delivered_signed_as_fliqa_documents(
    admin: FlaskClient, receiver: WebhookReceiver
) -> None:
    register(admin, receiver.url)
    thing = make_thing(admin)
    [created] = receiver.wait_for(1)
    assert created.json == {"id": thing, "status": "NEW"}
    header = created.header(HEADER) or ""
    assert header.startswith(f"t={int(T0.timestamp())},v=") and ",v0=" not in header
    assert verify(header, created.body, receiver.url, SECRET)
    assert (
        admin.post(f"/__admin/hooked/consents/{thing}/status", json={"status": "DONE"}).status_code
        == 200
    )
    done = receiver.wait_for(2)[1]
    assert done.json["status"] == "DONE" and verify(done.header(HEADER) or "", done.body,
                                                      receiver.url, SECRET)  # fmt: skip
    [first, second] = [d for d in deliveries(admin, 2) if d["outcome"] == "delivered"]
    assert first["type"] == "thing.created" and second["type"] == "thing.done"
    assert first["signature"] == {HEADER: header} and first["status"] == 200


def test_after_a_secret_change_v0_is_signed_with_the_old_one_for_24_hours(
    admin: FlaskClient, receiver: WebhookReceiver
) -> None:
    hook_id = register(admin, receiver.url)
    admin.post(f"/__admin/webhooks/{hook_id}/secret", json={"secret": "new-secret"})
    make_thing(admin)
    header = receiver.wait_for(1)[0].header(HEADER) or ""
    body = receiver.received[0].body
    assert ",v0=" in header
    assert verify(header, body, receiver.url, "new-secret")
    assert verify(header.split(",v=")[0] + ",v=0,v0=" + header.split(",v0=")[1], body,
                  receiver.url, "wrong", SECRET)  # fmt: skip
    admin.post("/__admin/clock", json={"advance": "PT24H"})
    make_thing(admin)
    later = receiver.wait_for(2)[1].header(HEADER) or ""
    assert ",v0=" not in later and verify(later, receiver.received[1].body, receiver.url,
                                          "new-secret")  # fmt: skip


def test_an_api_request_emits_and_answers_without_waiting_for_the_receiver(
    app: Flask, admin: FlaskClient, receiver: WebhookReceiver
) -> None:
    register(admin, receiver.url)
    receiver.slow(1.5)
    api = app.test_client()
    headers = {"X-Key": TENANT, "X-Req": str(uuid.uuid4())}
    started = time.monotonic()
    response = api.post("/hooked/things", json={"name": "n"}, headers=headers)
    took = time.monotonic() - started
    assert response.status_code == 201
    assert took < 1.0, f"the request waited for the delivery ({took:.2f} s)"
    assert receiver.received == []
    [arrived] = receiver.wait_for(1, timeout=10)
    assert arrived.json["id"] == json_of(response)["id"]


def test_a_receiver_that_fails_once_gets_the_event_again(
    admin: FlaskClient, receiver: WebhookReceiver
) -> None:
    register(admin, receiver.url)
    receiver.fail(1)
    make_thing(admin)
    first, second = receiver.wait_for(2)
    assert (first.status, second.status) == (500, 200)
    assert first.body == second.body
    log = deliveries(admin, 2)
    assert [(d["attempt"], d["status"], d["outcome"]) for d in log] == [
        (1, 500, "retrying"),
        (2, 200, "delivered"),
    ]
    assert log[0]["event"] == log[1]["event"] and log[0]["error"] == "HTTP 500"


def test_attempts_are_bounded_and_back_off(admin: FlaskClient, receiver: WebhookReceiver) -> None:
    admin.post("/__admin/webhooks/settings", json={"attempts": 3, "backoff": 0.2, "factor": 2})
    register(admin, receiver.url)
    receiver.fail(10)
    make_thing(admin)
    received = receiver.wait_for(3)
    time.sleep(1.0)  # a fourth attempt would come after 0.2 + 0.4 + 0.8 s at the latest
    assert len(receiver.received) == 3
    gaps = [b - a for a, b in zip(_arrivals(admin), _arrivals(admin)[1:], strict=False)]
    assert gaps[1] > gaps[0] * 1.3, gaps  # the second wait is about twice the first
    assert [d["outcome"] for d in deliveries(admin, 3)] == ["retrying", "retrying", "failed"]
    assert json_of(admin.get("/__admin/webhooks/deliveries"))["pending"] == []
    assert all(r.status == 500 for r in received)


def _arrivals(admin: FlaskClient) -> list[float]:
    return [float(d["sentAt"]) for d in deliveries(admin, 3)]


def test_connection_refused_is_recorded_and_retried(admin: FlaskClient) -> None:
    closed = WebhookReceiver()
    url = closed.url
    closed.stop()  # nothing listens there now
    admin.post("/__admin/webhooks/settings", json={"attempts": 2})
    register(admin, url)
    make_thing(admin)
    log = deliveries(admin, 2)
    assert [(d["attempt"], d["status"], d["outcome"]) for d in log] == [
        (1, None, "retrying"),
        (2, None, "failed"),
    ]
    assert "Refused" in log[0]["error"]


def test_expiry_by_the_clock_is_sent_without_a_request(
    admin: FlaskClient, receiver: WebhookReceiver
) -> None:
    register(admin, receiver.url)
    thing = make_thing(admin, expires=T0.timestamp() + 3600)
    receiver.wait_for(1)
    admin.post("/__admin/clock", json={"advance": "PT2H"})
    expired = receiver.wait_for(2)[1]  # the sender's sweep settled it: no consent request
    assert expired.json == {"id": thing, "status": "EXPIRED"}
    assert [d["type"] for d in deliveries(admin, 2)] == ["thing.created", "thing.expired"]


def test_a_test_event_of_a_provider_without_webhooks_uses_the_generic_signature(
    admin: FlaskClient, receiver: WebhookReceiver
) -> None:
    hook_id = register(admin, receiver.url, provider="toy")
    sent = admin.post(f"/__admin/webhooks/{hook_id}/test", json={"data": {"n": 1}})
    assert sent.status_code == 201
    [arrived] = receiver.wait_for(1)
    assert arrived.json["type"] == "mockserver.test" and arrived.json["data"] == {"n": 1}
    assert generic_verify(arrived.header(GENERIC_HEADER) or "", arrived.body, SECRET)
    assert not generic_verify(arrived.header(GENERIC_HEADER) or "", arrived.body, "other")
    assert not generic_verify("t=1,v1=\u00e9", arrived.body, SECRET)  # False, not TypeError
    assert deliveries(admin)[0]["event"] == json_of(sent)["event"]
    assert admin.post("/__admin/webhooks/nope/test").status_code == 404


def test_the_deliveries_log_never_holds_a_secret_and_can_be_cleared(
    admin: FlaskClient, receiver: WebhookReceiver
) -> None:
    register(admin, receiver.url)
    make_thing(admin)
    receiver.wait_for(1)
    deliveries(admin)
    text = admin.get("/__admin/webhooks/deliveries").get_data(as_text=True)
    assert SECRET not in text and json.loads(text)["deliveries"]
    assert admin.delete("/__admin/webhooks/deliveries").json == {"deleted": 1}
    assert deliveries(admin) == []


# -- faults --------------------------------------------------------------------------------------
def _fault(admin: FlaskClient, **spec: Any) -> dict[str, Any]:
    response = admin.post("/__admin/webhooks/faults", json=spec)
    assert response.status_code == 201, response.json
    fault = json_of(response)
    return fault


def test_faults_are_validated(admin: FlaskClient) -> None:
    for spec in ({"action": "explode"}, {"action": "delay", "seconds": -1}, {"times": 0}):
        response = admin.post("/__admin/webhooks/faults", json=spec)
        assert response.status_code == 400 and json_of(response)["error"] == "bad_fault"
    for times in (2.5, True, "2"):
        response = admin.post("/__admin/webhooks/faults", json={"action": "drop", "times": times})
        assert response.status_code == 400
    # 2.0 is the JSON number 2, which the admin document's integer allows (Schemathesis sent it).
    accepted = admin.post("/__admin/webhooks/faults", json={"action": "drop", "times": 2.0})
    assert accepted.status_code == 201 and json_of(accepted)["times"] == 2


def test_clearing_faults_says_how_many_were_removed(admin: FlaskClient) -> None:
    _fault(admin, action="drop")
    _fault(admin, action="delay", times=2)
    cleared = admin.delete("/__admin/webhooks/faults")
    assert json_of(cleared) == {"deleted": 2, "released": 0}  # was {"deleted": true, ...}
    assert json_of(admin.get("/__admin/webhooks/faults"))["faults"] == []


def test_drop_fault(admin: FlaskClient, receiver: WebhookReceiver) -> None:
    register(admin, receiver.url)
    _fault(admin, action="drop")
    make_thing(admin)
    make_thing(admin)  # the fault was used up by the first
    receiver.wait_for(1)
    time.sleep(0.3)
    assert len(receiver.received) == 1
    assert [d["outcome"] for d in deliveries(admin, 2)] == ["dropped", "delivered"]


def test_duplicate_fault_delivers_the_same_event_twice(
    admin: FlaskClient, receiver: WebhookReceiver
) -> None:
    register(admin, receiver.url)
    _fault(admin, action="duplicate", provider="hooked")
    make_thing(admin)
    first, second = receiver.wait_for(2)
    assert first.body == second.body
    log = deliveries(admin, 2)
    assert log[0]["event"] == log[1]["event"] and sorted(d["duplicate"] for d in log) == [0, 1]


def test_delay_fault(admin: FlaskClient, receiver: WebhookReceiver) -> None:
    register(admin, receiver.url)
    _fault(admin, action="delay", seconds=0.8)
    started = time.monotonic()
    make_thing(admin)
    receiver.wait_for(1)
    assert time.monotonic() - started >= 0.8


def test_reorder_fault_lets_the_next_event_overtake(
    admin: FlaskClient, receiver: WebhookReceiver
) -> None:
    register(admin, receiver.url)
    _fault(admin, action="reorder", type="thing.created")
    first = make_thing(admin)
    time.sleep(0.3)
    assert receiver.received == []  # held back until the next event
    assert (
        admin.post(f"/__admin/hooked/consents/{first}/status", json={"status": "DONE"}).status_code
        == 200
    )
    a, b = receiver.wait_for(2)
    assert (a.json["status"], b.json["status"]) == ("DONE", "NEW")


def test_a_held_event_goes_out_when_its_hold_ends(
    admin: FlaskClient, receiver: WebhookReceiver
) -> None:
    register(admin, receiver.url)
    _fault(admin, action="reorder", seconds=0.3)
    make_thing(admin)
    receiver.wait_for(1, timeout=5)


def test_concurrent_changes_each_emit_once(admin: FlaskClient, receiver: WebhookReceiver) -> None:
    register(admin, receiver.url)
    things = [make_thing(admin) for _ in range(5)]

    def finish(thing: str) -> None:
        admin.post(f"/__admin/hooked/consents/{thing}/status", json={"status": "DONE"})

    threads = [threading.Thread(target=finish, args=(t,)) for t in things for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    received = receiver.wait_for(10)
    time.sleep(0.3)
    assert len(receiver.received) == 10
    assert sorted(r.json["id"] for r in received if r.json["status"] == "DONE") == sorted(things)


def test_the_webhook_machinery_names_no_provider() -> None:
    package = Path(__file__).parents[1] / "mockserver" / "webhooks"
    names = ("api1", "finqware", "yapily", "atto", "fliqa", "zwapgrid")
    for path in package.glob("*.py"):
        text = path.read_text().lower()
        for name in names:
            assert name not in text, f"webhooks/{path.name} mentions {name}"
