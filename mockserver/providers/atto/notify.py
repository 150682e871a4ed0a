"""Atto's V2 consent webhooks: a `Consent` notification per status change and re-authentication,
and an upcoming-expiration notice a tenant's chosen number of days before `consentEnd`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ... import kit

# Simulator choice: Atto says the notice period is configurable but not its default.
DEFAULT_NOTICE_DAYS, MAX_NOTICE_DAYS = 7, 365
NOTICE = "atto:notice-days"  # tenant → its upcomingExpirationDays
# The notice period a consent was given (from its client's setting) and the consentEnd it was
# noticed for: a new consentEnd (a re-authentication) arms the notice again.
DAYS, NOTICED = "_noticeDays", "_noticedFor"
UPCOMING = "UpcomingExpiration"  # a consent status of Atto's V2 notifications (FACTS-2 §1.1)


def notice_days(ctx: kit.Context) -> int:
    """The tenant's notice period in days (0: no upcoming-expiration notice)."""
    days = ctx.store.get_value(NOTICE, ctx.tenant, ctx.now)
    return days if isinstance(days, int) else DEFAULT_NOTICE_DAYS


def notice_at(data: kit.JsonDict) -> datetime | None:
    """When an Active consent's upcoming expiration is due (None: no end, off, or sent)."""
    end, days = data.get("consentEnd"), data.get(DAYS, DEFAULT_NOTICE_DAYS)
    if not end or not days or data.get(NOTICED) == end:
        return None
    return kit.parse_instant(str(end)) - timedelta(days=int(days))


def noticed(data: kit.JsonDict, at: datetime) -> kit.JsonDict:
    return {NOTICED: data["consentEnd"]}


def notification(data: kit.JsonDict, status: str | None = None) -> kit.JsonDict:
    """The body Atto's V2 webhook sends (simulator choice: Atto documents `eventType: Consent`
    and `consentJourney`, not the rest; the other names are the Consent object's)."""
    return {
        "eventType": "Consent",
        "consentId": data.get("consentId"),
        "consentStatus": status or data.get("consentStatus"),
        "consentJourney": data.get("journeyType"),
        "customerReference": data.get("customerReference"),
        "consentStart": data.get("consentStart"),
        "consentEnd": data.get("consentEnd"),
        "statusUpdated": data.get("statusUpdated"),
    }


def events(before: kit.JsonDict | None, after: kit.JsonDict | None, now: datetime) -> list[Any]:
    """`Consent` when the consent is made or changes status (a re-authentication is a move to
    Active); `UpcomingExpiration` when its notice is marked, while Active."""
    if after is None:
        return []
    was, status = before or {}, after["consentStatus"]
    found = []
    if was.get("consentStatus") != status:
        found.append(kit.Event("Consent", notification(after)))
    if status == "Active" and after.get(NOTICED) not in (None, was.get(NOTICED)):
        found.append(kit.Event(UPCOMING, notification(after, UPCOMING)))
    return found


# Atto documents no signature for its webhooks (FACTS-2 §1.1): none is sent.
webhooks = kit.WebhookDef(events=events)
