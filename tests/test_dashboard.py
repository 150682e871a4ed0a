"""The dashboard at /__admin/ui through Flask's test client: every page and form, the login
and CSRF rules, POST/redirect/GET with errors on the page, and a page of 100k consents."""

from __future__ import annotations

import re
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver import SimClock, create_app
from mockserver.app import Simulator, default_fixture_dir
from mockserver.journal import fingerprint
from mockserver.lifecycle import create_consent, find_consent
from mockserver.stores.memory import MemoryStore

from conftest import T0, FixedSource, api1_headers
from tests_helpers import json_of

UI = "/__admin/ui"
TENANT = "sandbox-api1-key"  # a credential: pages name it by fingerprint
CREATED = "6f1f4f0e-2b1a-4c1e-9a43-3d6c2b9f0a01"
REVOKED = "6f1f4f0e-2b1a-4c1e-9a43-3d6c2b9f0a04"
TOKEN = "s3cret-admin-token"


def make_app(token: str | None = None, store: MemoryStore | None = None) -> Flask:
    app = create_app(
        ["api1", "finqware"],
        strict=True,
        clock=SimClock(source=FixedSource(T0)),
        fixtures=default_fixture_dir(),
        admin_token=token,
        store=store,
    )
    app.testing = True
    return app


@pytest.fixture
def ui_app() -> Flask:
    return make_app()


@pytest.fixture
def ui(ui_app: Flask) -> FlaskClient:
    return ui_app.test_client()


def sim_of(app: Flask) -> Simulator:
    sim: Simulator = app.extensions["mockserver"]
    return sim


def html(response: TestResponse) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[-800:]
    assert response.content_type.startswith("text/html")
    return response.get_data(as_text=True)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def post_form(
    client: FlaskClient, page_url: str, target: str, /, **fields: str
) -> tuple[TestResponse, str]:
    """Post a form as the page at `page_url` would (its CSRF token, back to it); then follow
    the redirect, as a browser does: the page shown after."""
    token = csrf_of(html(client.get(page_url)))
    response = client.post(target, data={"csrf": token, "back": page_url, **fields})
    assert response.status_code == 303, response.get_data(as_text=True)[-500:]
    location = response.headers["Location"]
    assert location.startswith(f"{UI}") and "notice=" in location
    return response, html(client.get(location))


def consents_url(provider: str = "api1", tenant: str = fingerprint(TENANT), **more: str) -> str:
    query = "&".join(
        f"{k}={v}" for k, v in {"provider": provider, "tenant": tenant, **more}.items()
    )
    return f"{UI}/consents?{query}"


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href.replace("&amp;", "&"))


def links_of(page: str) -> list[str]:
    parser = Links()
    parser.feed(page)
    return parser.hrefs


# -- pages ----------------------------------------------------------------------------------------


def test_every_page_is_reached_by_links_from_the_overview(ui: FlaskClient) -> None:
    ui.get("/api1/api/v1/consents", headers=api1_headers(TENANT))  # one journal entry
    seen: dict[str, int] = {}
    todo = [f"{UI}/"]
    while todo and len(seen) < 80:
        url = todo.pop()
        if url in seen:
            continue
        response = ui.get(url)
        seen[url] = response.status_code
        if response.status_code == 200:
            todo += [h for h in links_of(response.get_data(as_text=True)) if h.startswith(UI)]
    assert all(code == 200 for code in seen.values()), {u: c for u, c in seen.items() if c != 200}
    reached = {re.sub(r"\?.*", "", u) for u in seen}
    for page in ("/", "/tenants", "/consents", f"/consents/api1/{CREATED}", "/journal/1"):
        assert f"{UI}{page}" in reached, page
    for page in ("/journal", "/faults", "/clock", "/webhooks"):
        assert f"{UI}{page}" in reached, page


def test_overview_names_providers_and_tenants_without_a_credential_in_clear(
    ui: FlaskClient,
) -> None:
    page = html(ui.get(f"{UI}/"))
    assert "API.1" in page and "Finqware" in page
    assert fingerprint(TENANT) in page and TENANT not in page
    assert "sandbox-finqware-client" in page  # a tenant that is no credential: by name
    tenants = html(ui.get(f"{UI}/tenants?provider=api1"))
    assert fingerprint(TENANT) in tenants and ">5<" in tenants


def test_consents_page_counts_each_status_and_offers_only_allowed_transitions(
    ui: FlaskClient,
) -> None:
    page = html(ui.get(consents_url()))
    assert "CREATED (1)" in page and "ACCEPTED (2)" in page and "All (5)" in page
    row = page[page.index(f'data-consent="{CREATED}"') :].split("</tr>")[0]
    assert re.findall(r'name="status" value="(\w+)"', row) == ["ACCEPTED", "REVOKED"]
    assert 'data-action="approve"' in row and 'data-action="reject"' in row
    final = page[page.index(f'data-consent="{REVOKED}"') :].split("</tr>")[0]
    assert "<form" not in final and "final" in final
    only = html(ui.get(consents_url(status="ACCEPTED")))
    assert only.count("data-consent=") == 2
    # A tenant typed in clear is found too (the page still shows its fingerprint).
    typed = html(ui.get(consents_url(tenant=TENANT)))
    assert typed.count("data-consent=") == 5 and TENANT not in typed


def test_bad_query_parameters_answer_a_page_never_a_500(ui: FlaskClient) -> None:
    for url in (
        consents_url(provider="nope"),
        consents_url(status="NOPE"),
        f"{UI}/journal?verdict=maybe",
        f"{UI}/tenants?provider=nope",
    ):
        response = ui.get(url)
        assert response.status_code == 400 and "text/html" in response.content_type, url
    unknown = html(ui.get(consents_url(tenant="sha256:000000000000")))
    assert "No tenant of api1 has the fingerprint" in unknown
    for url in (f"{UI}/consents/api1/no-such-id", f"{UI}/consents/nope/x", f"{UI}/journal/999"):
        response = ui.get(url)
        assert response.status_code == 404 and "text/html" in response.content_type, url
    assert html(ui.get(consents_url(page="zero"))).count("data-consent=") == 5


def test_consent_page_shows_it_as_the_api_does(ui: FlaskClient) -> None:
    page = html(ui.get(f"{UI}/consents/api1/{CREATED}"))
    assert "Acme AB (waiting for onboarding)" in page and 'id="status">CREATED<' in page
    assert f"{UI}/journal?q={CREATED}" in page


# -- lifecycle ------------------------------------------------------------------------------------


def test_approve_through_the_page_moves_the_consent_as_the_admin_api_does(
    ui_app: Flask, ui: FlaskClient
) -> None:
    url = consents_url()
    posted, after = post_form(ui, url, f"{UI}/consents/api1/{CREATED}/status", status="ACCEPTED")
    assert f"Consent {CREATED} is now ACCEPTED." in after
    assert "ACCEPTED (3)" in after and "CREATED (0)" in after
    shown = ui.get(f"/api1/api/v1/consents/{CREATED}", headers=api1_headers(TENANT))
    assert json_of(shown)["status"] == 1  # API.1's code for ACCEPTED
    # The notice is shown once: reloading the page does not repeat it.
    assert "is now ACCEPTED" not in html(ui.get(posted.headers["Location"]))


def test_a_refused_transition_is_shown_on_the_page(ui_app: Flask, ui: FlaskClient) -> None:
    url = consents_url()
    _, after = post_form(ui, url, f"{UI}/consents/api1/{REVOKED}/status", status="ACCEPTED")
    assert "was not moved: cannot move from REVOKED to ACCEPTED" in after
    assert 'class="notice error"' in after
    record = find_consent(sim_of(ui_app), "api1", REVOKED)
    assert record is not None and record.version == 1
    _, unknown = post_form(ui, url, f"{UI}/consents/api1/{CREATED}/status", status="FLYING")
    assert "is not a api1 status" in unknown
    _, gone = post_form(ui, url, f"{UI}/consents/api1/missing/status", status="ACCEPTED")
    assert "No api1 consent missing." in gone


# -- auth and CSRF --------------------------------------------------------------------------------


def test_forms_without_the_csrf_token_or_from_another_site_are_refused(
    ui_app: Flask, ui: FlaskClient
) -> None:
    action = f"{UI}/consents/api1/{CREATED}/status"
    token = csrf_of(html(ui.get(consents_url())))
    assert ui.post(action, data={"status": "ACCEPTED"}).status_code == 403
    assert ui.post(action, data={"status": "ACCEPTED", "csrf": "0" * 64}).status_code == 403
    foreign = {"Origin": "https://evil.example"}
    refused = ui.post(action, data={"status": "ACCEPTED", "csrf": token}, headers=foreign)
    assert refused.status_code == 403 and "another site" in refused.get_data(as_text=True)
    cross = {"Sec-Fetch-Site": "cross-site"}
    assert ui.post(action, data={"csrf": token}, headers=cross).status_code == 403
    record = find_consent(sim_of(ui_app), "api1", CREATED)
    assert record is not None and record.version == 1  # nothing moved
    same = {"Origin": "http://localhost"}
    assert (
        ui.post(action, data={"status": "ACCEPTED", "csrf": token}, headers=same).status_code == 303
    )


def test_with_an_admin_token_pages_need_a_login() -> None:
    client = make_app(TOKEN).test_client()
    response = client.get(f"{UI}/consents?provider=api1")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{UI}/login?next=/__admin/ui/consents%3Fprovider%3Dapi1"
    assert client.post(f"{UI}/faults/clear").status_code == 401
    login = html(client.get(f"{UI}/login"))
    assert 'type="password"' in login and "Overview" not in login
    wrong = client.post(f"{UI}/login", data={"token": "guess"})
    assert wrong.status_code == 401 and "not the admin token" in wrong.get_data(as_text=True)
    ok = client.post(f"{UI}/login", data={"token": TOKEN, "next": f"{UI}/clock"})
    assert ok.status_code == 303 and ok.headers["Location"] == f"{UI}/clock"
    cookie = ok.headers["Set-Cookie"]
    for part in ("HttpOnly", "SameSite=Strict", "Path=/__admin/ui", "Max-Age=43200"):
        assert part in cookie
    assert TOKEN not in cookie
    assert "Log out" in html(client.get(f"{UI}/clock"))
    # The cookie opens the dashboard only: the JSON control plane still wants the token.
    assert client.get("/__admin/health").status_code == 401
    logout_token = csrf_of(html(client.get(f"{UI}/")))
    out = client.post(f"{UI}/logout", data={"csrf": logout_token})
    assert out.status_code == 303 and "mockserver_ui=;" in out.headers["Set-Cookie"]
    assert client.get(f"{UI}/").status_code == 303


def test_a_forged_or_foreign_login_is_refused() -> None:
    client = make_app(TOKEN).test_client()
    client.set_cookie("mockserver_ui", f"{int(time.time())}.{'0' * 64}", path=UI)
    assert client.get(f"{UI}/").status_code == 303
    other = make_app("another-token").test_client()
    other.post(f"{UI}/login", data={"token": "another-token"})
    stolen = other.get_cookie("mockserver_ui", path=UI)
    assert stolen is not None
    client.set_cookie("mockserver_ui", stolen.value, path=UI)
    assert client.get(f"{UI}/").status_code == 303  # made with another token: no login here
    foreign = client.post(
        f"{UI}/login", data={"token": TOKEN}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403


def test_login_goes_back_only_to_a_dashboard_page() -> None:
    client = make_app(TOKEN).test_client()
    for target in ("https://evil.example/", "//evil.example/x", "/__admin/reset", "/\\evil"):
        response = client.post(f"{UI}/login", data={"token": TOKEN, "next": target})
        assert response.headers["Location"] == f"{UI}/", target


def test_the_bearer_token_opens_the_pages_too() -> None:
    client = make_app(TOKEN).test_client()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    page = html(client.get(f"{UI}/faults", headers=bearer))
    response = client.post(
        f"{UI}/faults", data={"csrf": csrf_of(page), "status": "503"}, headers=bearer
    )
    assert response.status_code == 303
    assert len(sim_of(client.application).faults.list()) == 1


def test_without_a_token_no_login_is_needed_and_login_goes_home(ui: FlaskClient) -> None:
    assert ui.get(f"{UI}/login").status_code == 303
    assert "Log out" not in html(ui.get(f"{UI}/"))


def test_pages_forbid_framing_and_scripts(ui: FlaskClient) -> None:
    response = ui.get(f"{UI}/")
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src" not in policy
    assert "default-src 'none'" in policy and "<script" not in response.get_data(as_text=True)


# -- journal, faults, clock, webhooks -------------------------------------------------------------


def test_journal_is_newest_first_paged_with_coloured_verdicts(ui: FlaskClient) -> None:
    for _ in range(55):
        ui.get("/api1/api/v1/consents", headers=api1_headers(TENANT))
    ui.get("/api1/api/v1/consents?Count=oops", headers=api1_headers(TENANT))  # breaks the spec
    ui.get("/api1/nowhere", headers=api1_headers(TENANT))
    whole = html(ui.get(f"{UI}/journal"))
    first = whole[whole.index('id="journal"') :]  # the table, not the legend above it
    ids = [int(n) for n in re.findall(r'data-entry="(\d+)"', first)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True) and ids[0] == 57
    assert '<span class="badge unmatched">unmatched</span>' in first
    assert '<span class="badge invalid">invalid</span>' in first
    assert '<span class="badge valid">valid</span>' in first
    assert "1–50 of 57" in whole and f"{UI}/journal?page=2" in whole
    second = html(ui.get(f"{UI}/journal?page=2"))
    assert [int(n) for n in re.findall(r'data-entry="(\d+)"', second)] == list(range(7, 0, -1))
    invalid = html(ui.get(f"{UI}/journal?verdict=invalid"))
    assert re.findall(r'data-entry="(\d+)"', invalid) == ["56"]
    entry = html(ui.get(f"{UI}/journal/56"))
    assert 'id="response-status">400<' in entry and 'id="violations"' in entry
    assert "Count" in entry and "oops" in entry
    assert "x-api-key" in entry.lower() and TENANT not in entry  # the credential is masked
    found = html(ui.get(f"{UI}/journal?q=nowhere"))
    assert re.findall(r'data-entry="(\d+)"', found) == ["57"]
    _, cleared = post_form(ui, f"{UI}/journal", f"{UI}/journal/clear")
    assert "Cleared 57 requests." in cleared and "data-entry=" not in cleared


def test_faults_are_added_listed_and_removed_through_forms(ui_app: Flask, ui: FlaskClient) -> None:
    url = f"{UI}/faults"
    _, listed = post_form(
        ui, url, url, provider="api1", operation="listConsents", status="503",
        body='{"message": "down"}', headers="Retry-After: 5", times="2",
    )  # fmt: skip
    assert "Fault 1 added." in listed and 'data-fault="1"' in listed
    answer = ui.get("/api1/api/v1/consents", headers=api1_headers(TENANT))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert json_of(answer) == {"message": "down"}
    _, bad = post_form(ui, url, url, status="five hundred")
    assert "The fault was not added: status must be a whole number" in bad
    _, bad = post_form(ui, url, url, provider="api1", operation="noSuchOperation", status="500")
    assert "unknown operation" in bad
    _, bad = post_form(ui, url, url, method="GET")
    assert "needs at least one of status, delay_ms or drop" in bad
    _, removed = post_form(ui, url, f"{url}/1/remove")
    assert "Fault 1 removed." in removed and 'data-fault="1"' not in removed
    _, missing = post_form(ui, url, f"{url}/1/remove")
    assert "No fault 1." in missing
    post_form(ui, url, url, status="500")
    post_form(ui, url, url, drop="1")
    _, cleared = post_form(ui, url, f"{url}/clear")
    assert "Removed 2 faults." in cleared and sim_of(ui_app).faults.list() == []


def test_clock_moves_globally_and_per_tenant_through_forms(ui_app: Flask, ui: FlaskClient) -> None:
    sim, url = sim_of(ui_app), f"{UI}/clock"
    assert 'id="now">2026-01-05T09:30:00Z<' in html(ui.get(url))
    _, page = post_form(ui, url, url, action="advance", duration="P1D")
    assert "Now 2026-01-06T09:30:00Z on the global clock." in page
    _, page = post_form(ui, url, url, action="advance", duration="PT2H", tenant="team-a")
    assert sim.clock.now("team-a").isoformat() == "2026-01-06T11:30:00+00:00"
    assert "team-a" in page and "7200.0" in page
    # A tenant that is a credential is named by its fingerprint, in the form and the table.
    _, page = post_form(ui, url, url, action="advance", duration="P1D", tenant=fingerprint(TENANT))
    assert sim.clock.now(TENANT).isoformat() == "2026-01-07T09:30:00+00:00"
    assert fingerprint(TENANT) in page and TENANT not in page
    _, page = post_form(ui, url, url, action="set", instant="2027-03-01T00:00:00Z", freeze="1")
    assert sim.clock.describe()["frozen"] is True and "frozen" in page
    _, page = post_form(ui, url, url, action="unfreeze")
    assert sim.clock.describe()["frozen"] is False
    _, bad = post_form(ui, url, url, action="advance", duration="one month")
    assert "The clock was not changed:" in bad and "ISO 8601 duration" in bad
    _, bad = post_form(ui, url, url, action="set", instant="yesterday")
    assert "is not an RFC 3339 instant" in bad
    _, bad = post_form(ui, url, url, action="advance", duration="P999999W")
    assert "The clock was not changed:" in bad
    _, page = post_form(ui, url, url, action="reset")
    assert "follows the wall clock again" in page and sim.clock.now() == T0


def test_webhooks_page_lists_hooks_and_deliveries_newest_first(
    ui_app: Flask, ui: FlaskClient
) -> None:
    from mockserver.webhooks.hub import DELIVERIES

    registered = ui.post(
        "/__admin/webhooks",
        json={"provider": "api1", "tenant": TENANT, "url": "http://127.0.0.1:9/hook",
              "secret": "hook-secret"},
    )  # fmt: skip
    assert registered.status_code == 201
    store = sim_of(ui_app).store
    for n in range(3):
        store.feed_append(
            DELIVERIES,
            {"event": f"evt-{n}", "type": "consent.updated", "provider": "api1",
             "tenant": TENANT, "hook": "h", "url": "http://127.0.0.1:9/hook", "attempt": 1,
             "status": 500 if n else 204, "error": None,
             "outcome": "failed" if n else "delivered", "durationMs": 1.0,
             "sentAt": 1767605400.0 + n},
            1000,
        )  # fmt: skip
    page = html(ui.get(f"{UI}/webhooks"))
    assert "http://127.0.0.1:9/hook" in page and fingerprint("hook-secret") in page
    assert "hook-secret" not in page and TENANT not in page
    assert page.index("evt-2") < page.index("evt-1") < page.index("evt-0")
    assert '<span class="badge valid">delivered</span>' in page
    assert '<span class="badge invalid">failed</span>' in page
    ui_app.extensions["mockserver.webhooks"].stop()  # the registration started its sender


# -- scale ----------------------------------------------------------------------------------------


def test_consents_page_stays_fast_with_100k_consents_and_shows_one_page() -> None:
    store = MemoryStore()
    app = make_app(store=store)
    sim = sim_of(app)
    template, _ = create_consent(sim, "api1", {"tenant": "big", "name": "Bulk AB"})
    data = dict(template.data)
    for n in range(100_000):
        store.insert("api1", "big", str(uuid.UUID(int=n)), {**data, "id": str(uuid.UUID(int=n))})
    client = app.test_client()
    url = consents_url(tenant=fingerprint("big"))
    client.get(url)  # templates compiled, as on any server after its first page
    started = time.perf_counter()
    page = html(client.get(url))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"the consents page took {elapsed:.2f} s with 100k consents"
    assert page.count("data-consent=") == 50
    assert "All (100001)" in page and "1–50 of 100001 (page 1 of 2001)" in page
    started = time.perf_counter()
    last = html(client.get(url + "&status=CREATED&page=2001"))
    assert time.perf_counter() - started < 0.5
    assert last.count("data-consent=") == 1
    assert time_of(client, f"{UI}/") < 0.5 and time_of(client, f"{UI}/tenants?provider=api1") < 0.5


def time_of(client: FlaskClient, url: str) -> float:
    started = time.perf_counter()
    html(client.get(url))
    return time.perf_counter() - started


def test_the_dashboard_names_no_provider() -> None:
    folder = Path(__file__).parents[1] / "mockserver" / "dashboard"
    names = ("api1", "finqware", "yapily", "atto", "fliqa", "zwapgrid")
    for path in [*folder.rglob("*.py"), *folder.rglob("*.html")]:
        text = path.read_text().lower()
        for name in names:
            assert name not in text, f"{path.name} mentions {name}"
