"""kit.StampedSignature: a `t=<epoch>,<v>=<hex>[,<v0>=<hex>]` header signed and checked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mockserver import kit
from mockserver.webhooks.model import GENERIC_HEADER, generic_sign

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BODY = b'{"id":"c1","status":"valid"}'


def _body_only(stamp: int, url: str, body: bytes) -> bytes:
    return f"{stamp}.".encode() + body


# The simulator's own generic scheme, declared: it signs "{t}.{body}" under v1 and v0.
GENERIC = kit.StampedSignature(GENERIC_HEADER, _body_only, current="v1")


def test_it_signs_as_the_generic_signer_does() -> None:
    assert GENERIC.sign(BODY, "http://x/", "s", None, AT) == generic_sign(
        BODY, "http://x/", "s", None, AT
    )
    assert GENERIC.sign(BODY, "http://x/", "s", "old", AT) == generic_sign(
        BODY, "http://x/", "s", "old", AT
    )


def test_verify_takes_the_current_or_the_previous_secret() -> None:
    header = GENERIC.sign(BODY, "", "new", "old", AT)[GENERIC_HEADER]
    assert GENERIC.parts(header)[0] == int(AT.timestamp())
    assert GENERIC.verify(header, BODY, "", "new")
    assert GENERIC.verify(header, BODY, "", "newer", "old")  # v1 stale, v0 matches
    assert not GENERIC.verify(header, BODY, "", "newer")  # no previous secret given
    assert not GENERIC.verify(header, BODY + b" ", "", "new")
    assert not GENERIC.verify("t=1,v1=\u00e9", BODY, "", "new")  # False, not TypeError


def test_the_message_decides_what_is_signed() -> None:
    with_url = kit.StampedSignature("X-Sig", lambda t, url, body: f"{t}.{url}.".encode() + body)
    header = with_url.sign(BODY, "https://a/", "s", None, AT)["X-Sig"]
    assert header.startswith(f"t={int(AT.timestamp())},v=") and ",v0=" not in header
    assert with_url.verify(header, BODY, "https://a/", "s")
    assert not with_url.verify(header, BODY, "https://b/", "s")


@pytest.mark.parametrize("header", ["v1=abc", "t=x,v1=abc", "t=1,v1=a,v0=b,x=c", "t=1,v=a", ""])
def test_a_malformed_header_is_an_error(header: str) -> None:
    with pytest.raises(kit.SignatureError):
        GENERIC.verify(header, BODY, "", "s")


def test_the_error_names_the_declared_parts() -> None:
    with pytest.raises(kit.SignatureError, match=r"t= and v1= are required"):
        GENERIC.parts("t=1,v=a")
    with pytest.raises(kit.SignatureError, match=r"t=<epoch>,v1=<hex>\[,v0=<hex>\]"):
        GENERIC.parts("t=1")
