"""Finqware's consent: ACTIVE until consent_exp, data retention, admin creation."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from ... import kit

# Sandbox bank skills (seed; FACTS.md §2.1) → (country, servicer) for `originator`.
SKILLS: dict[str, tuple[str, str]] = {
    "rzb_ro_aisp_sbx_#1.0": ("Romania", "Raiffeisen Bank Romania"),
    "bt_ro_aisp_sbx_#2.0": ("Romania", "Banca Transilvania"),
}
DEFAULT_SKILL = "rzb_ro_aisp_sbx_#1.0"
CONSENT_DURATION = timedelta(days=90)  # consent_duration default, 129600 min (FACTS.md §2.3)
CACHE_RETENTION = timedelta(days=120)  # cache_max_data_retention default, 172800 min
MAX_RETENTION = 2147483647
TENANT_NS = "finqware:tenant"  # client_id → {secret, name}


def end(data: kit.JsonDict, to: str, at: datetime, retention: int | None = None) -> kit.JsonDict:
    """ACTIVE → DELETED or EXPIRED at `at`; `retention` minutes from then set max_data_retention."""
    stamp = kit.format_instant(at)
    if to == "EXPIRED" and kit.parse_instant(data["consent_exp"]) > at:
        data["consent_exp"] = stamp  # expired early (admin): consent_exp is when it happened
    data.update(status=to, utc_last_update=stamp, _ended_at=stamp)
    if retention is not None:
        data["max_data_retention"] = minutes_after(at, retention)
    return data


STATES = kit.States(
    {"ACTIVE": ("DELETED", "EXPIRED"), "DELETED": (), "EXPIRED": ()},
    [kit.Expire("ACTIVE", kit.at_field("consent_exp"), "EXPIRED")],
    spec_enum=kit.spec_enum("finqware.yaml", "ConsentStatus"),
    move=end,  # expired at consent_exp: utc_last_update and _ended_at are it
)


render = kit.public  # the consent as `result` of /v1/consents/get shows it


def token() -> str:
    return secrets.token_urlsafe(32)


def tenant_name(ctx: kit.Context) -> str:
    registered = ctx.store.get_value(TENANT_NS, ctx.tenant, ctx.now)
    return str(registered["name"]) if registered else ctx.tenant


def new_consent(
    credentials_id: str, access_token: str, skill: str, tenant: str, name: str, at: datetime
) -> kit.JsonDict:
    """An ACTIVE consent as the token exchange creates it at `at`."""
    country, servicer = SKILLS[skill]
    stamp = kit.format_instant(at)
    return {
        "credentials_id": credentials_id,
        "originator": {"country": country, "servicer": servicer, "skill": skill},
        "status": "ACTIVE",
        "tenant_app_info": {"client_id": tenant, "name": name},
        "utc_created": stamp,
        "utc_last_update": stamp,
        "consent_exp": kit.format_instant(at + CONSENT_DURATION),
        "max_data_retention": kit.format_instant(at + CACHE_RETENTION),
        "_access_token": access_token,
        "_ended_at": None,
    }


def minutes_after(at: datetime, minutes: int) -> str:
    try:
        return kit.format_instant(at + timedelta(minutes=minutes))
    except OverflowError:
        raise ValueError(
            f"{minutes} minutes after {kit.format_instant(at)} is out of range"
        ) from None


def retention_of(value: Any) -> int | None:
    """pcd_data_retention as whole minutes 0..2147483647 (5.0 is 5), or None when invalid."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if 0 <= int(value) <= MAX_RETENTION else None


def _admin_retention(value: Any) -> int | None:
    minutes = None if value is None else retention_of(value)
    if value is not None and minutes is None:
        raise ValueError(f"pcd_data_retention must be an integer 0..{MAX_RETENTION}, got {value!r}")
    return minutes


def transition(data: kit.JsonDict, to: str, now: datetime, options: kit.JsonDict) -> kit.JsonDict:
    kit.refuse_options(options, pcd_data_retention="minutes from now until max_data_retention")
    return end(data, to, now, _admin_retention(options.get("pcd_data_retention")))


def admin_create(ctx: kit.Context, fields: kit.JsonDict) -> kit.AdminCreated:
    """A consent in any status, with the defaults a token exchange (and then delete) gives."""
    given = kit.AdminFields(fields)
    status = given.status
    credentials_id = kit.text(given.pop("credentials_id") or str(uuid.uuid4()), "credentials_id")
    access_token = kit.text(given.pop("access_token") or token(), "access_token")
    skill = given.pop("skill", DEFAULT_SKILL)
    if skill not in SKILLS:
        raise ValueError(f"skill {skill!r} is not a sandbox skill; known: {', '.join(SKILLS)}")
    name = kit.text(given.pop("name") or tenant_name(ctx), "name")
    # An EXPIRED consent by default expired just now, at the end of its 90 days.
    default_created = ctx.now - CONSENT_DURATION if status == "EXPIRED" else ctx.now
    created = given.instant("utc_created", default_created)
    data = new_consent(credentials_id, access_token, skill, ctx.tenant, name, created)
    for key in ("consent_exp", "max_data_retention"):
        if key in given:
            data[key] = kit.format_instant(given.instant(key, created))
    if kit.parse_instant(data["consent_exp"]) < created:
        raise ValueError("consent_exp must not be before utc_created")
    default_end = max(created, min(ctx.now, kit.parse_instant(data["consent_exp"])))
    ended = given.instant("utc_last_update", default_end)
    retention = _admin_retention(given.pop("pcd_data_retention"))
    given.done(
        "credentials_id, access_token, skill, name, utc_created, utc_last_update, consent_exp, "
        "max_data_retention, pcd_data_retention, status"
    )
    if status != "ACTIVE":
        if ended < created:
            raise ValueError("utc_last_update must not be before utc_created")
        end(data, status, ended, retention)
    elif retention is not None:
        raise ValueError("pcd_data_retention applies only to a DELETED or EXPIRED consent")
    secrets_shown = {"credentials_id": credentials_id, "access_token": access_token}
    return kit.AdminCreated(credentials_id, data, secrets_shown)


# For `serve --record`: the consent is a ConsentInfo; who started it and for which app
# (`originator`, `tenant_app_info`) follow from the replaying tenant.
recording = kit.Recording(
    schema="ConsentInfo",
    to_fixture=kit.without("originator", "tenant_app_info"),
)
