"""Checks of banking identifiers a consent's data may hold: IBANs (ISO 13616)."""

from __future__ import annotations

import re

__all__ = ["iban_ok"]


def iban_ok(value: str) -> bool:
    """ISO 13616: country, check digits, BBAN; the rearranged number mod 97 is 1. Spaces and
    case are ignored, as a user types an IBAN in groups."""
    text = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", text):
        return False
    return int("".join(str(int(c, 36)) for c in text[4:] + text[:4])) % 97 == 1
