"""The dashboard in headless Chromium, scripts off: log in, find a seeded consent, approve it
with its button, see the new status, then the client's request in the journal."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import chromium_page, serve_in_thread

from mockserver import create_app
from mockserver.app import default_fixture_dir

pytestmark = pytest.mark.browser

TOKEN = "browser-admin-token"
TENANT = "sandbox-api1-key"
CREATED = "6f1f4f0e-2b1a-4c1e-9a43-3d6c2b9f0a01"
# Screenshots are kept here after the run (git-ignored), for a person or CI to look at.
ARTIFACTS = Path(os.environ.get("MOCKSERVER_ARTIFACTS", Path(__file__).parent / "artifacts"))
README_IMAGE = Path(__file__).parents[1] / "docs" / "img" / "dashboard.png"


@pytest.fixture
def base() -> Iterator[str]:
    app = create_app(
        ["api1", "finqware"], strict=True, fixtures=default_fixture_dir(), admin_token=TOKEN
    )
    with serve_in_thread(app) as url:
        yield url


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_approve_a_seeded_consent_and_see_the_journal(base: str) -> None:
    with chromium_page() as first:
        # Scripts off: every page and form must work without them.
        context = first.context.browser.new_context(
            java_script_enabled=False, viewport={"width": 1280, "height": 800}
        )
        page = context.new_page()
        page.goto(f"{base}/__admin/ui/consents")
        assert "/__admin/ui/login" in page.url  # an admin token is set: log in first
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_url("**/__admin/ui/consents")
        cookie = next(c for c in context.cookies() if c["name"] == "mockserver_ui")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert cookie["path"] == "/__admin/ui" and TOKEN not in cookie["value"]

        row = page.locator(f'tr[data-consent="{CREATED}"]')
        assert row.locator(".status").inner_text() == "CREATED"
        assert "Acme AB" in row.inner_text()
        row.locator('button[data-action="approve"]').click()
        page.wait_for_load_state()
        assert f"Consent {CREATED} is now ACCEPTED." in page.locator(".notice").inner_text()
        row = page.locator(f'tr[data-consent="{CREATED}"]')
        assert row.locator(".status").inner_text() == "ACCEPTED"
        assert row.locator('button[data-action="approve"]').count() == 0
        consents = shot(page, "consents")

        # The client under test reads the consent through the provider's API...
        answer = httpx.get(
            f"{base}/api1/api/v1/consents/{CREATED}",
            headers={"x-api-key": TENANT, "x-correlation-id": str(uuid.uuid4())},
        )
        assert answer.status_code == 200 and answer.json()["status"] == 1  # ACCEPTED
        # ...and the journal shows that request, newest first, with its verdict.
        page.click("nav >> text=Journal")
        newest = page.locator("#journal tbody tr").first
        assert f"GET /api1/api/v1/consents/{CREATED}" in newest.inner_text()
        assert newest.locator(".badge").inner_text() == "valid"
        shot(page, "journal")
        newest.locator("a").first.click()
        page.wait_for_load_state()
        assert page.locator("#response-status").inner_text() == "200"
        assert "None: the request kept the contract" in page.inner_text("main")
        assert TENANT not in page.content()  # the credential is masked
        shot(page, "entry")
        context.close()
    if os.environ.get("MOCKSERVER_UPDATE_SCREENSHOT"):  # refresh the README's picture
        README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(consents, README_IMAGE)


def test_a_refused_transition_is_shown_in_the_browser(base: str) -> None:
    with chromium_page() as first:
        context = first.context.browser.new_context(java_script_enabled=False)
        page = context.new_page()
        page.goto(f"{base}/__admin/ui/login")
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_url("**/__admin/ui/")
        page.click("nav >> text=Consents")
        stale = context.new_page()  # a second tab, opened before the first one acts
        stale.goto(page.url)
        page.locator(f'tr[data-consent="{CREATED}"] button[data-action="reject"]').click()
        page.wait_for_load_state()
        assert "is now REVOKED" in page.locator(".notice").inner_text()
        # The second tab still offers to approve: the server refuses, and says so on the page.
        stale.locator(f'tr[data-consent="{CREATED}"] button[data-action="approve"]').click()
        stale.wait_for_load_state()
        notice = stale.locator(".notice.error").inner_text()
        assert "cannot move from REVOKED to ACCEPTED" in notice
        assert stale.locator(f'tr[data-consent="{CREATED}"] .status').inner_text() == "REVOKED"
        shot(stale, "refused")
        context.close()
