"""The Fliqa journey in headless Chromium: login, create, add data, the sandbox bank page."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from mockserver import SimClock, create_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = "+43660123456"


@pytest.fixture
def base(clock: SimClock) -> Iterator[str]:
    from werkzeug.serving import make_server

    app = create_app(["fliqa"], strict=True, clock=clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def api(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{base}/fliqa", timeout=10) as client:
        yield client


def received_consent(api: httpx.Client, base: str, provider: str = "sandbox-bank-at") -> Any:
    """Token, login (OTP from the outbox), create and add data: the consent and its bank page."""
    token = api.get(
        "/service/auth/token/sandbox/acme",
        headers={"Api-Key": "tenant-a", "Api-Secret": "secret-a"},
    ).json()["accessToken"]
    api.headers["Authorization"] = f"Bearer {token}"
    assert api.post("/account/login", json={"msisdn": PHONE}).status_code == 200
    otp = httpx.get(f"{base}/__admin/fliqa/outbox", params={"msisdn": PHONE}).json()
    created = api.post(
        "/account/consent",
        json={"providerId": provider, "otp": otp["messages"][0]["otp"], "msisdn": PHONE},
    )
    assert created.status_code == 201
    consent = created.json()
    if provider == "sandbox-bank-at":
        added = api.post(
            f"/account/consent/{consent['consentId']}",
            json=[{"name": "iban", "value": "AT611904300234573201"}],
        )
        consent = added.json()
        assert consent["status"] == "received"
    return consent


@pytest.mark.parametrize(
    ("button", "status"), [("Approve", "valid"), ("Reject", "rejected"), ("Bank error", "failed")]
)
def test_the_bank_page_sends_the_user_back_with_the_outcome(
    base: str, api: httpx.Client, browser: Any, button: str, status: str
) -> None:
    consent = received_consent(api, base)
    redirect = next(i for i in consent["consentData"] if i["name"] == "redirect")
    assert redirect["value"].startswith(f"{base}/__sandbox/fliqa/bank/{consent['consentId']}/")
    page = browser.new_page()
    # The caller's callback is a page of the same local server (Playwright does not route the
    # target of a redirect, and the test must not need the network).
    callback = f"{base}/__admin/health?order=7"
    page.goto(f"{redirect['value']}?redirectUrl={quote(callback, safe='')}")
    assert page.locator("h1").inner_text() == "Approve account access"
    assert "AT611904300234573201" in page.content()
    with page.expect_navigation(url=lambda url: "/__admin/health" in url):
        page.get_by_role("button", name=button).click()
    target = urlsplit(page.url)
    assert (f"http://{target.netloc}", target.path) == (base, "/__admin/health")
    assert parse_qs(target.query) == {
        "order": ["7"],
        "consentId": [consent["consentId"]],
        "status": [status],
    }
    assert '"status":"ok"' in page.content().replace(" ", "")
    shown = api.get(f"/service/consent/{consent['consentId']}").json()
    assert shown["status"] == status
    page.close()


def test_a_bank_that_asks_for_nothing_is_approved_in_one_step(
    base: str, api: httpx.Client, browser: Any
) -> None:
    consent = received_consent(api, base, "sandbox-bank-ro")
    assert consent["status"] == "initiated"
    (redirect,) = consent["consentData"]
    page = browser.new_page()
    page.goto(redirect["value"])
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "All done"
    assert api.get(f"/service/consent/{consent['consentId']}").json()["status"] == "valid"
    page.go_back()
    page.reload()
    assert "already valid" in page.content()
    page.close()


def test_the_bank_page_refuses_a_consent_id_without_its_bank_key(
    base: str, api: httpx.Client, browser: Any
) -> None:
    """Issue 18 point 9: knowing a consent's id is not enough to decide it."""
    consent = received_consent(api, base)
    link = next(i for i in consent["consentData"] if i["name"] == "redirect")["value"]
    page = browser.new_page()
    for url in (link.rsplit("/", 1)[0], link[:-4] + "AAAA"):
        response = page.goto(url)
        assert response is not None and response.status == 403
        assert page.locator("h1").inner_text() == "Invalid bank link"
        assert page.get_by_role("button", name="Approve").count() == 0
    assert api.get(f"/service/consent/{consent['consentId']}").json()["status"] == "received"
    page.close()
