"""Fliqa's webhooks ("API hooks", FACTS-2 §2.1): the bare consent JSON on creation and on
reaching a final status, signed with `X-Fliqa-Signature`."""

from __future__ import annotations

from ... import kit
from .consent import render
from .signature import sign

# FACTS-2 §2.1: "when a consent was created, has expired or reached a final status: rejected,
# valid, revoked_by_psu, expired, terminated_by_tpp or failed".
FINAL = ("rejected", "valid", "revoked_by_psu", "expired", "terminated_by_tpp", "failed")

# Fliqa names no events (the receiver reads `status`); the types here are the simulator's, for
# the deliveries log and a hook's `events` filter: `consent.created`, `consent.<status>`.
events = kit.status_events(
    "consent.created",
    lambda to: f"consent.{to}" if to in FINAL else None,
    # Fliqa sends "a snapshot of the object": the consent as `getConsent` answers it.
    lambda data, previous: render(data, items=False),
)
webhooks = kit.WebhookDef(events=events, sign=sign)
