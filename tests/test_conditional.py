"""Conditional requests per RFC 9110: If-None-Match compares weakly, If-Match strongly."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from mockserver.store import etag_matches

from conftest import api1_headers
from tests_helpers import api1_create

CURRENT = '"3-5f1c2a9b"'


@pytest.mark.parametrize(
    ("header", "strong", "weak"),
    [
        ('"3-5f1c2a9b"', True, True),
        ('W/"3-5f1c2a9b"', False, True),  # a weak form of the current tag
        ('"2-00000000", "3-5f1c2a9b"', True, True),  # a list
        ('"2-00000000",W/"3-5f1c2a9b"', False, True),
        ("*", True, True),
        ('"2-00000000"', False, False),
        ('"3-5f1c2a9b-other"', False, False),
        ('"a,b", "3-5f1c2a9b"', True, True),  # a comma inside a quoted tag
        ('W/"2-00000000"', False, False),
    ],
)
def test_strong_and_weak_comparison(header: str, strong: bool, weak: bool) -> None:
    assert etag_matches(header, CURRENT) is strong
    assert etag_matches(header, CURRENT, weak=True) is weak


def test_a_weak_current_tag_never_passes_the_strong_comparison() -> None:
    assert not etag_matches('W/"1-a"', 'W/"1-a"')
    assert etag_matches('W/"1-a"', 'W/"1-a"', weak=True)


def test_if_none_match_with_the_weak_form_is_not_modified(client: FlaskClient) -> None:
    consent_id, etag = api1_create(client)
    url = f"/api1/api/v1/consents/{consent_id}"
    weak = client.get(url, headers=api1_headers(**{"If-None-Match": f"W/{etag}"}))
    assert weak.status_code == 304
    assert weak.headers["ETag"] == etag
    listed = client.get(url, headers=api1_headers(**{"If-None-Match": f'"0-0", W/{etag}'}))
    assert listed.status_code == 304


def test_if_match_with_the_weak_form_fails(client: FlaskClient) -> None:
    consent_id, etag = api1_create(client)
    url = f"/api1/api/v1/consents/{consent_id}"
    weak = client.patch(url, json={"name": "B"}, headers=api1_headers(**{"If-Match": f"W/{etag}"}))
    assert weak.status_code == 412
    listed = client.patch(
        url, json={"name": "B"}, headers=api1_headers(**{"If-Match": f'"0-0", {etag}'})
    )
    assert listed.status_code == 204
