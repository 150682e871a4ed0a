"""Yapily consents made by the admin API and the fixtures, with a real request's defaults."""

from __future__ import annotations

import re
import uuid
from typing import Any

from ... import kit
from .consent import WAS_AUTHORIZED, authorisation_url, authorise, new_consent, resolve_user
from .formats import stamp

ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$")
_ALLOWED = (
    "id, status, userUuid, applicationUserId, referenceId, institutionId, createdAt, "
    "transactionFrom, transactionTo, expiresAt, featureScope, state, institutionConsentId, "
    "authorizedAt, lastConfirmedAt, reconfirmBy, isDeletedByInstitution, callback, redirectUrl, "
    "oneTimeToken, forwardParameters (authorizedAt, lastConfirmedAt and reconfirmBy only with a "
    f"status that was authorised: {', '.join(sorted(WAS_AUTHORIZED))})"
)


def admin_create(ctx: kit.Context, fields: kit.JsonDict) -> kit.AdminCreated:
    """A consent in any status, with the defaults a real authorisation request would give."""
    try:
        return _admin_create(ctx, dict(fields))
    except OverflowError:
        raise ValueError("a date-time is too close to the ends of time (years 1 to 9999)") from None


def _admin_create(ctx: kit.Context, fields: kit.JsonDict) -> kit.AdminCreated:
    status = fields.pop("status")
    consent_id = str(fields.pop("id", None) or uuid.uuid4())
    kit.check_uuid(consent_id, "id")
    user_uuid = kit.optional_text(fields.pop("userUuid", None), "userUuid")
    if user_uuid is not None:
        kit.check_uuid(user_uuid, "userUuid")
    app_user = kit.optional_text(fields.pop("applicationUserId", None), "applicationUserId")
    if user_uuid is None and app_user is None:
        app_user = "sandbox-user"
    user_uuid, app_user = resolve_user(ctx, user_uuid, app_user)
    institution = kit.optional_text(fields.pop("institutionId", None), "institutionId")
    created = kit.instant_field(fields.pop("createdAt", None), ctx.now, "createdAt")
    data = new_consent(consent_id, institution or "modelo-sandbox", user_uuid, app_user, created)
    for name in ("referenceId", "state", "institutionConsentId"):
        if name in fields:
            data[name] = kit.optional_text(fields.pop(name), name)
    for name in ("transactionFrom", "transactionTo", "expiresAt"):
        if fields.get(name) is not None:
            key = "_requestedExpiresAt" if name == "expiresAt" else name
            data[key] = stamp(kit.instant_field(fields.pop(name), created, name))
    fields.pop("expiresAt", None)
    if "featureScope" in fields:
        data["featureScope"] = _features(fields.pop("featureScope"))
    _journey_fields(data, fields)
    if status in WAS_AUTHORIZED:
        authorised = kit.instant_field(fields.pop("authorizedAt", None), created, "authorizedAt")
        authorise(data, authorised)
        for name in ("lastConfirmedAt", "reconfirmBy"):
            if fields.get(name) is not None:
                data[name] = stamp(kit.instant_field(fields.pop(name), authorised, name))
    data["status"] = status
    if status == "EXPIRED" and kit.parse_instant(data["expiresAt"]) > ctx.now:
        data["expiresAt"] = stamp(ctx.now)
    if "isDeletedByInstitution" in fields:
        deleted = fields.pop("isDeletedByInstitution")
        if not isinstance(deleted, bool):
            raise ValueError("isDeletedByInstitution must be a boolean")
        data["isDeletedByInstitution"] = deleted or None
    kit.refuse_unknown(fields, _ALLOWED, "unknown or misplaced consent fields")
    made: kit.JsonDict = {}
    if status == "AWAITING_AUTHORIZATION":
        made["authorisationUrl"] = authorisation_url(ctx, data)
    return kit.AdminCreated(consent_id, data, made)


def _journey_fields(data: kit.JsonDict, fields: kit.JsonDict) -> None:
    for name, key in (("callback", "_callback"), ("redirectUrl", "_redirectUrl")):
        url = kit.optional_text(fields.pop(name, None), name)
        if url is not None and not ABSOLUTE_URI.match(url):
            raise ValueError(f"{name} must be an absolute URI")
        data[key] = url
    ott = fields.pop("oneTimeToken", False)
    if not isinstance(ott, bool) or (ott and not data["_callback"]):
        raise ValueError("oneTimeToken must be a boolean, and true only with a callback")
    data["_oneTimeToken"] = ott
    forward = fields.pop("forwardParameters", [])
    if not isinstance(forward, list) or not all(isinstance(p, str) for p in forward):
        raise ValueError("forwardParameters must be a list of strings")
    data["_forwardParameters"] = forward


def _features(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or len(set(map(str, value))) != len(value):
        raise ValueError("featureScope must be a non-empty list of distinct FeatureEnum values")
    known = kit.spec_enum("yapily.yaml", "FeatureEnum")  # Yapily's FeatureEnum, as the spec has it
    for item in value:
        if item not in known:
            raise ValueError(f"featureScope: {item!r} is not a Yapily FeatureEnum value")
    return [str(item) for item in value]
