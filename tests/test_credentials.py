"""`serve --credentials open|registered`, over HTTP: every provider's own 401, and revocation."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver import create_app
from mockserver.app import default_fixture_dir
from mockserver.testing import running_server

from conftest import api1_headers

Call = Callable[[FlaskClient, str, str], TestResponse]


def _api1(client: FlaskClient, key: str, secret: str) -> TestResponse:
    return client.get("/api1/api/v1/consents", headers=api1_headers(key))


def _finqware(client: FlaskClient, client_id: str, secret: str) -> TestResponse:
    """getConsent with a consent the admin API made for the tenant (made whatever the mode)."""
    made = client.post("/__admin/finqware/consents", json={"tenant": client_id}).get_json()
    body = {"client_id": client_id, "client_secret": secret}
    body |= {k: made[k] for k in ("credentials_id", "access_token")}
    return client.post("/finqware/v1/consents/get", json=body)


def _yapily(client: FlaskClient, app_id: str, secret: str) -> TestResponse:
    basic = base64.b64encode(f"{app_id}:{secret}".encode()).decode()
    return client.get("/yapily/consents?limit=1", headers={"Authorization": f"Basic {basic}"})


def _atto_token(client: FlaskClient, client_id: str, secret: str) -> TestResponse:
    form = {"grant_type": "client_credentials", "client_id": client_id}
    form |= {"client_secret": secret, "scope": "api:consent"}
    return client.post("/atto/v1/oauth2/token", data=form)


def _atto(client: FlaskClient, client_id: str, secret: str) -> TestResponse:
    answer = _atto_token(client, client_id, secret)
    return answer if answer.status_code != 200 else _bearer(client, "/atto/consents/v1", answer)


def _fliqa_token(client: FlaskClient, key: str, secret: str) -> TestResponse:
    headers = {"Api-Key": key, "Api-Secret": secret}
    return client.get("/fliqa/service/auth/token/sandbox/sandbox", headers=headers)


def _fliqa(client: FlaskClient, key: str, secret: str) -> TestResponse:
    answer = _fliqa_token(client, key, secret)
    return (
        answer if answer.status_code != 200 else _bearer(client, "/fliqa/service/consent", answer)
    )


def _bearer(client: FlaskClient, path: str, token_answer: TestResponse) -> TestResponse:
    token = token_answer.get_json()["accessToken"]
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    call: Call
    fixture: tuple[str, str]  # the fixtures' identity and secret
    register: Callable[[str], dict[str, Any]]  # the admin body's fields besides the tenant
    refused: Callable[[Any], bool]  # the provider's own 401 body


CASES = [
    Case(
        "api1",
        _api1,
        ("sandbox-api1-key", ""),
        lambda secret: {},
        lambda b: b["status"] == 401 and b["title"] == "Unauthorized",
    ),
    Case(
        "finqware",
        _finqware,
        ("sandbox-finqware-client", "sandbox-finqware-secret"),
        lambda secret: {"client_secret": secret},
        lambda b: b["type"] == "unauthorized" and b["code"].startswith("invalid_client_"),
    ),
    Case(
        "yapily",
        _yapily,
        ("sandbox-yapily-app", "sandbox-yapily-secret"),
        lambda secret: {"secret": secret},
        lambda b: b["error"]["status"] == "UNAUTHORIZED",
    ),
    Case(
        "atto",
        _atto,
        ("sandbox-atto-client", "sandbox-atto-secret"),
        lambda secret: {"client_secret": secret},
        lambda b: b["code"] == "unauthorised_client",
    ),
    Case(
        "fliqa",
        _fliqa,
        ("sandbox-fliqa-key", "sandbox-fliqa-secret"),
        lambda secret: {"apiSecret": secret, "tenantSlug": "sandbox"},
        lambda b: b["errorCode"] == "unauthorized" and b["errorSubCode"] == "not_authorized",
    ),
]
IDS = [case.name for case in CASES]


def _client(mode: str) -> FlaskClient:
    app: Flask = create_app(strict=True, fixtures=default_fixture_dir(), credentials=mode)
    app.testing = True
    return app.test_client()


@pytest.fixture(scope="module")
def registered() -> FlaskClient:
    return _client("registered")


def _fresh() -> tuple[str, str]:
    return f"id-{uuid.uuid4().hex[:10]}", f"secret-{uuid.uuid4().hex}"


def _refused(case: Case, answer: TestResponse) -> None:
    assert answer.status_code == 401, answer.get_data(as_text=True)
    assert case.refused(answer.get_json()), answer.get_json()
    if case.name == "yapily":  # the header every Yapily 401 carries (assumptions/yapily.md)
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="Yapily"'


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_open_mode_accepts_an_unknown_credential(case: Case) -> None:
    answer = case.call(_client("open"), *_fresh())
    assert answer.status_code == 200, answer.get_data(as_text=True)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_registered_mode_refuses_an_unknown_credential_in_the_providers_words(
    case: Case, registered: FlaskClient
) -> None:
    _refused(case, case.call(registered, *_fresh()))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_registered_mode_accepts_the_fixtures_credential(
    case: Case, registered: FlaskClient
) -> None:
    assert case.call(registered, *case.fixture).status_code == 200


@pytest.mark.parametrize("case", [c for c in CASES if c.name != "api1"], ids=IDS[1:])
def test_registered_mode_refuses_a_fixture_identity_with_a_mistyped_secret(
    case: Case, registered: FlaskClient
) -> None:
    _refused(case, case.call(registered, case.fixture[0], case.fixture[1] + "x"))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_admin_registered_credential_works_until_revoked(
    case: Case, registered: FlaskClient
) -> None:
    identity, secret = _fresh()
    made = registered.post(
        f"/__admin/{case.name}/credentials", json={"tenant": identity, **case.register(secret)}
    )
    assert made.status_code == 201, made.get_json()
    assert made.headers["Location"].endswith(
        f"/__admin/{case.name}/credentials/{made.get_json()['id']}"
    )
    assert case.call(registered, identity, secret).status_code == 200
    gone = registered.delete(f"/__admin/{case.name}/credentials/{made.get_json()['id']}")
    assert gone.status_code == 200 and gone.get_json()["revoked"]["id"] == made.get_json()["id"]
    _refused(case, case.call(registered, identity, secret))
    again = registered.delete(f"/__admin/{case.name}/credentials/{made.get_json()['id']}")
    assert again.status_code == 404 and again.get_json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("name", "token", "path"),
    [("atto", _atto_token, "/atto/consents/v1"), ("fliqa", _fliqa_token, "/fliqa/service/consent")],
)
@pytest.mark.parametrize("mode", ["open", "registered"])
def test_revoking_a_credential_ends_the_tokens_issued_with_it(
    name: str, token: Call, path: str, mode: str
) -> None:
    client = _client(mode)
    case = next(c for c in CASES if c.name == name)
    identity, secret = _fresh()
    client.post(f"/__admin/{name}/credentials", json={"tenant": identity, **case.register(secret)})
    issued = token(client, identity, secret)
    assert _bearer(client, path, issued).status_code == 200
    assert client.delete(f"/__admin/{name}/credentials/{identity}").status_code == 200
    assert _bearer(client, path, issued).status_code == 401
    # Registered again (same secret): a new credential; the old token stays dead.
    client.post(f"/__admin/{name}/credentials", json={"tenant": identity, **case.register(secret)})
    assert _bearer(client, path, issued).status_code == 401
    assert _bearer(client, path, token(client, identity, secret)).status_code == 200


def test_the_list_masks_every_secret_and_fingerprints_a_key_tenant(registered: FlaskClient) -> None:
    secret = "hunter2-" + uuid.uuid4().hex
    body = {"tenant": "fq-listed", "client_secret": secret, "client_app_key": secret + "k"}
    assert registered.post("/__admin/finqware/credentials", json=body).status_code == 201
    listed = registered.get("/__admin/finqware/credentials")
    assert secret not in listed.get_data(as_text=True)
    entry = next(e for e in listed.get_json()["credentials"] if e["tenant"] == "fq-listed")
    assert entry["credentials"] == {"client_secret": "****", "client_app_key": "****"}
    keys = registered.get("/__admin/api1/credentials").get_data(as_text=True)
    assert "sandbox-api1-key" not in keys and "sha256:" in keys


@pytest.mark.parametrize(
    ("provider", "body", "status", "words"),
    [
        ("yapily", {"secret": "s"}, 400, "tenant"),
        ("yapily", {"tenant": "a"}, 400, "secret"),
        ("yapily", {"tenant": "a", "secret": "s", "colour": "red"}, 400, "secret"),
        ("atto", {"tenant": "a", "client_secret": 7}, 400, "client_secret"),
        ("api1", {"tenant": "k", "secret": "s"}, 400, "unknown fields: secret"),
        ("nobody", {"tenant": "k"}, 400, "unknown provider"),
        ("yapily", {"tenant": "sandbox-yapily-app", "secret": "s"}, 409, "DELETE it first"),
    ],
)
def test_a_bad_registration_is_a_json_refusal(
    registered: FlaskClient, provider: str, body: dict[str, Any], status: int, words: str
) -> None:
    answer = registered.post(f"/__admin/{provider}/credentials", json=body)
    assert answer.status_code == status, answer.get_json()
    assert words in answer.get_json()["message"]


def test_create_app_refuses_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="credentials: 'closed' is not one of open, registered"):
        create_app(["api1"], credentials="closed")


def test_a_served_registered_process_refuses_until_the_admin_registers() -> None:
    with running_server(["--provider", "yapily", "--credentials", "registered"]) as server:
        url = f"{server.url('yapily')}/consents?limit=1"
        assert httpx.get(url, auth=("app-x", "s3cret")).status_code == 401
        sandbox = ("sandbox-yapily-app", "sandbox-yapily-secret")
        assert httpx.get(url, auth=sandbox).status_code == 200
        made = server.admin.register_credential("yapily", "app-x", secret="s3cret")
        assert made["credentials"] == {"secret": "****"}
        assert httpx.get(url, auth=("app-x", "s3cret")).status_code == 200
        assert "s3cret" not in str(server.admin.credentials("yapily"))
        server.admin.revoke_credential("yapily", "app-x")
        assert httpx.get(url, auth=("app-x", "s3cret")).status_code == 401


def test_a_reset_forgets_admin_registrations_and_registers_the_fixtures_again(
    tmp_path: Path,
) -> None:
    """On a shared store too (SQLite: what several workers use)."""
    app = create_app(
        ["yapily"],
        fixtures=default_fixture_dir(),
        credentials="registered",
        store=f"sqlite:{tmp_path / 'store.sqlite'}",
    )
    client = app.test_client()
    case = next(c for c in CASES if c.name == "yapily")
    body = {"tenant": "app-r", "secret": "s"}
    assert client.post("/__admin/yapily/credentials", json=body).status_code == 201
    assert client.delete("/__admin/yapily/credentials/sandbox-yapily-app").status_code == 200
    _refused(case, case.call(client, *case.fixture))
    assert client.post("/__admin/reset").status_code == 200
    assert case.call(client, *case.fixture).status_code == 200
    _refused(case, case.call(client, "app-r", "s"))
    listed = client.get("/__admin/yapily/credentials").get_json()["credentials"]
    assert [e["tenant"] for e in listed] == ["sandbox-yapily-app"]
