"""Atto's consent: statuses and why they changed, its lifetime, admin creation from the spec."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from ... import kit
from .notify import DAYS, notice_at, notice_days, noticed

REAUTHENTICABLE = ("Expired", "Revoked")
# Atto Connect's journey errors (docs.atto.co .../platform-integration/errors#atto-connect).
CONNECT_ERRORS = {
    "access_denied": "The customer or the bank denied consent.",
    "provider_permanent_error": "An error occurred with the bank; the request cannot complete.",
    "provider_unsupported_feature": "The feature is not supported by this bank.",
    "unexpected_error": "An unexpected, unrecoverable error occurred.",
}
CANCELLED = "customer_cancelled"
# Simulator choice: the sandbox's banks and their ids (Atto's real provider ids are not public).
PROVIDERS = dict(
    enumerate(
        ("Atto Sandbox Bank", "Barclays", "HSBC UK", "Lloyds Bank", "NatWest", "Santander UK")
        + ("Monzo", "Starling Bank", "Nationwide Building Society"),
        start=1,
    )
)
DEFAULT_PROVIDER = 1
DEFAULT_DURATION, DEFAULT_LIFETIME = "P90D", timedelta(days=90)
DEFAULT_CONFIGURATION = "default"
REVOKED_BY_API = "Consent revoked via the Consent API"
EXPIRED_DETAILS = "Consent end date reached"
_IDS = uuid.UUID("6f0b7c1e-3a2d-4c59-9e8f-a770c0de0001")  # namespace for derived uuids
# Why a consent has its status, unless told otherwise.
_DETAILS: dict[str, str | None] = {"Pending": None, "Active": None}
_DETAILS |= {"Revoked": "Consent revoked by the user or the bank", "Expired": EXPIRED_DETAILS}
_DETAILS |= {"Abandoned": CANCELLED, "Failed": "access_denied"}


def apply_status(
    data: kit.JsonDict, to: str, now: datetime, details: str | None = None
) -> kit.JsonDict:
    """Move a consent to a status, with what the status implies; `details` overrides the default."""
    before, stamp = data["consentStatus"], kit.format_instant(now)
    data.update(consentStatus=to, statusUpdated=stamp)
    data["statusDetails"] = _DETAILS[to] if details is None else details
    if to == "Active":
        if before in REAUTHENTICABLE:
            data["journeyType"] = "Reauthentication"
        span = lifetime(data)
        data["consentStart"] = stamp
        data["consentEnd"] = None if span is None else kit.format_instant(now + span)
    elif to == "Expired":
        end = data.get("consentEnd")
        if end is None or kit.parse_instant(str(end)) > now:
            data["consentEnd"] = stamp
    return data


# The first status is the admin API's default; Expired and Revoked consents can become
# Active again through re-authentication in Atto Connect (FACTS §4.3). An Active consent is
# marked when its upcoming-expiration notice is due (notify.py), keeping its status.
STATES = kit.States(
    {
        "Pending": ("Active", "Abandoned", "Failed"),
        "Active": ("Revoked", "Expired"),
        "Revoked": ("Active",),
        "Expired": ("Active",),
        "Abandoned": (),
        "Failed": (),
    },
    [
        kit.Mark("Active", notice_at, then=noticed),
        kit.Expire("Active", kit.at_field("consentEnd"), "Expired"),
    ],
    spec_enum=kit.spec_enum("atto.yaml", "ConsentStatus"),
    field="consentStatus",
    move=apply_status,  # an expiry at consentEnd is the move to Expired
)


CONSENT: kit.JsonDict = kit.spec_schema("atto.yaml", "Consent")["properties"]
# The consent as Atto shows it: the 18 fields of the spec (and the seed), in its order.
render = kit.projection(CONSENT)


order_key = kit.order_by("_createdAt")  # lists show consents in the order they were created

# For `serve --record`: a consent as shown names its status `consentStatus`; admin_create
# takes `status`.
recording = kit.Recording(to_fixture=kit.renamed(consentStatus="status"))


def application_id(client_id: str) -> str:
    """The consent's applicationId: the client_id if it is a uuid, else a uuid derived from it."""
    try:
        return str(uuid.UUID(client_id))
    except ValueError:
        return str(uuid.uuid5(_IDS, f"application:{client_id}"))


def user_id(client_id: str, customer_ref: str | None) -> str:
    """One Atto user per client and customer reference, so `userId` is stable across journeys."""
    if customer_ref is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_IDS, f"user:{client_id}:{customer_ref}"))


def lifetime(data: kit.JsonDict) -> timedelta | None:
    """How long an authorisation lasts: None for Infinite, else `duration` (90 days by default)."""
    if data.get("consentDurationType") == "Infinite":
        return None
    try:
        span = kit.parse_duration(str(data.get("duration") or DEFAULT_DURATION))
    except ValueError:
        return DEFAULT_LIFETIME
    return span if span > timedelta() else DEFAULT_LIFETIME


def transition(data: kit.JsonDict, to: str, now: datetime, options: kit.JsonDict) -> kit.JsonDict:
    """The admin API's and the journey's transitions; options: `error` (Failed), `statusDetails`."""
    kit.refuse_options(
        options, error="the Atto Connect error of a Failed consent", statusDetails="any status"
    )
    details = options.get("statusDetails")
    if details is not None and not isinstance(details, str):
        raise ValueError("statusDetails must be a string")
    if "error" in options:
        if to != "Failed":
            raise ValueError("error is only for a move to Failed")
        if options["error"] not in CONNECT_ERRORS:
            raise ValueError(f"error must be one of {', '.join(CONNECT_ERRORS)}")
        details = details or str(options["error"])
    return apply_status(data, to, now, details)


def new_consent(
    ctx: kit.Context,
    consent_id: str,
    *,
    customer_ref: str | None,
    configuration: str | None = DEFAULT_CONFIGURATION,
    provider_id: int = DEFAULT_PROVIDER,
) -> kit.JsonDict:
    """A Pending consent of `ctx.tenant`, as Atto Connect makes it when the user has picked a
    bank, with its client's upcoming-expiration notice period."""
    client_id, now = ctx.tenant, ctx.now
    data = dict.fromkeys(CONSENT)
    data.update(consentId=consent_id, applicationId=application_id(client_id))
    data.update(userId=user_id(client_id, customer_ref), providerId=provider_id)
    data.update(providerName=PROVIDERS.get(provider_id), configurationName=configuration)
    data.update(customerReference=customer_ref, consentDurationType="Limited")
    data.update(consentStatus="Pending", duration=DEFAULT_DURATION)
    data.update(daysOfHistoricalTransactions=365, statusUpdated=kit.format_instant(now))
    data["permissions"] = ["ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail"]
    return {**data, "_createdAt": kit.format_instant(now), DAYS: notice_days(ctx)}


def admin_create(ctx: kit.Context, fields: kit.JsonDict) -> kit.AdminCreated:
    """A consent in any status, with the defaults Atto Connect gives (bank 1, 90 days...);
    each field is checked against the spec's Consent schema."""
    taken = kit.AdminFields(fields)
    raw_id = taken.pop("consentId") or taken.pop("id") or uuid.uuid4()
    consent_id = kit.check_uuid(raw_id, "consentId")
    properties = {k: v for k, v in CONSENT.items() if k not in ("consentId", "consentStatus")}
    given = taken.against(properties, "status, consentId (or id)")
    customer_ref = given.get("customerReference", f"sandbox-customer-{consent_id[:8]}")
    provider_id = given.get("providerId", DEFAULT_PROVIDER)
    data = new_consent(ctx, consent_id, customer_ref=customer_ref, provider_id=provider_id)
    data.update(given)  # providerName and userId, unless given, follow the given bank and reference
    _status_defaults(data, taken.status, ctx.now, given)
    return kit.AdminCreated(consent_id, data)


def _status_defaults(data: kit.JsonDict, status: str, now: datetime, given: kit.JsonDict) -> None:
    """What the status implies for the fields the request left out."""
    data["consentStatus"] = status
    if "statusDetails" not in given:
        data["statusDetails"] = _DETAILS[status]
    span = lifetime(data)
    if status in ("Active", "Revoked"):
        if "consentStart" not in given:
            data["consentStart"] = kit.format_instant(now)
        if "consentEnd" not in given and data["consentStart"] is not None:
            start = kit.parse_instant(data["consentStart"])
            data["consentEnd"] = None if span is None else kit.format_instant(start + span)
    elif status == "Expired":
        if "consentEnd" not in given or data["consentEnd"] is None:
            data["consentEnd"] = kit.format_instant(now)
        end = kit.parse_instant(data["consentEnd"])
        if end > now:
            raise ValueError("an Expired consent's consentEnd must not be after the simulated now")
        if "consentStart" not in given:
            data["consentStart"] = kit.format_instant(end - (span or DEFAULT_LIFETIME))
        if "statusUpdated" not in given:
            data["statusUpdated"] = data["consentEnd"]
