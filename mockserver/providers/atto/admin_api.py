"""GET and POST /__admin/atto/notifications: a client's upcoming-expiration notice period."""

from __future__ import annotations

from ... import kit
from .notify import DAYS, MAX_NOTICE_DAYS, NOTICE, notice_days

_DAYS = {
    "type": "integer",
    "minimum": 0,
    "maximum": MAX_NOTICE_DAYS,
    "description": "Days before consentEnd the UpcomingExpiration notification is sent (0: never).",
}

ROUTES = kit.AdminRoutes(tenant="the client_id")  # kit.assemble: admin, admin_paths


def set_notice_days(ctx: kit.Context, days: int) -> None:
    """Keep a tenant's notice period and give it to its consents not noticed yet."""
    ctx.store.put_value(NOTICE, ctx.tenant, days, None)
    for record in ctx.records():
        if record.data.get(DAYS) != days:  # a consent already noticed stays so (see notice_at)
            ctx.update(record, lambda current: {**current, DAYS: days})


kit.TenantSetting("upcomingExpirationDays", _DAYS, notice_days, set_notice_days).declare(
    ROUTES,
    "/notifications",
    "The client's notice period.",
    get=(
        "attoNotificationSettings",
        "A client's upcoming-expiration notice period (default 7 days)",
    ),
    post=("attoSetNotificationSettings", "Set it; consents not yet noticed take the new period"),
)
