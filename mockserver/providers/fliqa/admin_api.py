"""GET|DELETE /__admin/fliqa/outbox[?msisdn=&email=&tenant=]: the OTPs login 'sent'."""

from __future__ import annotations

from typing import Any

from ... import kit
from .dialect import digits
from .handlers import OUTBOX

_MESSAGE = kit.json_object(
    {"channel": {"enum": ["sms", "email"]}, "otp": kit.TEXT},
    ["id", "channel", "to", "otp", "tenant"],
)
_MESSAGES = kit.json_object(
    {"messages": {"type": "array", "items": _MESSAGE}, "total": {"type": "integer", "minimum": 0}}
)

ROUTES = kit.AdminRoutes()
admin, admin_paths = ROUTES.mount, ROUTES.paths
ROUTES.shared(
    "/outbox",
    [
        kit.parameter(name, "query", kit.TEXT, description=text)
        for name, text in (
            ("msisdn", "Only SMS to this number (digits compared)."),
            ("email", "Only e-mails to this address (case-insensitive)."),
            ("tenant", "Only messages sent for this Api-Key."),
        )
    ],
)


def _selected(site: kit.Site) -> list[kit.JsonDict]:
    args, store = site.args(), site.context("").store
    phone, tenant = digits(args.get("msisdn", "")), args.get("tenant", "")
    email = args.get("email", "").casefold()
    return OUTBOX.messages(
        store,
        lambda m: (
            (not phone or (m["channel"] == "sms" and digits(m["to"]) == phone))
            and (not email or (m["channel"] == "email" and m["to"].casefold() == email))
            and (not tenant or m["_tenant"] == tenant)
        ),
    )


@ROUTES.route(
    "/outbox",
    "get",
    "fliqaOutbox",
    "The one-time passwords login 'sent', newest first",
    responses={"200": kit.answer("The messages.", _MESSAGES)},
)
def outbox(site: kit.Site) -> Any:
    shown = [OUTBOX.shown(m) for m in reversed(_selected(site))]
    return site.json({"messages": shown, "total": len(shown)})


@ROUTES.route(
    "/outbox",
    "delete",
    "fliqaClearOutbox",
    "Delete the messages selected (all without a filter)",
    responses={"200": {"$ref": "#/components/responses/Deleted"}},
)
def clear_outbox(site: kit.Site) -> Any:
    doomed, store = [m["id"] for m in _selected(site)], site.context("").store
    filtered = any(site.args().get(name) for name in ("msisdn", "email", "tenant"))
    OUTBOX.delete(store, doomed if filtered else None)
    return site.json({"deleted": len(doomed)})
