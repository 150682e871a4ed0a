"""Fliqa's X-Fliqa-Signature: the three test vectors of its own examples, signing and verifying."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mockserver.providers.fliqa.signature import (
    HEADER,
    SignatureError,
    sign,
    signature_of,
    verify,
)

# fliqa-io/examples java/src/test/resources/payment/payment_response.json as its test reads it:
# every whitespace character removed (TestHelper.removeWhitespace), inside strings too.
BODY = (
    b'{"paymentId":"db28548a55324390a418bea83e143489","status":"started",'
    b'"created":"2023-08-02T11:35:10.443Z","modified":"2023-08-02T11:35:10.537Z",'
    b'"paymentData":null,"providerId":"erstegroup-at-20320-AT","name":"TestiramAPI",'
    b'"description":"","pointOfSaleId":"Tiramisu-test-3","sourceIban":null,"sourceName":null,'
    b'"targetIban":"SI56290000117551150","targetName":null,"amount":1.12,"currency":"EUR",'
    b'"country":"AT","data":[],"locale":null}'
)
URL = "https://my.webhook.url/"
AT = datetime(2023, 8, 3, 8, 35, 24, tzinfo=UTC)  # t=1691051724
MY_SECRET = "3b47cc0de87b2324f14a9c415efe5768b80fc7a8125814ecde33f38f8155d72d"
SECRET = "e3e414763628ae9e6c5c85fda429fcdcd6a5cceec60f1714f4ccc9ed3960f203"
OLD_SECRET = "80b2ee2b802fbbd18b02a284dea67b13158cc1f733580952e372c162e72a966a"


def test_the_three_documented_vectors() -> None:
    assert signature_of(1691051724, URL, BODY, "MySecret") == MY_SECRET
    assert signature_of(1691051724, URL, BODY, "Secret") == SECRET
    assert signature_of(1691051724, URL, BODY, "OldSecret") == OLD_SECRET


def test_sign_gives_the_documented_header() -> None:
    assert sign(BODY, URL, "MySecret", None, AT) == {HEADER: f"t=1691051724,v={MY_SECRET}"}
    assert sign(BODY, URL, "Secret", "OldSecret", AT) == {
        HEADER: f"t=1691051724,v={SECRET},v0={OLD_SECRET}"
    }


def test_verify_accepts_what_the_examples_accept() -> None:
    assert verify(f"t=1691051724,v={MY_SECRET}", BODY, URL, "MySecret")
    assert not verify("t=1691051724,v=\u00e9", BODY, URL, "MySecret")  # False, not TypeError
    assert verify(f"t=1691051724,v={SECRET},v0={OLD_SECRET}", BODY, URL, "Secret", "OldSecret")
    # The examples' third case: v is stale, but v0 matches the old secret.
    assert verify(f"t=1691051724,v={MY_SECRET},v0={OLD_SECRET}", BODY, URL, "Secret", "OldSecret")


def test_verify_refuses_a_changed_body_url_time_or_secret() -> None:
    header = sign(BODY, URL, "MySecret", None, AT)[HEADER]
    assert not verify(header, BODY.replace(b"1.12", b"9.12"), URL, "MySecret")
    assert not verify(header, BODY, "https://my.webhook.url", "MySecret")  # no trailing slash
    assert not verify(header.replace("t=1691051724", "t=1691051725"), BODY, URL, "MySecret")
    assert not verify(header, BODY, URL, "Other")
    rotated = sign(BODY, URL, "New", "Old", AT + timedelta(hours=1))[HEADER]
    assert not verify(rotated, BODY, URL, "Wrong", "AlsoWrong")


@pytest.mark.parametrize(
    "header", ["v=abc", "t=toNiCas,v=abc", "t=1,v=a,v0=b,x=c", "t=1,v0=abc", ""]
)
def test_a_malformed_header_is_an_error(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(header, BODY, URL, "MySecret")
