"""kit.iban_ok: ISO 13616's mod-97 check, spaces and case ignored."""

from __future__ import annotations

import pytest

from mockserver import kit


@pytest.mark.parametrize(
    "iban", ["GB82WEST12345698765432", "gb82 west 1234 5698 7654 32", "SI56263300012039086"]
)
def test_valid_ibans_pass(iban: str) -> None:
    assert kit.iban_ok(iban)


@pytest.mark.parametrize(
    "iban", ["GB82WEST12345698765433", "GB82", "8282WEST12345698765432", "GB82-WEST-1234", ""]
)
def test_a_wrong_check_or_shape_fails(iban: str) -> None:
    assert not kit.iban_ok(iban)
