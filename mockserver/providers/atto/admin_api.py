"""GET and POST /__admin/atto/notifications: a client's upcoming-expiration notice period."""

from __future__ import annotations

from typing import Any

from ... import kit
from .notify import DAYS, MAX_NOTICE_DAYS, NOTICE, notice_days

_DAYS = {
    "type": "integer",
    "minimum": 0,
    "maximum": MAX_NOTICE_DAYS,
    "description": "Days before consentEnd the UpcomingExpiration notification is sent (0: never).",
}
_FIELDS = {"tenant": kit.TENANT, "upcomingExpirationDays": _DAYS}
_SETTING, _REQUEST = kit.json_object(_FIELDS), kit.json_object(_FIELDS, closed=True)
_ANSWER = {"200": kit.answer("The client's notice period.", _SETTING), "400": kit.BAD_REQUEST}

ROUTES = kit.AdminRoutes(tenant="the client_id")
admin, admin_paths = ROUTES.mount, ROUTES.paths


def _shown(site: kit.Site, ctx: kit.Context) -> Any:
    return site.json({"tenant": ctx.tenant, "upcomingExpirationDays": notice_days(ctx)})


@ROUTES.route(
    "/notifications",
    "get",
    "attoNotificationSettings",
    "A client's upcoming-expiration notice period (default 7 days)",
    responses=_ANSWER,
    parameters=[kit.parameter("tenant", "query", kit.TENANT, required=True)],
)
def read_notice_days(site: kit.Site) -> Any:
    return _shown(site, site.context(site.args()["tenant"]))


@ROUTES.route(
    "/notifications",
    "post",
    "attoSetNotificationSettings",
    "Set it; consents not yet noticed take the new period",
    responses=_ANSWER,
    body=_REQUEST,
)
def set_notice_days(site: kit.Site, body: kit.JsonDict) -> Any:
    """Keep a tenant's notice period and give it to its consents not noticed yet."""
    ctx, days = site.context(body["tenant"]), body["upcomingExpirationDays"]
    ctx.store.put_value(NOTICE, ctx.tenant, days, None)
    for record in ctx.records():
        if record.data.get(DAYS) != days:  # a consent already noticed stays so (see notice_at)
            ctx.update(record, lambda current: {**current, DAYS: days})
    return _shown(site, ctx)
