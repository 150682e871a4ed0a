"""GET|DELETE /__admin/fliqa/outbox[?msisdn=&email=&tenant=]: the OTPs login 'sent'."""

from __future__ import annotations

from ... import kit
from .dialect import digits
from .handlers import OUTBOX

ROUTES = kit.AdminRoutes()  # kit.assemble: admin, admin_paths
OUTBOX_ROUTES = kit.OutboxRoutes(
    OUTBOX,
    kit.json_object(
        {"channel": {"enum": ["sms", "email"]}, "otp": kit.TEXT},
        ["id", "channel", "to", "otp", "tenant"],
    ),
    {
        "msisdn": (  # a number without digits selects every message
            "Only SMS to this number (digits compared).",
            lambda m, to: (
                not digits(to) or (m["channel"] == "sms" and digits(m["to"]) == digits(to))
            ),
        ),
        "email": (
            "Only e-mails to this address (case-insensitive).",
            lambda m, to: m["channel"] == "email" and m["to"].casefold() == to.casefold(),
        ),
    },
    tenant="Only messages sent for this Api-Key.",
)
OUTBOX_ROUTES.declare(
    ROUTES,
    "/outbox",
    listed=("fliqaOutbox", "The one-time passwords login 'sent', newest first"),
    deleted=("fliqaClearOutbox", "Delete the messages selected (all without a filter)"),
)
