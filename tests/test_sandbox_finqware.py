"""The Finqware onboarding page in headless Chromium, against the simulator over real HTTP."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from mockserver import create_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CALLBACK_PATH = "/client/callback"
CREDS = {"client_id": "browser-tenant", "client_secret": "browser-secret"}

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    from werkzeug.serving import make_server

    app = create_app(["finqware"], strict=True)

    def with_callback(environ: dict[str, Any], start_response: Any) -> Any:
        # The caller's callback, on the same local server: Chromium follows the 303 here
        # (Playwright's request routing does not see redirected requests).
        if environ["PATH_INFO"] == CALLBACK_PATH:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, with_callback, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    tab = context.new_page()
    yield tab
    context.close()


def call(base: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{base}/finqware{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def open_onboarding(page: Page, base: str, state: str) -> None:
    # The page serves a client_id the simulator knows: any call with its secret registers it.
    bogus = {"credentials_id": "none", "access_token": "none"}
    assert call(base, "/v1/consents/get", {**CREDS, **bogus})[0] == 401
    callback = base + CALLBACK_PATH
    query = urlencode({"client_id": CREDS["client_id"], "redirect_uri": callback, "state": state})
    page.goto(f"{base}/__sandbox/finqware/onboarding?{query}")
    assert page.title() == "Finqware · Connect your bank"
    assert page.is_checked("input[value='rzb_ro_aisp_sbx_#1.0']")


def test_approve_ends_in_a_redirect_with_a_temp_token(page: Page, base: str) -> None:
    open_onboarding(page, base, "browser-state-1")
    page.check("input[value='bt_ro_aisp_sbx_#2.0']")
    with page.expect_navigation(url=f"{base}{CALLBACK_PATH}?**"):
        page.click("button[value='approve']")
    target = urlsplit(page.url)
    assert f"{target.scheme}://{target.netloc}{target.path}" == base + CALLBACK_PATH
    params = parse_qs(target.query)
    assert set(params) == {"temp_token", "state"} and params["state"] == ["browser-state-1"]
    assert "ok" in page.content()

    token = params["temp_token"][0]
    status, made = call(base, "/v1/tokens", {**CREDS, "temp_token": token})
    assert status == 200, made
    status, read = call(
        base,
        "/v1/consents/get",
        {**CREDS, "credentials_id": made["credentials_id"], "access_token": made["access_token"]},
    )
    assert status == 200
    assert read["result"]["status"] == "ACTIVE"
    assert read["result"]["originator"] == {
        "country": "Romania",
        "servicer": "Banca Transilvania",
        "skill": "bt_ro_aisp_sbx_#2.0",
    }
    status, again = call(base, "/v1/tokens", {**CREDS, "temp_token": token})
    assert status == 401 and again["code"] == "invalid_temp_token"


def test_reject_ends_in_a_redirect_without_a_temp_token(page: Page, base: str) -> None:
    open_onboarding(page, base, "browser-state-2")
    with page.expect_navigation(url=f"{base}{CALLBACK_PATH}?**"):
        page.click("button[value='reject']")
    params = parse_qs(urlsplit(page.url).query)
    assert params == {"error": ["access_denied"], "state": ["browser-state-2"]}


def test_going_back_and_deciding_again_is_refused(page: Page, base: str) -> None:
    open_onboarding(page, base, "browser-state-3")
    with page.expect_navigation(url=f"{base}{CALLBACK_PATH}?**"):
        page.click("button[value='approve']")
    page.go_back()
    with page.expect_navigation() as navigation:
        page.click("button[value='approve']")
    response = navigation.value
    assert response is not None and response.status == 403
    assert "Session expired" in page.content()


def test_a_session_sca_step_is_approved_on_the_bank_page(page: Page, base: str) -> None:
    skill = "bt_ro_aisp_sbx_#2.0"
    client = {"client_id": "browser-app"}
    status, session = call(
        base,
        "/v1/sessions",
        {"tenant_user_id": "u", **client, "client_app_key": "browser-key", "skill": skill},
    )
    assert status == 200, session
    steps = f"/v1/sessions/{session['session_id']}/steps"
    body = {**client, "skill": skill, "step": "sca"}
    back = {"redirect_uri": base + CALLBACK_PATH}
    status, pending = call(base, steps, {**body, "nonce": session["nonce"], "data": back})
    assert status == 200 and pending["data"]["sca_status"] == "PENDING", pending
    page.goto(pending["data"]["sca_url"])
    assert "Banca Transilvania" in page.inner_text("main")
    with page.expect_navigation(url=f"{base}{CALLBACK_PATH}?**"):
        page.click("button[value='approve']")
    params = parse_qs(urlsplit(page.url).query)
    assert params == {"session_id": [session["session_id"]], "sca_status": ["approved"]}
    status, done = call(base, steps, {**body, "nonce": pending["nonce"], "data": {}})
    assert status == 200 and done["status"] == "SESSION_COMPLETED", done
    assert done["data"]["temp_token"]
