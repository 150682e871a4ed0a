"""The toy provider with webhooks and an expiry, for the webhook machinery's own tests: an
event per created consent and per status change, signed with Fliqa's scheme."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from mockserver.providers.fliqa.signature import sign
from mockserver.webhooks import Event, WebhookDef

import toy_provider

JsonDict = dict[str, Any]
STATUSES = ("NEW", "DONE", "EXPIRED")


def lifecycle(data: JsonDict, now: datetime) -> JsonDict:
    if data["status"] == "NEW" and "expires" in data and now.timestamp() >= data["expires"]:
        return {**data, "status": "EXPIRED"}
    return data


def deadline(data: JsonDict) -> datetime | None:
    if data["status"] == "NEW" and "expires" in data:
        return datetime.fromtimestamp(data["expires"], UTC)
    return None


def events(before: JsonDict | None, after: JsonDict | None, now: datetime) -> list[Event]:
    if after is None:
        return []
    body = {"id": after["id"], "status": after["status"]}
    if before is None:
        return [Event("thing.created", body)]
    if before["status"] != after["status"]:
        return [Event(f"thing.{after['status'].lower()}", body)]
    return []


PROVIDER = replace(
    toy_provider.PROVIDER,
    name="hooked",
    lifecycle=lifecycle,
    deadline=deadline,
    parse_status=lambda v: str(v) if str(v) in STATUSES else None,
    transitions={"NEW": ("DONE", "EXPIRED"), "DONE": (), "EXPIRED": ()},
    webhooks=WebhookDef(events=events, sign=sign),
)
