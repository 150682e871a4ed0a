"""Yapily's consent (an account authorisation): statuses, expiry, authorising, admin creation;
its timestamps and consent tokens."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from ... import kit
from ...kit import parse_instant as instant

# Yapily's timestamps: RFC 3339 in UTC with milliseconds, e.g. 2021-06-08T10:59:35.138Z.
stamp = kit.format_millis
# The simulator's own signing key: tokens are verifiable (see verify_token), never real; HS512
# JWTs shaped like the seed's consent token.
TOKENS = kit.JwtKey(b"consent-mockserver yapily sandbox signing key", "HS512")
sign_token, verify_token = TOKENS.sign, TOKENS.verify
# The seed's 13 account-information features, in the seed's order (as Yapily's example of a
# consent in the spec has them): the default featureScope.
DEFAULT_FEATURES = tuple(kit.spec_example("yapily.yaml", "ConsentBare")["featureScope"])
CONSENT_LIFETIME = timedelta(days=90)  # UK AIS consent, and the reconfirmation interval
# A user is known by its uuid and by the application's own id for it (applicationUserId).
USERS = kit.Aliases("yapily:users", ("uuid", "app"))
# A journey page acts only with a key the API handed to the consent's application (in the
# authorisationUrl and the qrCodeUrl); the page's id and `state` alone are not enough.
PAGE_ACCESS = kit.Grants("yapily:page-access", timedelta(days=1))
# Re-authorisation is documented for consents that were AUTHORIZED (or are EXPIRED).
REAUTHORISABLE = ("AUTHORIZED", "EXPIRED", "AWAITING_RE_AUTHORIZATION")
# Statuses that imply the user authorised the consent at some point (token, authorizedAt...).
WAS_AUTHORIZED = ("AUTHORIZED", "EXPIRED", "REVOKED", "CONSUMED", "AWAITING_RE_AUTHORIZATION")
_AWAITING = ("AUTHORIZED", "REJECTED", "FAILED", "REVOKED")
_PRE = ("PRE_AUTHORIZED", "REJECTED", "FAILED", "REVOKED")
# Yapily keeps every consent: AUTHORIZED → EXPIRED at `expiresAt`, nothing is purged.
STATES = kit.States(
    {
        "AWAITING_AUTHORIZATION": _AWAITING,
        "AWAITING_FURTHER_AUTHORIZATION": _AWAITING,
        # EXPIRED: a re-authorisation of an expired consent that fails returns it there.
        "AWAITING_RE_AUTHORIZATION": (*_AWAITING, "EXPIRED"),
        "AUTHORIZED": ("EXPIRED", "REVOKED", "AWAITING_RE_AUTHORIZATION", "CONSUMED"),
        "CONSUMED": ("REVOKED",),
        "REJECTED": ("REVOKED",),
        "REVOKED": (),
        "FAILED": ("REVOKED",),
        "EXPIRED": ("AWAITING_RE_AUTHORIZATION", "REVOKED"),
        "UNKNOWN": ("REVOKED",),
        "INVALID": ("REVOKED",),
        "AWAITING_DECOUPLED_PRE_AUTHORIZATION": _PRE,
        "AWAITING_PRE_AUTHORIZATION": _PRE,
        "PRE_AUTHORIZED": ("AWAITING_AUTHORIZATION", "REVOKED"),
        "AWAITING_DECOUPLED_AUTHORIZATION": _AWAITING,
        "AWAITING_SCA_METHOD": ("AWAITING_SCA_CODE", *_AWAITING),
        "AWAITING_SCA_CODE": _AWAITING,
    },
    [kit.Expire("AUTHORIZED", kit.at_field("expiresAt"), "EXPIRED")],
    spec_enum=kit.spec_enum("yapily.yaml", "AuthorisationStatus"),
)


# The consent as Yapily shows it, in the spec's order. `timeToExpire*` are never stored: the
# clock gives them (handlers.render_at).
render = kit.projection(kit.spec_fields("yapily.yaml", "Consent"), omit_null=True)


def consent_token(data: kit.JsonDict) -> str:
    claims = {"INSTITUTION": data.get("institutionId"), "CONSENT": data["id"]}
    if data.get("applicationUserId"):
        claims["APPLICATION_USER_ID"] = data["applicationUserId"]
    claims["USER"] = data.get("userUuid")
    return sign_token(claims)


def authorise(data: kit.JsonDict, at: datetime) -> None:
    """Fill what an authorisation gives; a re-authorisation keeps the consent's token."""
    end = stamp(at + CONSENT_LIFETIME)
    data.update(authorizedAt=stamp(at), lastConfirmedAt=stamp(at), reconfirmBy=end)
    data["expiresAt"] = data.get("_requestedExpiresAt") or end
    data["consentToken"] = data.get("consentToken") or consent_token(data)


def transition(data: kit.JsonDict, to: str, now: datetime, options: kit.JsonDict) -> kit.JsonDict:
    """Move a consent to a new status, filling what that status implies."""
    kit.refuse_options(options, expiresAt="RFC 3339, with AUTHORIZED only: the consent's hard end")
    reauthorising = data.pop("_reauthFrom", None)
    if to in ("REJECTED", "FAILED") and reauthorising:
        data["status"] = reauthorising  # a failed re-authorisation leaves the status as it was
        return data
    if reauthorising:  # a new 90-day period: the first request's hard end no longer applies
        data.pop("_requestedExpiresAt", None)
    if "expiresAt" in options:
        if to != "AUTHORIZED":
            raise ValueError("expiresAt is an option of AUTHORIZED only")
        hard_end = kit.instant_field(options["expiresAt"], now, "expiresAt")
        data["_requestedExpiresAt"] = stamp(hard_end)
    data["status"] = to
    if to == "AUTHORIZED":
        authorise(data, now)
    elif to == "PRE_AUTHORIZED":  # the pre-authorisation's token, for updatePreAuthorise...
        data["consentToken"] = consent_token(data)
    elif to == "EXPIRED" and (not data.get("expiresAt") or instant(data["expiresAt"]) > now):
        data["expiresAt"] = stamp(now)
    return data


def apply_account_request(data: kit.JsonDict, request: kit.JsonDict) -> None:
    """The `accountRequest` fields a consent keeps: its transaction window, feature scope and
    the expiry asked for (applied when it is authorised)."""
    for name in ("transactionFrom", "transactionTo", "expiresAt"):
        if name in request:
            key = "_requestedExpiresAt" if name == "expiresAt" else name
            data[key] = stamp(instant(request[name]))
    if request.get("featureScope"):
        data["featureScope"] = list(request["featureScope"])


def new_consent(
    consent_id: str, institution: str, user_uuid: str, app_user: str | None, now: datetime
) -> kit.JsonDict:
    return {
        "id": consent_id,
        "userUuid": user_uuid,
        "applicationUserId": app_user or None,
        "institutionId": institution,
        "status": "AWAITING_AUTHORIZATION",
        "createdAt": stamp(now),
        "featureScope": list(DEFAULT_FEATURES),
        "state": uuid.uuid4().hex,
        "institutionConsentId": f"aac-{uuid.uuid4()}",
    }


def journey_urls(ctx: kit.Context, data: kit.JsonDict) -> kit.JsonDict:
    """`authorisationUrl` and `qrCodeUrl`, both carrying a new page-access key for this consent
    of this application (the pages refuse to act without it)."""
    access = PAGE_ACCESS.grant(ctx, data["id"])
    page = f"{ctx.sandbox_url}/authorise/{data['id']}"
    return {
        "authorisationUrl": f"{page}?state={data['state']}&access={access}",
        "qrCodeUrl": f"{ctx.sandbox_url}/qr/{data['id']}?access={access}",
    }


def resolve_user(ctx: kit.Context, user_uuid: str | None, app_user: str | None) -> tuple[str, str]:
    """The user a request names, created if new; ValueError when the two ids disagree."""
    found = USERS.resolve(ctx, user_uuid and user_uuid.lower(), app_user, lambda: str(uuid.uuid4()))
    if found is None:
        raise ValueError(
            f"userUuid {user_uuid} and applicationUserId {app_user} do not name the same user"
        )
    return found


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
        return _admin_create(ctx, kit.AdminFields(fields))
    except OverflowError:
        raise ValueError("a date-time is too close to the ends of time (years 1 to 9999)") from None


def _admin_create(ctx: kit.Context, given: kit.AdminFields) -> kit.AdminCreated:
    status = given.status
    consent_id = given.uuid("id")
    user_uuid = given.text("userUuid")
    if user_uuid is not None:
        kit.check_uuid(user_uuid, "userUuid")
    # Neither id given: the sandbox's default user.
    app_user = given.text("applicationUserId") or (None if user_uuid else "sandbox-user")
    user_uuid, app_user = resolve_user(ctx, user_uuid, app_user)
    institution = given.text("institutionId")
    created = given.instant("createdAt", ctx.now)
    data = new_consent(consent_id, institution or "modelo-sandbox", user_uuid, app_user, created)
    data |= given.texts("referenceId", "state", "institutionConsentId")
    for name, at in given.instants("transactionFrom", "transactionTo", "expiresAt").items():
        data["_requestedExpiresAt" if name == "expiresAt" else name] = stamp(at)
    given.pop("expiresAt")
    if "featureScope" in given:
        data["featureScope"] = _features(given.pop("featureScope"))
    _journey_fields(data, given)
    if status in WAS_AUTHORIZED:
        authorise(data, given.instant("authorizedAt", created))
        confirmed = given.instants("lastConfirmedAt", "reconfirmBy")
        data |= {name: stamp(at) for name, at in confirmed.items()}
    data["status"] = status
    if status == "EXPIRED" and kit.parse_instant(data["expiresAt"]) > ctx.now:
        data["expiresAt"] = stamp(ctx.now)
    is_bool = {"isDeletedByInstitution": lambda value: isinstance(value, bool)}
    deleted = given.checked(is_bool, "{name} must be a boolean")
    data |= {name: value or None for name, value in deleted.items()}  # false: not shown
    given.done(_ALLOWED, "unknown or misplaced consent fields")
    made: kit.JsonDict = {}
    if status == "AWAITING_AUTHORIZATION":
        made["authorisationUrl"] = journey_urls(ctx, data)["authorisationUrl"]
    elif status == "PRE_AUTHORIZED":
        data["consentToken"] = consent_token(data)
    return kit.AdminCreated(consent_id, data, made)


def _journey_fields(data: kit.JsonDict, given: kit.AdminFields) -> None:
    for name, key in (("callback", "_callback"), ("redirectUrl", "_redirectUrl")):
        url = given.text(name)
        if url is not None and not ABSOLUTE_URI.match(url):
            raise ValueError(f"{name} must be an absolute URI")
        data[key] = url
    ott = given.pop("oneTimeToken", False)
    if not isinstance(ott, bool) or (ott and not data["_callback"]):
        raise ValueError("oneTimeToken must be a boolean, and true only with a callback")
    data["_oneTimeToken"] = ott
    forward = given.pop("forwardParameters", [])
    if not isinstance(forward, list) or not all(isinstance(p, str) for p in forward):
        raise ValueError("forwardParameters must be a list of strings")
    data["_forwardParameters"] = forward


def _features(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or len(set(map(str, value))) != len(value):
        raise ValueError("featureScope must be a non-empty list of distinct FeatureEnum values")
    known = kit.spec_enum("yapily.yaml", "FeatureEnum")  # Yapily's FeatureEnum, as the spec has it
    if unknown := [item for item in value if item not in known]:
        raise ValueError(f"featureScope: {unknown[0]!r} is not a Yapily FeatureEnum value")
    return [str(item) for item in value]


# For `serve --record`: the consent token is the live consent's secret; a replayed consent is
# given its own.
recording = kit.Recording(to_fixture=kit.without("consentToken"))
