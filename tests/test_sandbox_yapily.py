"""Yapily's authorisation page in headless Chromium: approve or reject, back to the callback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from browser import chromium_page, serve_in_thread

from mockserver import create_app
from mockserver.providers.yapily.consent import verify_token

pytestmark = pytest.mark.browser

AUTH = ("browser-app", "browser-secret")
CALLBACK = "https://client.example/yapily/callback?session=7"


@pytest.fixture
def base() -> Iterator[str]:
    app = create_app(["yapily"], strict=True)
    with serve_in_thread(app) as url:
        yield url


def start(base: str, **body: Any) -> dict[str, Any]:
    payload = {"institutionId": "modelo-sandbox", "applicationUserId": "browser-user", **body}
    response = httpx.post(f"{base}/yapily/account-auth-requests", json=payload, auth=AUTH)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def consent(base: str, consent_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/yapily/consents/{consent_id}", auth=AUTH)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def params_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def test_approve_authorises_and_sends_the_consent_token_to_the_callback(base: str) -> None:
    started = start(base, callback=CALLBACK, forwardParameters=["basket=12"])
    assert started["authorisationUrl"].startswith(f"{base}/__sandbox/yapily/authorise/")
    with chromium_page() as page:
        page.goto(started["authorisationUrl"])
        assert "Modelo Sandbox" in page.inner_text("#institution")
        assert "browser-user" in page.inner_text("#user")
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        landed = page.url
    authorised = consent(base, started["id"])
    assert authorised["status"] == "AUTHORIZED" and authorised["authorizedAt"]
    assert params_of(landed) == {
        "session": ["7"],
        "consent": [authorised["consentToken"]],
        "application-user-id": ["browser-user"],
        "user-uuid": [started["userUuid"]],
        "institution": ["modelo-sandbox"],
        "basket": ["12"],
    }
    assert verify_token(authorised["consentToken"]) == {
        "INSTITUTION": "modelo-sandbox",
        "CONSENT": started["id"],
        "APPLICATION_USER_ID": "browser-user",
        "USER": started["userUuid"],
    }


def test_reject_marks_the_consent_rejected_and_tells_the_callback(base: str) -> None:
    started = start(base, callback=CALLBACK, institutionId="bbva-sandbox")
    with chromium_page() as page:
        page.goto(started["authorisationUrl"])
        assert "BBVA Sandbox" in page.inner_text("main")
        page.click("button[value=reject]")
        page.wait_for_url("https://client.example/**")
        params = params_of(page.url)
    assert params["error"] == ["access_denied"] and params["error-source"] == ["user"]
    assert params["institution"] == ["bbva-sandbox"] and "consent" not in params
    rejected = consent(base, started["id"])
    assert rejected["status"] == "REJECTED" and "consentToken" not in rejected


def test_one_time_token_at_the_callback_is_exchanged_once(base: str) -> None:
    started = start(base, callback=CALLBACK, oneTimeToken=True)
    with chromium_page() as page:
        page.goto(started["authorisationUrl"])
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        params = params_of(page.url)
    token = params["one-time-token"][0]
    assert "consent" not in params
    url = f"{base}/yapily/consent-one-time-token"
    exchanged = httpx.post(url, json={"oneTimeToken": token}, auth=AUTH)
    assert exchanged.status_code == 201
    assert exchanged.json()["consentToken"] == consent(base, started["id"])["consentToken"]
    assert httpx.post(url, json={"oneTimeToken": token}, auth=AUTH).status_code == 404


def test_redirect_url_gets_an_oauth_code_for_the_exchange(base: str) -> None:
    started = start(base, redirect={"url": "https://client.example/oauth"})
    with chromium_page() as page:
        page.goto(started["authorisationUrl"])
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/oauth?**")
        params = params_of(page.url)
    assert params["state"] == [started["state"]]
    body = {"authCode": params["code"][0], "authState": params["state"][0]}
    exchanged = httpx.post(f"{base}/yapily/consent-auth-code", json=body, auth=AUTH)
    assert exchanged.status_code == 200 and exchanged.json()["status"] == "AUTHORIZED"


def test_a_tampered_link_and_a_second_visit_are_refused(base: str) -> None:
    started = start(base, callback=CALLBACK)
    with chromium_page() as page:
        tampered = page.goto(started["authorisationUrl"].replace("state=", "state=x"))
        assert tampered is not None and tampered.status == 403
        assert "invalid" in page.inner_text("main")
        page.goto(started["authorisationUrl"])
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        again = page.goto(started["authorisationUrl"])
        assert again is not None and again.status == 409
        assert "AUTHORIZED" in page.inner_text("main")


def test_reauthorisation_in_the_browser_keeps_the_id_and_token(base: str) -> None:
    started = start(base, callback=CALLBACK)
    with chromium_page() as page:
        page.goto(started["authorisationUrl"])
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        token = consent(base, started["id"])["consentToken"]
        patched = httpx.patch(
            f"{base}/yapily/account-auth-requests", headers={"consent": token}, auth=AUTH
        )
        assert patched.status_code == 201, patched.text
        again = patched.json()["data"]
        assert again["id"] == started["id"] and again["status"] == "AWAITING_RE_AUTHORIZATION"
        page.goto(again["qrCodeUrl"])  # the QR page links on to the authorisation page
        page.click("a")
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        assert params_of(page.url)["consent"] == [token]
    authorised = consent(base, started["id"])
    assert authorised["status"] == "AUTHORIZED" and authorised["consentToken"] == token


def test_the_pages_refuse_a_consent_id_without_the_apis_key(base: str) -> None:
    started = start(base, callback=CALLBACK)
    bare = started["authorisationUrl"].split("&access=")[0]
    with chromium_page() as page:
        for url in (bare, f"{base}/__sandbox/yapily/qr/{started['id']}"):
            refused = page.goto(url)
            assert refused is not None and refused.status == 403
            assert started["state"] not in page.content()
    assert consent(base, started["id"])["status"] == "AWAITING_AUTHORIZATION"
