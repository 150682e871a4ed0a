"""Testing a webhook receiver against the simulator: run with `pytest examples/`.

`webhook_receiver` (from the plugin) listens on loopback; the simulator signs and sends events
to it from its outbox, retries when it fails, and can drop, delay, duplicate or reorder them.
Until a provider emits its own consent events, the admin API's test event drives the path.
"""

from __future__ import annotations

from typing import Any

from mockserver.pytest_plugin import Sandbox, WebhookReceiver
from mockserver.webhooks import GENERIC_HEADER, generic_verify

SECRET = "whsec-example"


class Inbox:
    """The code under test: a receiver that checks the signature and ignores repeats."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.seen: dict[str, Any] = {}

    def handle(self, headers: dict[str, str], body: bytes, payload: Any) -> bool:
        if not generic_verify(headers.get(GENERIC_HEADER, ""), body, self.secret):
            return False
        self.seen.setdefault(payload["id"], payload)  # idempotent: the id decides
        return True


def _hook(mockserver: Sandbox, receiver: WebhookReceiver) -> str:
    hook = mockserver.admin.register_webhook("api1", receiver.url, SECRET)
    return str(hook["id"])


def test_a_signed_event_arrives(mockserver: Sandbox, webhook_receiver: WebhookReceiver) -> None:
    hook_id = _hook(mockserver, webhook_receiver)
    event_id = mockserver.admin.send_test_webhook(hook_id, {"hello": "world"})
    [arrived] = webhook_receiver.wait_for(1)
    inbox = Inbox(SECRET)
    assert inbox.handle(arrived.headers, arrived.body, arrived.json)
    assert inbox.seen[event_id]["data"] == {"hello": "world"}


def test_a_receiver_that_was_down_gets_the_event_again(
    mockserver: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    mockserver.admin.webhook_settings(backoff=0.1)
    hook_id = _hook(mockserver, webhook_receiver)
    webhook_receiver.fail(1)  # the first attempt gets a 500
    mockserver.admin.send_test_webhook(hook_id)
    first, second = webhook_receiver.wait_for(2)
    assert (first.status, second.status) == (500, 200) and first.body == second.body


def test_the_inbox_is_idempotent_when_an_event_comes_twice(
    mockserver: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    hook_id = _hook(mockserver, webhook_receiver)
    mockserver.admin.webhook_fault("duplicate")
    mockserver.admin.send_test_webhook(hook_id)
    inbox = Inbox(SECRET)
    for arrived in webhook_receiver.wait_for(2):
        assert inbox.handle(arrived.headers, arrived.body, arrived.json)
    assert len(inbox.seen) == 1
