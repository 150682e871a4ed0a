"""The journal keeps no character of a secret: headers, Basic without a colon, bodies, queries."""

from __future__ import annotations

import base64
import json

import pytest

from mockserver import create_app
from mockserver.journal import mask_body, mask_headers, mask_query, mask_value

from conftest import api1_headers

SECRETS = ["s", "abcd", "0123456789abcdef", "correct-horse-battery-staple-9f3e"]


@pytest.mark.parametrize("secret", SECRETS)
def test_a_masked_value_keeps_none_of_its_characters(secret: str) -> None:
    masked = mask_value(secret)
    assert masked == "****"
    headers = mask_headers(
        [
            ("Authorization", f"Bearer {secret}"),
            ("X-Api-Key", secret),
            ("Cookie", f"session={secret}"),
        ],
        frozenset({"x-api-key"}),
    )
    assert not any(secret in value for value in headers.values())


@pytest.mark.parametrize("secret", SECRETS)
def test_basic_credentials_without_a_colon_are_masked_whole(secret: str) -> None:
    encoded = base64.b64encode(secret.encode()).decode()
    masked = mask_headers([("Authorization", f"Basic {encoded}")], frozenset())
    assert masked == {"Authorization": "Basic ****"}
    with_user = base64.b64encode(f"app-id:{secret}".encode()).decode()
    assert mask_headers([("authorization", f"Basic {with_user}")], frozenset()) == {
        "authorization": "Basic app-id:****"
    }


def test_bank_credentials_sent_as_name_value_items_are_masked() -> None:
    body = [
        {"name": "password", "value": "hunter2-hunter2"},
        {"name": "otp", "value": "123456"},
        {"name": "iban", "value": "DE89370400440532013000"},
        {"key": "pin", "value": "4321"},
    ]
    masked = mask_body(body, frozenset())
    text = json.dumps(masked)
    for secret in ("hunter2-hunter2", "123456", "4321"):
        assert secret not in text
    assert masked[2]["value"] == "DE89370400440532013000"  # not a secret: kept


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("access_token=abc&Count=10", "access_token=****&Count=10"),
        ("apiKey=xyz", "apiKey=****"),
        (
            "filter%5Bstatus%5D=AUTHORIZED&client_secret=s3",
            "filter%5Bstatus%5D=AUTHORIZED&client_secret=****",
        ),
        ("otp=1234&otp=5678", "otp=****&otp=****"),
        ("Status=ACCEPTED", "Status=ACCEPTED"),
        ("", ""),
        ("flag", "flag"),
    ],
)
def test_query_credentials_are_masked_and_the_rest_kept_as_sent(query: str, expected: str) -> None:
    assert mask_query(query, frozenset()) == expected


def test_the_journal_over_the_api_holds_no_secret() -> None:
    app = create_app(["api1"], strict=False)
    client = app.test_client()
    key = "k-" + "z" * 30  # letters no uuid, time or hash holds
    client.get("/api1/api/v1/consents?Count=5&access_token=tok-qwertyzx", headers=api1_headers(key))
    client.get("/api1/nowhere?password=pw-zyxwvuts", headers=api1_headers(key))
    dumped = json.dumps(app.extensions["mockserver"].journal.entries())
    for secret in (key, key[-4:], "tok-qwertyzx", "tyzx", "pw-zyxwvuts", "wvuts"):
        assert secret not in dumped
