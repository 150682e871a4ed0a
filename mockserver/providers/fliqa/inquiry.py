"""Fliqa's consent inquiries: each tenant's default one, and those its fixtures seed."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ... import kit

SPEC = "fliqa.yaml"
INQUIRY_NS = "fliqa:inquiry"  # tenant|inquiryId → the inquiry without `tenant`
COMPANY_NS = "fliqa:company"  # tenant → the `tenant` object's company and address
# The defaults: the spec's example of a tenant's default inquiry (but its id and tenant slug),
# and the sandbox company it is for.
_EXAMPLE = kit.spec_answer_example(SPEC, "getConsentInquiry", "default")
COMPANY = {k: v for k, v in _EXAMPLE.pop("tenant").items() if k != "name"}
DEFAULT = {k: v for k, v in _EXAMPLE.items() if k != "id"}


def default_id(tenant: str) -> str:
    """Each tenant has one default consent inquiry; its id is stable for the tenant."""
    return hashlib.sha256(f"fliqa-inquiry:{tenant}".encode()).hexdigest()[:32]


def find(ctx: kit.Context, inquiry_id: str) -> kit.JsonDict | None:
    """The tenant's inquiry of that id (without `tenant`), or None."""
    if inquiry_id == default_id(ctx.tenant):
        return {"id": inquiry_id, **DEFAULT}
    found = ctx.store.get_value(INQUIRY_NS, f"{ctx.tenant}|{inquiry_id}", ctx.now)
    return found if isinstance(found, dict) else None


def shown(ctx: kit.Context, inquiry: kit.JsonDict, slug: str) -> kit.JsonDict:
    """The inquiry as `getConsentInquiry` answers it: with the tenant it is for."""
    company = ctx.store.get_value(COMPANY_NS, ctx.tenant, ctx.now)
    return {**inquiry, "tenant": {"name": slug, **(company or COMPANY)}}


def _check(entry: Any, where: str) -> kit.JsonDict:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ValueError(f"{where}: an inquiry needs an `id` string")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", entry["id"]):
        raise ValueError(f"{where}: id must be 1-64 letters, digits, '_' or '-'")
    kit.refuse_unknown(set(entry) - {"id", *DEFAULT}, f"id, {', '.join(DEFAULT)}", where)
    inquiry = {"id": entry["id"], **DEFAULT, **{k: v for k, v in entry.items() if k != "id"}}
    for name in ("status", "frequency", "scope"):
        allowed = kit.spec_enum(SPEC, "ConsentInquiry", name)
        if inquiry[name] not in allowed:
            raise ValueError(f"{where}: {name} must be one of {', '.join(allowed)}")
    for name in ("name", "displayName", "description"):
        if not isinstance(inquiry[name], str):
            raise ValueError(f"{where}: {name} must be a string")
    return inquiry


def seed(ctx: kit.Context, inquiries: Any, company: Any) -> None:
    """The fixtures' `credentials.inquiries` (a list) and `credentials.company` (a mapping)."""
    if inquiries is not None:
        if not isinstance(inquiries, list):
            raise ValueError("inquiries must be a list")
        for index, entry in enumerate(inquiries):
            inquiry = _check(entry, f"inquiries[{index}]")
            ctx.store.put_value(INQUIRY_NS, f"{ctx.tenant}|{inquiry['id']}", inquiry, None)
    if company is not None:
        if not isinstance(company, dict) or not all(isinstance(v, str) for v in company.values()):
            raise ValueError("company must be a mapping of strings")
        kit.refuse_unknown(set(company) - set(COMPANY), ", ".join(COMPANY), "company")
        ctx.store.put_value(COMPANY_NS, ctx.tenant, {**COMPANY, **company}, None)
