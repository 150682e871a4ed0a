"""Fliqa's consent: the data a bank asks for, the bank step, statuses, admin creation."""

from __future__ import annotations

import copy
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ... import kit
from . import dialect, inquiry

VALIDITY = timedelta(days=90)
SECRET_ITEMS = frozenset({"password", "otp"})
PUBLIC_FIELDS = kit.spec_fields("fliqa.yaml", "Consent")

# The sandbox providers (title, country, items, iban) and the items they ask for, as the spec
# states them.
_PROVIDER_ID = kit.spec_schema("fliqa.yaml", "CreateConsentRequest")["properties"]["providerId"]
BANKS: dict[str, kit.JsonDict] = _PROVIDER_ID["x-sandbox-providers"]
DEFAULT_BANK = "sandbox-bank-at"
ITEMS: dict[str, kit.JsonDict] = kit.spec_schema("fliqa.yaml", "ConsentDataItemName")["x-items"]
CHOICES = [choice["value"] for choice in ITEMS["select"]["properties"]]
SANDBOX_VALUES = {"username": "tester", "password": "sandbox", "otp": "123456", "select": "all"}


def _expired(data: kit.JsonDict, at: datetime) -> kit.JsonDict:
    return {"modified": data["validUntil"]}


STATES = kit.States(
    {
        "initiated": ("started", "rejected", "failed"),
        "started": ("received", "rejected", "failed"),
        "received": ("valid", "partially_authorised", "rejected", "failed"),
        "partially_authorised": ("valid", "rejected", "failed"),
        "valid": ("expired", "revoked_by_psu", "terminated_by_tpp"),
        "rejected": (),
        "revoked_by_psu": (),
        "expired": (),
        "terminated_by_tpp": (),
        "failed": (),
    },
    [kit.Expire("valid", kit.at_field("validUntil"), "expired", then=_expired)],
    spec_enum=kit.spec_enum("fliqa.yaml", "ConsentStatus"),
)


def render(data: kit.JsonDict, items: bool = True, sandbox_url: str | None = None) -> kit.JsonDict:
    """The consent as Fliqa shows it on create and add-data: secret item values masked, the
    bank page's URL on `sandbox_url` (this host) if given; without `items` as `getConsent`, the
    list and the webhooks show it, without `consentData`."""
    shown = {key: copy.deepcopy(data[key]) for key in PUBLIC_FIELDS if key in data}
    if not items:
        shown.pop("consentData", None)
    for item in shown.get("consentData", []):
        if item["name"] in SECRET_ITEMS and "value" in item:
            item["value"] = "********"
        elif item["name"] == "redirect" and sandbox_url is not None:
            item["value"] = bank_page(data, sandbox_url)
    return shown


order_key = kit.order_by("created", tie="consentId", newest_first=True)


def pending(data: kit.JsonDict) -> list[str]:
    """The items the user still owes (the bank's `redirect` step excluded)."""
    return [i["name"] for i in data["consentData"] if i["name"] != "redirect" and "value" not in i]


def fill(data: kit.JsonDict, values: Mapping[str, str]) -> None:
    """The values of the items `values` names."""
    for item in data["consentData"]:
        if item["name"] in values:
            item["value"] = values[item["name"]]


def bank_page(data: kit.JsonDict, sandbox_url: str | None = None) -> str:
    """The bank page of the consent: its URL carries the consent's bank key, which only the
    tenant's own API answers (and the admin API) show, so a consent id alone opens nothing."""
    base = sandbox_url if sandbox_url is not None else data.get("_sandboxUrl", "")
    return f"{base}/bank/{data['consentId']}/{data.get('_bankKey', '')}"


def open_bank_step(data: kit.JsonDict) -> None:
    """Every item has a value: add the `redirect` item that leads to the sandbox bank page,
    under a fresh unguessable key for this journey."""
    if not any(item["name"] == "redirect" for item in data["consentData"]):
        data["_bankKey"] = secrets.token_urlsafe(24)
        step = {"name": "redirect", **ITEMS["redirect"], "value": bank_page(data)}
        data["consentData"].append(step)


def transition(data: kit.JsonDict, to: str, now: datetime, options: kit.JsonDict) -> kit.JsonDict:
    """Move a consent to a new status, filling what the status implies."""
    if options:
        unknown = ", ".join(sorted(options))
        raise ValueError(f"unknown transition options: {unknown}; fliqa takes none")
    data = copy.deepcopy(data)
    bank, owed = BANKS.get(data["providerId"], BANKS[DEFAULT_BANK]), pending(data)
    opened = to in ("received", "valid", "partially_authorised")  # every item given
    given = owed if opened else owed[:1] if to == "started" and len(owed) > 1 else []
    fill(data, {name: {**SANDBOX_VALUES, "iban": bank["iban"]}[name] for name in given})
    if opened:
        open_bank_step(data)
    if to == "expired" and kit.parse_instant(data["validUntil"]) > now:
        data["validUntil"] = kit.format_instant(now)
    data.update(status=to, modified=kit.format_instant(now))
    return data


def new_consent(
    ctx: kit.Context,
    consent_id: str,
    provider: str,
    owner: kit.JsonDict,
    now: datetime,
    inquiry_id: str | None = None,
) -> kit.JsonDict:
    """A new `initiated` consent made from one of the tenant's inquiries (default: its own)."""
    bank, stamp = BANKS[provider], kit.format_instant(now)
    made_from = inquiry.find(ctx, inquiry_id or inquiry.default_id(ctx.tenant))
    if made_from is None:
        raise ValueError(f"inquiryId {inquiry_id!r} is not one of the tenant's inquiries")
    data: kit.JsonDict = {"inquiryId": made_from["id"], "consentId": consent_id}
    data.update(status="initiated", created=stamp, modified=stamp, scope=made_from["scope"])
    data["validUntil"] = kit.format_instant(now + VALIDITY)
    data["consentData"] = [{"name": name, **copy.deepcopy(ITEMS[name])} for name in bank["items"]]
    data.update(providerId=provider, name=made_from["name"], owner=owner, country=bank["country"])
    data.update(description=made_from["description"])
    data.update({"data": [], "locale": "en", "_sandboxUrl": ctx.sandbox_url})
    if not bank["items"]:
        open_bank_step(data)
    return data


def _is_data_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(e, dict)
        and set(e) <= {"key", "value"}
        and all(isinstance(v, str) for v in e.values())
        for e in value
    )


_ADMIN_CHECKS: dict[str, Callable[[Any], bool]] = {
    "data": _is_data_list,
    "scope": lambda v: v in kit.spec_enum("fliqa.yaml", "ConsentScope"),
    "name": lambda v: isinstance(v, str),
    "description": lambda v: isinstance(v, str),
    "country": lambda v: isinstance(v, str) and re.fullmatch(r"[A-Z]{2}", v) is not None,
    "locale": lambda v: isinstance(v, str) and re.fullmatch(r"[a-z]{2}", v) is not None,
}


def admin_create(ctx: kit.Context, fields: kit.JsonDict) -> kit.AdminCreated:
    """A consent in any status, with the defaults a real login + create + journey would give."""
    given = kit.AdminFields(fields)
    consent_id = str(given.pop("consentId") or uuid.uuid4().hex)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", consent_id):
        raise ValueError(f"consentId must be 1-64 letters, digits, '_' or '-', got {consent_id!r}")
    provider = given.pop("providerId", DEFAULT_BANK)
    if provider not in BANKS:
        known = ", ".join(BANKS)
        raise ValueError(f"providerId {provider!r} is not a sandbox bank; known: {known}")
    owner = given.pop("owner", {"msisdn": "+43660123456"})
    if not isinstance(owner, dict) or not owner or set(owner) - {"msisdn", "email"}:
        raise ValueError("owner must be an object with msisdn and/or email")
    try:
        owner = dialect.owner(*dialect.contact(owner))
    except kit.ApiError as err:
        raise ValueError(f"owner: {err.message}") from None
    created = given.instant("created", ctx.now)
    asked = given.pop("inquiryId")
    if asked is not None and not isinstance(asked, str):
        raise ValueError("inquiryId must be a string")
    data = new_consent(ctx, consent_id, provider, owner, created, asked)
    data["validUntil"] = kit.format_instant(given.instant("validUntil", created + VALIDITY))
    data.update(
        given.checked(_ADMIN_CHECKS, "{name} {value} is not allowed here; see the fliqa spec")
    )
    moved = given.instant("modified", created)
    given.done(
        "consentId, status, providerId, owner, data, inquiryId, scope, name, description, "
        "country, locale, created, modified, validUntil"
    )
    for step in STATES.path_to("initiated", given.status):
        data = transition(data, step, moved, {})
    return kit.AdminCreated(consent_id, data)


# For `serve --record`: a recorded consent names an inquiry of the live tenant, which the
# replaying tenant does not have (it takes the tenant's default one), and shows its bank step
# (`consentData`), which the replay opens again from the status.
recording = kit.Recording(to_fixture=kit.without("inquiryId", "consentData"))
