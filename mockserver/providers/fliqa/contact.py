"""Fliqa's checks of phone numbers, e-mail addresses and IBANs, with its error sub-codes."""

from __future__ import annotations

import re
from typing import Any

from ... import kit
from .dialect import fail

_SEPARATORS = " -.()"
_EMAIL = re.compile(r"^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$")
_PHONE_MESSAGES = {
    "string_supplied_was_too_long_to_parse": "The phone number is too long to parse",
    "phone_number_start_with_plus_and_country": (
        "Phone number must start with '+' and the country code"
    ),
    "supplied_string_not_phone_number": "The phone number contains characters that are not digits",
    "could_not_interpret_numbers_after_plus": "Could not interpret the numbers after '+'",
    "string_supplied_too_short_to_be_phone_number": "The phone number is too short",
    "string_supplied_too_long_to_be_phone_number": "The phone number is too long",
    "phone_number_invalid": "The phone number is not valid",
}


def phone_problem(value: str) -> str | None:
    """The seed's sub-code for a malformed phone number (rules in the spec's Msisdn)."""
    if len(value) > 250:
        return "string_supplied_was_too_long_to_parse"
    if not value.startswith("+"):
        return "phone_number_start_with_plus_and_country"
    rest = value[1:]
    if any(not (c.isascii() and c.isdigit()) and c not in _SEPARATORS for c in rest):
        return "supplied_string_not_phone_number"
    digits = "".join(c for c in rest if c.isdigit())
    if not digits or digits[0] == "0":
        return "could_not_interpret_numbers_after_plus"
    if len(digits) < 5:
        return "string_supplied_too_short_to_be_phone_number"
    if len(digits) > 17:
        return "string_supplied_too_long_to_be_phone_number"
    if not 8 <= len(digits) <= 15:
        return "phone_number_invalid"
    return None


def iban_ok(value: str) -> bool:
    """ISO 13616: country, check digits, BBAN; the rearranged number mod 97 is 1."""
    text = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", text):
        return False
    return int("".join(str(int(c, 36)) for c in text[4:] + text[:4])) % 97 == 1


def contact(body: kit.JsonDict) -> tuple[str, str]:
    """The phone number and e-mail of a login or create request, validated ('' if absent)."""
    msisdn, email = str(body.get("msisdn") or ""), str(body.get("email") or "")
    if not msisdn and not email:
        message = "Email or phone number is required"
        raise fail(401, "unauthorized", message, "email_or_phone_number_required")
    if msisdn and (problem := phone_problem(msisdn)):
        raise fail(400, "invalid_parameter", _PHONE_MESSAGES[problem], problem)
    if email and not _EMAIL.match(email):
        raise fail(400, "invalid_parameter", "The e-mail address is not valid", "email_invalid")
    return msisdn, email


def owner(msisdn: str, email: str) -> kit.JsonDict:
    return {k: v for k, v in (("msisdn", msisdn), ("email", email)) if v}


def admin_owner(value: Any) -> kit.JsonDict:
    if not isinstance(value, dict) or not value or set(value) - {"msisdn", "email"}:
        raise ValueError("owner must be an object with msisdn and/or email")
    try:
        return owner(*contact(value))
    except kit.ApiError as err:
        raise ValueError(f"owner: {err.message}") from None


def recipients(tenant: str, msisdn: str, email: str) -> list[str]:
    """The OTP keys of a phone number (digits only) and an e-mail (case-folded)."""
    keys = [f"{tenant}|sms:+{''.join(c for c in msisdn if c.isdigit())}"] if msisdn else []
    return keys + ([f"{tenant}|email:{email.casefold()}"] if email else [])
