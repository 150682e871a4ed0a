"""`serve --proxy`: a second simulator process stands in for the live provider, over real HTTP."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mockserver import cli, create_app
from mockserver.app import default_fixture_dir
from mockserver.lifecycle import create_consent
from mockserver.proxy import Proxy, strip_hop_by_hop
from mockserver.recording import Masker, pseudonym
from mockserver.testing import RunningServer, free_port, running_server

from tests_helpers import json_of

KEY = "sandbox-api1-key"
ACCEPTED = "6f1f4f0e-2b1a-4c1e-9a43-3d6c2b9f0a02"
NAMES = (
    "Acme AB (waiting for onboarding)",
    "Nordic Bikes AB",
    "Fjord Consulting AS",
    "Lagom Design AB (revoked)",
    "Old Mill Bakery (inactive)",
)
YAPILY = ("sandbox-yapily-app", "sandbox-yapily-secret")
# Headers that say something about the connection or the server, not about the answer.
CONNECTION_HEADERS = {"date", "server", "connection"}


def h(key: str = KEY) -> dict[str, str]:
    return {"x-api-key": key, "x-correlation-id": str(uuid.uuid4())}


@pytest.fixture(scope="module")
def live() -> Iterator[RunningServer]:
    """The 'live provider': a simulator of its own, on its own port."""
    with running_server(["--provider", "api1", "--provider", "yapily"]) as server:
        yield server


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recorded")


@pytest.fixture(scope="module")
def proxy(live: RunningServer, recorded: Path) -> Iterator[RunningServer]:
    """api1 forwarded to `live`, atto to a port where nothing listens, yapily simulated."""
    with socket.socket() as closed:  # bound, never listening: connections to it are refused
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/atto"
        args = ["--provider", "api1", "--provider", "atto", "--provider", "yapily"]
        args += ["--proxy", f"api1={live.url('api1')}", "--proxy", f"atto={dead}"]
        args += ["--proxy-read-timeout", "1", "--record", str(recorded)]
        with running_server(args) as server:
            yield server


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> None:
    if {"live", "proxy"} <= set(request.fixturenames):
        live: RunningServer = request.getfixturevalue("live")
        proxy: RunningServer = request.getfixturevalue("proxy")
        live.admin.clear_faults()
        live.admin.clear_requests()
        proxy.admin.clear_requests()


def last_entry(server: RunningServer) -> dict[str, Any]:
    entries = server.admin.requests(limit=1)
    assert entries, "nothing journaled"
    return entries[-1]


def answer_headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k not in CONNECTION_HEADERS]


# -- pass-through --------------------------------------------------------------------------------
def test_the_client_gets_the_live_answer_byte_for_byte(
    live: RunningServer, proxy: RunningServer
) -> None:
    path = f"/api/v1/consents/{ACCEPTED}"
    direct = httpx.get(live.url("api1") + path, headers=h())
    relayed = httpx.get(proxy.url("api1") + path, headers=h())
    assert direct.status_code == relayed.status_code == 200
    assert relayed.content == direct.content
    assert answer_headers(relayed) == answer_headers(direct)
    assert relayed.headers["etag"] == direct.headers["etag"]


def test_a_write_goes_to_the_live_provider_with_its_credentials(
    live: RunningServer, proxy: RunningServer
) -> None:
    made = httpx.post(
        proxy.url("api1") + "/api/v1/consents",
        headers=h("key-of-a-live-tenant"),
        json={"name": "X"},
    )
    assert made.status_code == 201, made.text
    consent_id = made.json()["id"]
    # The consent lives upstream, in the tenant the proxied key names; the proxy made none.
    upstream = httpx.get(
        live.url("api1") + f"/api/v1/consents/{consent_id}", headers=h("key-of-a-live-tenant")
    )
    assert upstream.status_code == 200 and upstream.json()["name"] == "X"
    assert made.headers["location"] == str(upstream.url)  # the live provider's, unchanged


def test_hop_by_hop_headers_stop_at_the_proxy_and_forwarding_headers_are_added(
    live: RunningServer, proxy: RunningServer
) -> None:
    headers = {**h(), "Connection": "keep-alive, X-Hop", "X-Hop": "1", "X-Kept": "2"}
    headers |= {"Keep-Alive": "timeout=5", "Proxy-Authorization": "Basic eDp5"}
    relayed = httpx.get(proxy.url("api1") + f"/api/v1/consents/{ACCEPTED}", headers=headers)
    assert relayed.status_code == 200
    seen = {k.lower(): v for k, v in last_entry(live)["headers"].items()}
    assert "x-hop" not in seen and "keep-alive" not in seen and "proxy-authorization" not in seen
    assert seen["x-kept"] == "2" and seen["x-api-key"] == "****"  # passed through (masked here)
    assert seen["host"] == live.base_url.removeprefix("http://")
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == proxy.base_url.removeprefix("http://")
    assert strip_hop_by_hop([("Connection", "X-A"), ("X-A", "1"), ("TE", "x"), ("B", "2")]) == [
        ("B", "2")
    ]


def test_providers_not_named_keep_being_simulated(
    live: RunningServer, proxy: RunningServer
) -> None:
    listed = httpx.get(proxy.url("yapily") + "/consents?limit=5", auth=YAPILY)
    assert listed.status_code == 200, listed.text
    entry = last_entry(proxy)
    assert entry["provider"] == "yapily" and "proxied" not in entry
    assert live.admin.requests() == []  # the live provider never saw it


# -- the contract on live traffic -----------------------------------------------------------------
def test_the_journal_marks_the_exchange_proxied_with_both_verdicts(
    live: RunningServer, proxy: RunningServer
) -> None:
    httpx.get(proxy.url("api1") + f"/api/v1/consents/{ACCEPTED}", headers=h())
    entry = last_entry(proxy)
    assert entry["proxied"] is True and entry["upstream"] == live.url("api1")
    assert entry["operation"] == "getConsent" and entry["status"] == 200
    assert entry["valid"] is True and entry["responseValid"] is True
    assert entry["tenant"].startswith("sha256:") and entry["headers"]["X-Api-Key"] == "****"


def test_a_request_that_breaks_the_spec_is_forwarded_and_flagged(
    live: RunningServer, proxy: RunningServer
) -> None:
    relayed = httpx.get(proxy.url("api1") + "/api/v1/consents?Count=0", headers={"x-api-key": KEY})
    assert relayed.status_code == 400  # the live provider's refusal, relayed
    entry = last_entry(proxy)
    assert entry["valid"] is False and entry["responseValid"] is True
    names = {v["name"] for v in entry["violations"]}
    assert {"x-correlation-id", "Count"} <= names
    assert len(live.admin.requests()) == 1  # it did reach the live provider


def test_drift_in_a_live_answer_is_a_violation_naming_the_schema_path(
    live: RunningServer, proxy: RunningServer
) -> None:
    broken = {"id": 5, "name": "Drifted", "status": 1}
    live.admin.fault("api1", "getConsent", status=200, body=broken, everyone=True)
    relayed = httpx.get(proxy.url("api1") + f"/api/v1/consents/{ACCEPTED}", headers=h())
    assert relayed.status_code == 200 and relayed.json() == broken  # relayed, not corrected
    entry = last_entry(proxy)
    assert entry["valid"] is True and entry["responseValid"] is False
    problems = {(v["in"], v["name"], v["schemaPath"]) for v in entry["responseViolations"]}
    assert ("response-body", "id", "properties/id/type") in problems
    assert ("response-header", "etag", "") in problems  # the spec's required ETag is missing


def test_a_path_no_operation_matches_is_forwarded_and_journaled_unmatched(
    live: RunningServer, proxy: RunningServer
) -> None:
    direct = httpx.get(live.url("api1") + "/api/v2/elsewhere?x=1", headers=h())
    relayed = httpx.get(proxy.url("api1") + "/api/v2/elsewhere?x=1", headers=h())
    assert relayed.status_code == direct.status_code == 404
    assert relayed.json()["instance"] == direct.json()["instance"]  # the live provider's own
    entry = last_entry(proxy)
    assert entry["operation"] is None and entry["proxied"] is True and entry["valid"] is False
    assert entry["violations"][0]["in"] == "route" and entry["nearest"]
    assert "responseValid" not in entry  # no operation: nothing to check the answer against


# -- the live provider failing --------------------------------------------------------------------
def test_an_unreachable_provider_is_a_502_in_its_own_error_format(proxy: RunningServer) -> None:
    answered = httpx.get(proxy.url("atto") + "/consents/v1", headers={"Authorization": "Bearer t"})
    assert answered.status_code == 502, answered.text
    entry = last_entry(proxy)
    assert entry["status"] == 502 and "Connection refused" in entry["upstreamError"]
    assert entry["provider"] == "atto" and entry["operation"] == "listConsents"
    # Atto's own error body, as the simulated Atto refuses a request, not a generic one.
    simulated = create_app(["atto"]).test_client().get("/atto/consents/v1")
    assert simulated.status_code == 401
    assert set(answered.json()) == set(json_of(simulated)) >= {"code", "correlationId"}
    assert entry["tenant"].startswith("sha256:")  # a token the live provider issued: masked


def test_a_slow_provider_is_a_504_in_its_own_error_format(
    live: RunningServer, proxy: RunningServer
) -> None:
    live.admin.fault("api1", "getConsent", delay_ms=3000, everyone=True)
    answered = httpx.get(
        proxy.url("api1") + f"/api/v1/consents/{ACCEPTED}", headers=h(), timeout=10
    )
    assert answered.status_code == 504
    assert answered.headers["content-type"] == "application/problem+json"
    assert answered.json()["status"] == 504 and answered.json()["instance"].startswith("/api1/")
    assert "ReadTimeoutError" in last_entry(proxy)["upstreamError"]


def test_a_slow_live_provider_stalls_no_other_request(live: RunningServer) -> None:
    """Forwarded requests wait for the live API on threads of their own: meanwhile the
    proxy's control plane answers (under `serve`'s default every other request runs on one
    event loop, which a forwarded request must not hold)."""
    live.admin.clear_faults()  # _clean leaves them to tests that use the proxy fixture
    fault = live.admin.fault("api1", "getConsent", delay_ms=4000, everyone=True)

    def answered(url: str, **headers: str) -> tuple[int, float]:
        return httpx.get(url, headers=headers, timeout=30).status_code, time.monotonic()

    args = ["--provider", "api1", "--proxy", f"api1={live.url('api1')}"]
    with running_server(args) as proxy, ThreadPoolExecutor(3) as pool:
        url = proxy.url("api1") + f"/api/v1/consents/{ACCEPTED}"
        slow = [pool.submit(answered, url, **h()) for _ in range(3)]
        deadline = time.monotonic() + 20
        while next(f["hits"] for f in live.admin.faults() if f["id"] == fault) < 3:
            assert time.monotonic() < deadline, "the forwarded requests did not arrive"
            time.sleep(0.02)
        fast = [answered(f"{proxy.base_url}/__admin/health") for _ in range(5)]
        forwarded = [future.result() for future in slow]
    live.admin.clear_faults()
    assert all(status == 200 for status, _ in fast + forwarded)
    assert max(at for _, at in fast) < min(at for _, at in forwarded)


# -- record, then replay --------------------------------------------------------------------------
def test_recorded_consents_replay_without_a_secret_in_the_file(
    live: RunningServer, proxy: RunningServer, recorded: Path
) -> None:
    listed = httpx.get(proxy.url("api1") + "/api/v1/consents?Count=50", headers=h())
    assert listed.status_code == 200
    shown = {c["id"]: c for c in listed.json()["data"]}
    assert last_entry(proxy)["recorded"] == len(shown) >= 5
    text = (recorded / "api1.yaml").read_text()
    for secret in (KEY, "key-of-a-live-tenant", *NAMES):  # every credential sent, every name
        assert secret not in text
    document = yaml.safe_load(text)
    tenants = {t["tenant"]: t for t in document["tenants"]}
    assert pseudonym(KEY) in tenants and len(tenants) <= 2
    tenant = tenants[pseudonym(KEY)]
    fixtures = {c["id"]: c for c in tenant["consents"]}
    assert set(fixtures) == set(shown)
    with running_server(["--provider", "api1", "--fixtures", str(recorded)]) as replay:
        got = httpx.get(
            replay.url("api1") + f"/api/v1/consents/{ACCEPTED}", headers=h(pseudonym(KEY))
        )
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["name"] == fixtures[ACCEPTED]["name"] != shown[ACCEPTED]["name"]
        live_view = shown[ACCEPTED]
        for field in ("status", "source", "systemSettingsId", "createdOn", "updatedOn"):
            assert body[field] == live_view[field], field


def test_masking_is_consistent_within_a_recording_and_keeps_formats() -> None:
    masker = Masker(frozenset({"credentials_id"}))
    consent = {
        "credentials_id": "0f3b2c1a-6d4e-4f5a-9b8c-7d6e5f4a3b01",
        "access_token": "live-token-123",
        "owner": {"msisdn": "+43660100001", "email": "anna@bank.example"},
        "note": "lukas.huber@example.com",
        "data": [{"key": "password", "value": "hunter2"}, {"key": "plan", "value": "gold"}],
    }
    first, again = masker.consent(consent), masker.consent(dict(consent))
    assert first == again  # the same input, the same replacement
    assert (
        uuid.UUID(first["credentials_id"]) and first["credentials_id"] != consent["credentials_id"]
    )
    assert first["access_token"] != "live-token-123"
    phone = first["owner"]["msisdn"]
    assert phone.startswith("+43") and len(phone) == 12 and phone != "+43660100001"
    assert "@" in first["owner"]["email"] and first["owner"]["email"] != "anna@bank.example"
    assert first["note"] != consent["note"] and "@" in first["note"]
    assert first["data"][0]["value"] != "hunter2" and first["data"][1]["value"] == "gold"
    assert Masker().consent(consent)["access_token"] != first["access_token"]  # per recording


# -- set-up ----------------------------------------------------------------------------------------
def test_without_proxy_the_simulator_pays_nothing_for_it() -> None:
    assert not any(isinstance(x, Proxy) for x in _layers(create_app(["api1"]).wsgi_app))
    proxied = create_app(["api1", "yapily"], proxy={"api1": "http://127.0.0.1:9/api1"})
    assert any(isinstance(x, Proxy) for x in _layers(proxied.wsgi_app))


def _layers(layer: Any) -> list[Any]:
    """The WSGI middleware chain, outermost first."""
    found = []
    for _ in range(8):
        found.append(layer)
        layer = next(
            (getattr(layer, a) for a in ("inner", "wsgi_app", "flask_wsgi") if hasattr(layer, a)),
            None,
        )
        if layer is None or not callable(layer):
            break
    return found


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        (("--proxy", "nope=http://x"), "argument --proxy: 'nope=http://x': use PROVIDER=URL"),
        (("--proxy", "api1"), "argument --proxy: 'api1': use PROVIDER=URL"),
        (("--proxy", "api1=ftp://x"), "argument --proxy: 'ftp://x' is not an absolute http(s)"),
        (("--proxy", "api1=x.example"), "argument --proxy: 'x.example' is not an absolute"),
        (("--proxy", "api1=http://a", "--proxy", "api1=http://b"), "--proxy api1 is given twice"),
        (("--proxy", "yapily=http://a"), "--proxy yapily: not served; add --provider yapily"),
        (("--record", "/tmp"), "--record needs --proxy PROVIDER=URL"),
        (("--proxy-read-timeout", "0"), "argument --proxy-read-timeout: must be above 0"),
    ],
)
def test_bad_proxy_flags_are_one_line_and_exit_2(
    flags: tuple[str, ...], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        status = cli.main(["serve", "--provider", "api1", "--port", str(free_port()), *flags])
    except SystemExit as exc:
        status = int(exc.code or 0)
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith(f"mockserver: {reason}"), err


@pytest.mark.parametrize("provider", ["api1", "atto", "yapily", "fliqa", "finqware"])
def test_every_default_consent_as_shown_becomes_a_fixture_that_replays(provider: str) -> None:
    """What a provider's `recording` makes of its API's view of a consent, masked, is taken
    by its own admin_create, whatever the consent's status."""
    source = create_app([provider], fixtures=default_fixture_dir()).extensions["mockserver"]
    target = create_app([provider], fixtures=None).extensions["mockserver"]
    definition = source.runtimes[provider].definition
    masker = Masker(frozenset(definition.secret_fields))
    records = source.store.list(provider, definition.default_tenant)
    statuses = {definition.status_of(r.data) for r in records}
    assert len(statuses) >= min(4, len(definition.statuses))
    shown = [definition.render(r.data) for r in records]
    for consent in shown:
        fixture = masker.consent(definition.recording.to_fixture(dict(consent)))
        _, replayed = create_consent(target, provider, {**fixture, "tenant": pseudonym("k")})
        assert definition.status_of(target.store.list(provider, pseudonym("k"))[-1].data) == (
            definition.parse_status(fixture["status"])
        )
        assert consent.keys() <= replayed.keys()  # the admin API adds per-consent secrets


def test_hop_by_hop_headers_of_the_live_answer_stop_at_the_proxy(
    live: RunningServer, proxy: RunningServer
) -> None:
    hops = {"Keep-Alive": "timeout=5", "Upgrade": "h2c", "Trailer": "X-Sum", "X-Kept": "yes"}
    live.admin.fault("api1", "getConsent", status=200, body={}, headers=hops, everyone=True)
    relayed = httpx.get(proxy.url("api1") + f"/api/v1/consents/{ACCEPTED}", headers=h())
    assert relayed.status_code == 200 and relayed.headers["x-kept"] == "yes"
    for name in ("keep-alive", "upgrade", "trailer"):
        assert name not in relayed.headers, name


def test_a_body_over_the_limit_is_refused_in_the_providers_format_not_forwarded() -> None:
    app = create_app(["api1"], proxy={"api1": "http://127.0.0.1:9/api1"}, max_body_bytes=64)
    client = app.test_client()
    refused = client.post("/api1/api/v1/consents", headers=h(), json={"name": "x" * 100})
    assert refused.status_code == 413
    assert refused.content_type == "application/problem+json" and json_of(refused)["status"] == 413
    (entry,) = app.extensions["mockserver"].journal.entries()
    assert entry["proxied"] is True and entry["violations"][0]["in"] == "payload_too_large"
    assert "upstreamError" not in entry  # never sent
