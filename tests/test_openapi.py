"""The published contracts: /<provider>/openapi.json|yaml and the admin API's own document."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from flask import Flask, has_request_context
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from werkzeug.middleware.proxy_fix import ProxyFix

from mockserver import create_app
from mockserver.clock import EARLIEST, LATEST
from mockserver.providers import KNOWN
from mockserver.spec import read_yaml
from mockserver.testing import RunningServer, start_server
from mockserver.webhooks.admin import URL_PATTERN
from mockserver.webhooks.receiver import WebhookReceiver

from conftest import api1_headers

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
TOKEN = "admin-secret-for-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def every() -> FlaskClient:
    return create_app(fixtures=None, admin_token=TOKEN).test_client()


def _as_written(provider: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(read_yaml(ROOT / f"specs/{provider}.yaml")))
    return document


# -- the providers' specs ----------------------------------------------------------------------
@pytest.mark.parametrize("provider", sorted(KNOWN))
def test_each_spec_is_served_as_written_with_this_server_in_servers(
    every: FlaskClient, provider: str
) -> None:
    as_json = every.get(f"/{provider}/openapi.json")
    as_yaml = every.get(f"/{provider}/openapi.yaml")
    assert as_json.status_code == as_yaml.status_code == 200
    assert as_json.headers["Content-Type"] == "application/json"
    assert as_yaml.headers["Content-Type"] == "application/yaml"  # RFC 9512
    served = as_json.get_json()
    assert yaml.safe_load(as_yaml.data) == served
    validate(served)  # valid OpenAPI 3.1, $refs resolvable
    assert served["servers"] == [
        {"url": f"http://localhost/{provider}", "description": served["servers"][0]["description"]}
    ]
    written = _as_written(provider)
    assert {**served, "servers": None} == {**written, "servers": None}
    assert list(served) == list(written)  # the same key order: servers where it was
    assert "$ref" in as_json.get_data(as_text=True)  # not an inlined copy: generators need refs


def test_etag_if_none_match_and_head(every: FlaskClient) -> None:
    first = every.get("/api1/openapi.json")
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag) and first.headers["Cache-Control"] == "no-cache"
    again = every.get("/api1/openapi.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    other = every.get("/api1/openapi.json", headers={"If-None-Match": '"elsewhere"'})
    assert other.status_code == 200
    assert every.get("/api1/openapi.yaml").headers["ETag"] != etag  # another representation
    head = every.head("/yapily/openapi.yaml")
    assert head.status_code == 200 and head.data == b""
    assert int(head.headers["Content-Length"]) == len(every.get("/yapily/openapi.yaml").data)


def test_servers_follow_the_request_url_and_a_proxy_only_when_trusted() -> None:
    app = create_app(["atto"], fixtures=None)
    client = app.test_client()
    served = client.get("/atto/openapi.json", base_url="https://sim.example:8443/mock")
    assert served.get_json()["servers"][0]["url"] == "https://sim.example:8443/mock/atto"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}
    untrusted = client.get("/atto/openapi.json", headers=forwarded).get_json()
    assert untrusted["servers"][0]["url"] == "http://localhost/atto"
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]
    trusted = app.test_client().get("/atto/openapi.json", headers=forwarded).get_json()
    assert trusted["servers"][0]["url"] == "https://api.example/atto"


def test_contracts_are_not_journaled_and_operations_keep_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app(["api1"], fixtures=None)
    client = app.test_client()
    engine = app.extensions["mockserver"].engine
    served = engine.serve
    flask_contexts: list[bool] = []

    def serve(*args: Any) -> Any:  # FastPath serves without a Flask request context
        flask_contexts.append(has_request_context())
        return served(*args)

    monkeypatch.setattr(engine, "serve", serve)
    for path in ("/api1/openapi.json", "/api1/openapi.yaml"):
        assert client.get(path).status_code == 200
        assert client.head(path).status_code == 200
    assert flask_contexts == []  # never the engine's pipeline
    assert client.get("/__admin/requests").get_json()["total"] == 0
    assert client.get("/api1/api/v1/consents", headers=api1_headers()).status_code == 200
    assert flask_contexts == [False]  # the operation still took the fast path
    assert client.post("/api1/openapi.json").status_code == 405  # a provider 405, journaled
    assert client.get("/__admin/requests/unmatched").get_json()["total"] == 1


@pytest.fixture
def toy_at_openapi_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FlaskClient]:
    """The toy spec with its `boom` operation moved to GET /openapi.json."""
    text = (DATA / "toy.yaml").read_text().replace("  /boom:", "  /openapi.json:")
    (tmp_path / "toy.yaml").write_text(text)
    monkeypatch.setitem(KNOWN, "toy", "toy_provider")
    yield create_app(["toy"], spec_dir=tmp_path, admin_token=TOKEN).test_client()


def test_a_providers_own_operation_keeps_its_path(toy_at_openapi_json: FlaskClient) -> None:
    client = toy_at_openapi_json
    answer = client.get("/toy/openapi.json", headers={"X-Key": "k"})
    assert answer.status_code == 500 and "openapi" not in answer.get_json()  # the toy's boom
    assert client.get("/toy/openapi.yaml").status_code == 200  # not shadowed: still published
    spec = client.get("/__admin/toy/openapi.json", headers=BEARER).get_json()
    assert "/openapi.json" in spec["paths"] and spec["servers"][0]["url"].endswith("/toy")


# -- the admin API's document ------------------------------------------------------------------
def test_admin_document_is_behind_the_token_and_describes_this_server(
    every: FlaskClient,
) -> None:
    refused = every.get("/__admin/openapi.json")
    assert refused.status_code == 401 and refused.get_json()["error"] == "unauthorized"
    document = every.get("/__admin/openapi.json", headers=BEARER).get_json()
    validate(document)
    assert document["servers"][0]["url"] == "http://localhost"
    assert document["security"] == [{"adminToken": []}]
    provider = document["components"]["parameters"]["provider"]["schema"]
    assert provider["enum"] == list(KNOWN)
    health = document["paths"]["/__admin/health"]["get"]["responses"]
    assert health["401"] == {"$ref": "#/components/responses/Unauthorized"}
    clock_range = document["paths"]["/__admin/clock"]["post"]["description"]
    assert f"{EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d}" in clock_range
    as_yaml = every.get("/__admin/openapi.yaml", headers=BEARER)
    assert as_yaml.headers["Content-Type"] == "application/yaml"
    assert yaml.safe_load(as_yaml.data) == document


def test_without_a_token_the_admin_document_asks_for_none() -> None:
    client = create_app(["api1"], fixtures=None).test_client()
    document = client.get("/__admin/openapi.json").get_json()
    assert "security" not in document
    assert "401" not in document["paths"]["/__admin/health"]["get"]["responses"]
    assert document["components"]["parameters"]["provider"]["schema"]["enum"] == ["api1"]
    assert not any("/__admin/fliqa" in path for path in document["paths"])
    assert client.get("/__admin/nobody/openapi.json").status_code == 400


def _openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path template, parameter names aside."""
    return re.sub(r"<(?:[^>:]+:)?[^>]+>", "{}", rule)


def _admin_routes(app: Flask) -> set[tuple[str, str]]:
    """The API routes under /__admin, as (path template, method). The dashboard's pages under
    /__admin/ui are HTML for people (docs/dashboard.md), not operations of the API."""
    return {
        (_openapi_path(rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/__admin/")
        and not (rule.rule == "/__admin/ui" or rule.rule.startswith("/__admin/ui/"))
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def test_every_admin_route_is_documented(every: FlaskClient) -> None:
    document = every.get("/__admin/openapi.json", headers=BEARER).get_json()
    documented = {
        (re.sub(r"\{[^}]+\}", "{}", path), method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    # The generic /<provider>/consents/<id>/<decision> is documented as .../approve and .../reject.
    documented |= {("/__admin/{}/consents/{}/{}", "POST")}
    routes = _admin_routes(every.application)
    assert routes - documented == set()
    assert {path for path, _ in documented} - {path for path, _ in routes} <= {
        "/__admin/{}/consents/{}/approve",
        "/__admin/{}/consents/{}/reject",
    }
    assert ("/__admin/webhooks/{}/secret", "POST") in routes  # the webhooks blueprint's too


def test_only_the_dashboards_pages_are_left_out_of_the_admin_api() -> None:
    app = create_app(["atto"], fixtures=None)
    for rule in ("/__admin/ui", "/__admin/ui/", "/__admin/ui/<page>", "/__admin/uix"):
        app.add_url_rule(rule, endpoint=f"page{rule}", view_func=lambda **_: "<html></html>")
    found = {path for path, _ in _admin_routes(app)}
    assert "/__admin/uix" in found and "/__admin/webhooks" in found
    assert not {path for path in found if path == "/__admin/ui" or path.startswith("/__admin/ui/")}


def test_the_webhook_url_pattern_is_the_servers(every: FlaskClient) -> None:
    document = every.get("/__admin/openapi.json", headers=BEARER).get_json()
    assert document["components"]["schemas"]["WebhookUrl"]["pattern"] == URL_PATTERN
    register = document["paths"]["/__admin/webhooks"]["post"]["requestBody"]
    provider = register["content"]["application/json"]["schema"]["properties"]["provider"]
    assert provider["enum"] == list(KNOWN)


# -- over HTTP: a real server, and Schemathesis on the admin API ----------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = start_server(["--admin-token", TOKEN])
    yield running
    running.stop()


def test_a_running_server_publishes_its_specs(server: RunningServer) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        answer = http.get("/yapily/openapi.yaml")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/yaml"
        document = yaml.safe_load(answer.text)
        assert document["servers"][0]["url"] == f"{server.base_url}/yapily"
        validate(document)
        etag = answer.headers["etag"]
        assert http.get("/yapily/openapi.yaml", headers={"If-None-Match": etag}).status_code == 304
        assert http.get("/__admin/openapi.json").status_code == 401


# Operations whose schema-valid requests may still be refused (400/404/409) for reasons a schema
# cannot state: an unknown consent field or status of that provider, an operation of another
# provider, a transition the lifecycle forbids, a file the server cannot read, a clock moved
# out of its range by earlier examples, a credential field another provider requires. For them
# every check runs but "valid data accepted".
_SEMANTIC = (
    "moveClock",
    "createConsent",
    "changeStatus",
    "approveConsent",
    "rejectConsent",
    "addFault",
    "seed",
    "registerCredential",
)
_CONFIG = f"""
hooks = "admin_hooks"

[[operations]]
include-operation-id = {json.dumps(list(_SEMANTIC))}
checks.positive_data_acceptance.enabled = false
"""


# Loaded by Schemathesis (from its working directory): a webhook URL the server would accept is
# replaced, before the request is sent, by the test's receiver on loopback, so the server's sender
# never posts to a host Schemathesis made up (valid stays valid, so every check keeps its verdict).
_HOOKS = """
import os
import re

import schemathesis

from mockserver.webhooks.admin import URL_PATTERN


@schemathesis.hook
def before_call(context, case, kwargs):
    if isinstance(case.body, dict):
        for name in ("url", "backupUrl"):
            value = case.body.get(name)
            if isinstance(value, str) and re.fullmatch(URL_PATTERN, value):
                case.body[name] = os.environ["ADMIN_TEST_RECEIVER"]
"""


def test_schemathesis_finds_the_admin_api_true_to_its_document(
    server: RunningServer, tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    """Schemathesis's CLI, every phase (examples, coverage, fuzzing, stateful), positive and
    negative data, all checks, against a running server from its own /__admin/openapi.json:
    every answer is documented (status, media type, headers, body), never a 5xx, a request
    that breaks the document is refused, and the token is required. Found, then fixed: 500s
    on objects where strings belong (faults, seed, temp-tokens), on clock instants past year
    9999; an ignored misspelt query parameter; a 405 without Allow; DELETE advertised in the
    Allow of /__admin/webhooks/settings (a hook id route took the name)."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(_CONFIG)
    (tmp_path / "admin_hooks.py").write_text(_HOOKS)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),  # not the project's own (its hooks sign in to providers)
        "run",
        f"{server.base_url}/__admin/openapi.json",
        "--header",
        f"Authorization: Bearer {TOKEN}",
        "--max-examples=5",
        "--seed=20261204",
        "--no-color",
    ]
    env = {**os.environ, "ADMIN_TEST_RECEIVER": webhook_receiver.url}
    run = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:] + server.output()[-3000:]
    with httpx.Client(base_url=server.base_url, headers=BEARER) as http:
        # Every operation Schemathesis loaded from the document was run (none filtered out),
        # and there are at least as many as the core, webhook and provider routes make.
        selected = re.search(r"Selected: (\d+)/(\d+)", run.stdout)
        assert selected and selected.group(1) == selected.group(2), run.stdout[:3000]
        assert int(selected.group(1)) >= 36
        hooks = http.get("/__admin/webhooks").json()["webhooks"]
        sent = http.get("/__admin/webhooks/deliveries").json()["deliveries"]
    assert hooks and {h["url"] for h in hooks} == {webhook_receiver.url}  # registered, here
    assert {d["url"] for d in sent} <= {webhook_receiver.url, None}  # loopback only
