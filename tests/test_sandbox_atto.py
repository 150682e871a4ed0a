"""Atto Connect in headless Chromium: pick a bank, approve, cancel or fail; re-authenticate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from browser import chromium_page, serve_in_thread

from mockserver import create_app

pytestmark = pytest.mark.browser

CLIENT = "browser-client"
REDIRECT = "https://client.example/atto/callback?session=7"


@pytest.fixture
def base() -> Iterator[str]:
    app = create_app(["atto"], strict=True)
    with serve_in_thread(app) as url:
        yield url


def token(base: str, client_id: str = CLIENT) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": f"secret-of-{client_id}",
        "scope": "api:consent",
    }
    response = httpx.post(f"{base}/atto/v1/oauth2/token", data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["accessToken"])


def api(base: str, method: str, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token(base)}"}
    return httpx.request(method, f"{base}/atto{path}", headers=headers)


def consent(base: str, consent_id: str) -> dict[str, Any]:
    response = api(base, "GET", f"/consents/v1/{consent_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_reference(base: str, reference: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api(
        base, "GET", f"/consents/v1?{urlencode({'customerReference': reference})}"
    ).json()
    return found


def launch(base: str, reference: str, **extra: str) -> str:
    """The client's launch link: its parameters and a live api:consent token of its own."""
    params = {"client_id": CLIENT, "customer_ref": reference, "access_token": token(base)}
    params |= {"redirect_url": REDIRECT, **extra}
    return f"{base}/__sandbox/atto/connect?{urlencode(params)}"


def callback(url: str) -> dict[str, list[str]]:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT.split("?")[0]
    return parse_qs(parts.query)


def pick_bank(page: Any, base: str, reference: str, bank: str, **extra: str) -> str:
    """Open Connect, choose a bank, continue; the Pending consent's id."""
    page.goto(launch(base, reference, **extra))
    assert "Choose your bank" in page.inner_text("main")
    page.get_by_label(bank).check()
    page.click("button[type=submit]")
    page.wait_for_url("**/__sandbox/atto/connect/*?journey=*")
    assert bank in page.inner_text("main")
    return str(page.url.split("/connect/")[1].split("?")[0])


def test_approve_makes_the_consent_active_and_redirects_with_its_id(base: str) -> None:
    with chromium_page() as page:
        consent_id = pick_bank(page, base, "cust-approve", "Monzo", config_id="lending")
        pending = consent(base, consent_id)
        assert pending["consentStatus"] == "Pending" and pending["providerId"] == 7
        assert pending["consentStart"] is None and pending["consentEnd"] is None
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        params = callback(page.url)
    assert params == {
        "session": ["7"],
        "customer_ref": ["cust-approve"],
        "state": ["success"],
        "consent_id": [consent_id],
    }
    active = consent(base, consent_id)
    assert active["consentStatus"] == "Active" and active["statusDetails"] is None
    assert active["providerName"] == "Monzo" and active["configurationName"] == "lending"
    assert active["customerReference"] == "cust-approve" and active["journeyType"] is None
    assert active["consentStart"] == active["statusUpdated"] and active["consentEnd"]


def test_cancel_abandons_the_consent(base: str) -> None:
    with chromium_page() as page:
        consent_id = pick_bank(page, base, "cust-cancel", "Barclays")
        page.click("button[value=cancel]")
        page.wait_for_url("https://client.example/**")
        params = callback(page.url)
    assert params["state"] == ["error"] and params["error"] == ["customer_cancelled"]
    assert params["customer_ref"] == ["cust-cancel"] and "consent_id" not in params
    abandoned = by_reference(base, "cust-cancel")
    assert [c["consentId"] for c in abandoned] == [consent_id]
    assert abandoned[0]["consentStatus"] == "Abandoned"
    assert abandoned[0]["statusDetails"] == "customer_cancelled"


def test_a_bank_failure_fails_the_consent_with_the_chosen_error(base: str) -> None:
    with chromium_page() as page:
        consent_id = pick_bank(page, base, "cust-fail", "NatWest")
        page.select_option("select[name=error]", "provider_permanent_error")
        page.click("button[value=fail]")
        page.wait_for_url("https://client.example/**")
        params = callback(page.url)
    assert params["state"] == ["error"] and params["error"] == ["provider_permanent_error"]
    assert params["error_description"] and "consent_id" not in params
    failed = consent(base, consent_id)
    assert failed["consentStatus"] == "Failed"
    assert failed["statusDetails"] == "provider_permanent_error"


def test_without_a_redirect_url_the_last_page_shows_the_outcome(base: str) -> None:
    with chromium_page() as page:
        page.goto(launch(base, "cust-stay", redirect_url=""))
        page.click("button[type=submit]")
        page.click("button[value=approve]")
        text = page.inner_text("main")
    assert "All done" in text and "success" in text
    assert by_reference(base, "cust-stay")[0]["providerName"] == "Atto Sandbox Bank"


def test_a_launch_link_without_the_clients_token_starts_nothing(base: str) -> None:
    bare = {"client_id": CLIENT, "customer_ref": "cust-bare"}
    with chromium_page() as page:
        refused = page.goto(f"{base}/__sandbox/atto/connect?{urlencode(bare)}")
        assert refused is not None and refused.status == 401
        assert "access_token" in page.inner_text("main")
        other = page.goto(launch(base, "cust-bare", access_token=token(base, "someone-else")))
        assert other is not None and other.status == 403
        assert page.locator("button[type=submit]").count() == 0
    assert by_reference(base, "cust-bare") == []


def reauthenticate(page: Any, base: str, consent_id: str) -> None:
    query = urlencode(
        {"consent_id": consent_id, "access_token": token(base), "redirect_url": REDIRECT}
    )
    page.goto(f"{base}/__sandbox/atto/connect?{query}")
    assert "Re-authenticate" in page.inner_text("main")


def test_reauthentication_of_an_expired_consent(base: str) -> None:
    with chromium_page() as page:
        consent_id = pick_bank(page, base, "cust-reauth", "Lloyds Bank")
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        first = consent(base, consent_id)
        move = {"advance": "P90D"}
        assert httpx.post(f"{base}/__admin/clock", json=move).status_code == 200
        expired = consent(base, consent_id)
        assert expired["consentStatus"] == "Expired"
        assert expired["statusUpdated"] == first["consentEnd"]
        reauthenticate(page, base, consent_id)
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        params = callback(page.url)
    assert params["state"] == ["success"] and params["consent_id"] == [consent_id]
    renewed = consent(base, consent_id)
    assert renewed["consentStatus"] == "Active"
    assert renewed["journeyType"] == "Reauthentication" and renewed["statusDetails"] is None
    assert renewed["consentStart"] == renewed["statusUpdated"] > first["consentStart"]
    assert renewed["consentEnd"] > first["consentEnd"]


def test_reauthentication_of_a_revoked_consent_and_a_cancelled_attempt(base: str) -> None:
    with chromium_page() as page:
        consent_id = pick_bank(page, base, "cust-revoked", "Santander UK")
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        assert api(base, "POST", f"/consents/v1/{consent_id}/revoke").status_code == 204
        revoked = consent(base, consent_id)
        reauthenticate(page, base, consent_id)
        page.click("button[value=cancel]")
        page.wait_for_url("https://client.example/**")
        assert callback(page.url)["error"] == ["customer_cancelled"]
        assert consent(base, consent_id) == revoked  # a refused re-authentication changes nothing
        reauthenticate(page, base, consent_id)
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
    active = consent(base, consent_id)
    assert active["consentStatus"] == "Active" and active["journeyType"] == "Reauthentication"


def test_a_pending_consent_continues_its_initial_journey(base: str) -> None:
    made = httpx.post(
        f"{base}/__admin/atto/consents",
        json={"tenant": CLIENT, "customerReference": "cust-admin", "providerId": 8},
    ).json()
    with chromium_page() as page:
        query = urlencode(
            {"consent_id": made["consentId"], "access_token": token(base), "redirect_url": REDIRECT}
        )
        page.goto(f"{base}/__sandbox/atto/connect?{query}")
        assert "Starling Bank" in page.inner_text("main")
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        assert callback(page.url)["consent_id"] == [made["consentId"]]
    active = consent(base, made["consentId"])
    assert active["consentStatus"] == "Active" and active["journeyType"] is None


def test_the_decision_form_cannot_be_replayed(base: str) -> None:
    with chromium_page() as page:
        consent_id = pick_bank(page, base, "cust-replay", "HSBC UK")
        screen = page.url
        page.click("button[value=approve]")
        page.wait_for_url("https://client.example/**")
        again = page.goto(screen)
        assert again is not None and again.status == 403
        assert "Session expired" in page.inner_text("main")
    assert consent(base, consent_id)["consentStatus"] == "Active"
