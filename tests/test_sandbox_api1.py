"""API.1's onboarding page in headless Chromium: open it with a one-time code, connect or cancel."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from browser import chromium_page, serve_in_thread

from mockserver import create_app

pytestmark = pytest.mark.browser

REDIRECT = "https://client.example/onboarded?ref=42"


@pytest.fixture
def base() -> Iterator[str]:
    app = create_app(["api1"], strict=True)
    with serve_in_thread(app) as url:
        yield url


def h() -> dict[str, str]:
    return {"x-api-key": "browser-tenant", "x-correlation-id": str(uuid.uuid4())}


def consent_with_code(base: str) -> tuple[str, str]:
    consent_id = httpx.post(
        f"{base}/api1/api/v1/consents", json={"name": "Browser AB"}, headers=h()
    ).json()["id"]
    code = httpx.post(f"{base}/api1/api/v1/consents/{consent_id}/otc", headers=h()).json()["code"]
    return consent_id, code


def onboarding_url(base: str, consent_id: str, code: str, **extra: str) -> str:
    query = f"otc={quote(code, safe='')}&redirecturl={quote(REDIRECT, safe='')}"
    query += "".join(f"&{k}={v}" for k, v in extra.items())
    return f"{base}/__sandbox/api1/consent/{consent_id}/?{query}"


def consent(base: str, consent_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/api1/api/v1/consents/{consent_id}", headers=h())
    result: dict[str, Any] = response.json()
    return result


def test_connect_accepts_the_consent_and_redirects(base: str) -> None:
    consent_id, code = consent_with_code(base)
    with chromium_page() as page:
        page.goto(onboarding_url(base, consent_id, code))
        assert "Browser AB" in page.inner_text("main")
        page.check("input[value=fortnox]")
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        params = parse_qs(urlsplit(page.url).query)
    assert params == {
        "ref": ["42"],
        "consentId": [consent_id],
        "status": ["accepted"],
        "source": ["fortnox"],
    }
    accepted = consent(base, consent_id)
    assert accepted["status"] == 1 and accepted["source"] == "fortnox"
    assert accepted["systemSettings"] == {"fortnox": accepted["systemSettingsId"]}


def test_cancel_revokes_the_consent_and_redirects(base: str) -> None:
    consent_id, code = consent_with_code(base)
    with chromium_page() as page:
        page.goto(onboarding_url(base, consent_id, code))
        page.click("button[value=reject]")
        page.wait_for_url("https://client.example/**")
        params = parse_qs(urlsplit(page.url).query)
    assert params["status"] == ["rejected"] and params["consentId"] == [consent_id]
    assert consent(base, consent_id)["status"] == 2


def test_the_code_works_once(base: str) -> None:
    consent_id, code = consent_with_code(base)
    with chromium_page() as page:
        first = page.goto(onboarding_url(base, consent_id, code))
        assert first is not None and first.status == 200
        again = page.goto(onboarding_url(base, consent_id, code))
        assert again is not None and again.status == 403
        assert "invalid, expired or already used" in page.inner_text("main")
    assert consent(base, consent_id)["status"] == 0


def test_redirect_delay_shows_a_page_then_moves_on(base: str) -> None:
    consent_id, code = consent_with_code(base)
    with chromium_page() as page:
        page.goto(onboarding_url(base, consent_id, code, redirectdelay="1"))
        page.click("button[value=approve]")
        assert "Taking you back in 1 s" in page.inner_text("main")
        page.wait_for_url("https://client.example/**", timeout=5000)
    assert consent(base, consent_id)["status"] == 1


def test_a_deep_link_connects_the_system_it_names(base: str) -> None:
    consent_id, code = consent_with_code(base)
    plain = onboarding_url(base, consent_id, code)
    url = plain.replace(f"/{consent_id}/?", f"/{consent_id}/xero/?")
    with chromium_page() as page:
        page.goto(url)
        assert page.is_checked("input[value=xero]")
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        params = parse_qs(urlsplit(page.url).query)
    assert params["source"] == ["xero"] and params["status"] == ["accepted"]
    assert consent(base, consent_id)["source"] == "xero"
