"""API.1's consent: int statuses, purge and inactivity rules (FACTS §1.3), admin creation."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from ... import kit

# The accounting systems a consent connects, in the order the spec's `source` lists them.
SYSTEMS = tuple(kit.spec_schema("api1.yaml", "ConsentDto")["properties"]["source"]["examples"])
PUBLIC_FIELDS = kit.spec_fields("api1.yaml", "ConsentDto")


def move(data: kit.JsonDict, to: str, now: datetime, source: str | None = None) -> kit.JsonDict:
    """Move a consent to a new status, filling what that status implies."""
    stamp = kit.format_instant(now)
    data.update(status=STATES.stored(to), updatedOn=stamp, _statusSince=stamp)
    if to == "ACCEPTED":
        system = source or data.get("source") or "testone"
        settings_id = data.get("systemSettingsId") or str(uuid.uuid4())
        data.update(source=system, systemSettingsId=settings_id, _lastUsedOn=stamp)
        data["systemSettings"] = {system: settings_id}
    return data


STATES = kit.States(
    {
        "CREATED": ("ACCEPTED", "REVOKED"),
        "ACCEPTED": ("REVOKED", "INACTIVE"),
        "REVOKED": (),
        "INACTIVE": (),
    },
    [
        kit.Purge(("CREATED",), kit.at_field("createdOn", after=timedelta(days=30))),
        kit.Expire(
            "ACCEPTED",
            kit.at_field("_lastUsedOn", "_statusSince", after=timedelta(days=30)),
            "INACTIVE",
        ),
        kit.Purge(("REVOKED", "INACTIVE"), kit.at_field("_statusSince", after=timedelta(days=180))),
    ],
    codes={"CREATED": 0, "ACCEPTED": 1, "REVOKED": 2, "INACTIVE": 3},
    move=move,  # an ACCEPTED consent becomes INACTIVE as any move makes it so
)


render = kit.projection(PUBLIC_FIELDS)  # the consent as API.1 shows it (ConsentDto)


order_key = kit.order_by("createdOn")  # the default list order

# For `serve --record`: the consent schema of the spec; admin_create takes updatedOn only with
# a status change, which a CREATED consent (status 0) has not had.
recording = kit.Recording(
    schema="ConsentDto",
    to_fixture=lambda c: {k: v for k, v in c.items() if k != "updatedOn" or c["status"]},
)


def _system(source: Any) -> Any:
    if source is not None and source not in SYSTEMS:
        raise ValueError(f"source {source!r} is not an API.1 system; known: {', '.join(SYSTEMS)}")
    return source


def transition(data: kit.JsonDict, to: str, now: datetime, options: kit.JsonDict) -> kit.JsonDict:
    kit.refuse_options(options, source="the accounting system connected on ACCEPTED")
    return move(data, to, now, _system(options.get("source")))


def new_consent(consent_id: str, name: str | None, now: datetime) -> kit.JsonDict:
    stamp = kit.format_instant(now)
    data: kit.JsonDict = dict.fromkeys(PUBLIC_FIELDS)
    data.update(id=consent_id, name=name, status=0, createdOn=stamp, _statusSince=stamp)
    return {**data, "_lastUsedOn": None, "_isTest": True}


def admin_create(ctx: kit.Context, fields: kit.JsonDict) -> kit.AdminCreated:
    """A consent in any state, with the defaults the API and the onboarding journey would give."""
    given = kit.AdminFields(fields)
    consent_id = given.uuid("id")
    created = given.instant("createdOn", ctx.now)
    data = new_consent(consent_id, given.pop("name", f"Sandbox consent {consent_id[:8]}"), created)
    if data["name"] is not None and not isinstance(data["name"], str):
        raise ValueError("name must be a string or null")
    source = _system(given.pop("source"))
    settings_id = given.pop("systemSettingsId")
    if settings_id is not None:
        data["systemSettingsId"] = settings_id
        kit.check_uuid(settings_id, "systemSettingsId")
    if given.status != "CREATED":
        move(data, given.status, given.instant("updatedOn", created), source)
    elif source is not None:
        data["source"] = source
    if "systemSettings" in given:
        data["systemSettings"] = given.pop("systemSettings")
    if "lastUsedOn" in given:
        data["_lastUsedOn"] = kit.format_instant(given.instant("lastUsedOn", ctx.now))
    if "isTest" in given:
        data["_isTest"] = bool(given.pop("isTest"))
    given.done(", ".join((*PUBLIC_FIELDS, "lastUsedOn", "isTest")))  # the spec's, and these
    return kit.AdminCreated(consent_id, data)
