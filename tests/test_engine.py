"""The generic engine, exercised through a toy provider: validation, errors, ETags, strict mode."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver import ContractViolation, SpecError, create_app
from mockserver.providers import KNOWN

from conftest import api1_headers
from tests_helpers import json_of

DATA = Path(__file__).parent / "data"


@pytest.fixture
def toy_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setitem(KNOWN, "toy", "toy_provider")
    app = create_app(["toy"], strict=True, spec_dir=DATA, max_body_bytes=2048)
    app.testing = True
    yield app


@pytest.fixture
def toy(toy_app: Flask) -> FlaskClient:
    return toy_app.test_client()


H = {"X-Key": "tenant-1"}


def _create(toy: FlaskClient, **body: Any) -> TestResponse:
    payload = {"name": "thing", **body}
    return toy.post("/toy/things", json=payload, headers={**H, "X-Req": str(uuid.uuid4())})


def test_create_answers_201_with_absolute_location_under_the_mount(toy: FlaskClient) -> None:
    response = _create(toy)
    assert response.status_code == 201
    thing_id = json_of(response)["id"]
    assert response.headers["Location"] == f"http://localhost/toy/things/{thing_id}"
    assert toy.get(response.headers["Location"], headers=H).status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"size": "3"}, "size", "is not of type 'integer'"),
        ({"size": 11}, "size", "maximum"),
        ({"size": 0}, "size", "minimum"),
        ({"kind": "c"}, "kind", "is not one of"),
        ({"born": "2026-02-30"}, "born", "is not a 'date'"),
        ({"born": "05/01/2026"}, "born", "is not a 'date'"),
        ({"at": "2026-01-05 10:00"}, "at", "is not a 'date-time'"),
        ({"extra": 1}, "", "Additional properties are not allowed"),
        ({"name": ""}, "name", "should be non-empty"),
    ],
)
def test_body_is_validated_against_the_schema(
    toy: FlaskClient, body: dict[str, Any], field: str, fragment: str
) -> None:
    response = _create(toy, **body)
    assert response.status_code == 400
    assert json_of(response)["oops"] == "invalid_request"
    assert fragment in json_of(response)["msg"]
    assert field in json_of(response)["msg"]


def test_valid_formats_pass(toy: FlaskClient) -> None:
    response = _create(toy, size=10, kind="b", born="2024-02-29", at="2026-01-05T10:00:00.5+02:00")
    assert response.status_code == 201


def test_required_body_and_header(toy: FlaskClient) -> None:
    no_body = toy.post("/toy/things", headers={**H, "X-Req": str(uuid.uuid4())})
    assert no_body.status_code == 400 and "body" in json_of(no_body)["msg"]
    missing_name = toy.post("/toy/things", json={}, headers={**H, "X-Req": str(uuid.uuid4())})
    assert (
        missing_name.status_code == 400
        and "'name' is a required property" in json_of(missing_name)["msg"]
    )
    no_header = toy.post("/toy/things", json={"name": "x"}, headers=H)
    assert no_header.status_code == 400 and "X-Req" in json_of(no_header)["msg"]
    bad_header = toy.post("/toy/things", json={"name": "x"}, headers={**H, "X-Req": "nope"})
    assert bad_header.status_code == 400 and "uuid" in json_of(bad_header)["msg"]


def test_path_parameter_format_is_checked(toy: FlaskClient) -> None:
    response = toy.get("/toy/things/not-a-uuid", headers=H)
    assert response.status_code == 400
    assert "id" in json_of(response)["msg"] and "uuid" in json_of(response)["msg"]


def test_query_parameters_are_coerced_and_checked(toy: FlaskClient) -> None:
    ok = toy.get("/toy/things?limit=5&tags=a,b&flags=x&flags=y&ok=true&when=2026-01-01", headers=H)
    assert ok.status_code == 200
    assert json_of(ok)["query"] == {
        "limit": 5,
        "tags": ["a", "b"],
        "flags": ["x", "y"],
        "ok": True,
        "when": "2026-01-01",
    }
    assert json_of(toy.get("/toy/things", headers=H))["query"] == {"limit": 3}  # the default
    for bad in ("limit=6", "limit=0", "limit=two", "flags=z", "ok=yes", "when=2026-13-01"):
        response = toy.get(f"/toy/things?{bad}", headers=H)
        assert response.status_code == 400, bad
        assert json_of(response)["oops"] == "invalid_request"


def test_missing_credentials_are_401_in_the_provider_format(toy: FlaskClient) -> None:
    response = toy.get("/toy/things")
    assert response.status_code == 401
    assert json_of(response)["oops"] == "unauthenticated"
    assert "X-Key" in json_of(response)["msg"]


def test_malformed_json_and_wrong_content_type(toy: FlaskClient) -> None:
    headers = {**H, "X-Req": str(uuid.uuid4())}
    broken = toy.post(
        "/toy/things", data="{not json", headers=headers, content_type="application/json"
    )
    assert broken.status_code == 400 and json_of(broken)["oops"] == "malformed_body"
    wrong = toy.post("/toy/things", data="name=x", headers=headers, content_type="text/plain")
    assert wrong.status_code == 415 and json_of(wrong)["oops"] == "unsupported_media_type"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_number_constants_are_a_malformed_body(toy: FlaskClient, constant: str) -> None:
    """Python's json reads NaN and Infinity; JSON (RFC 8259) has no such values."""
    headers = {**H, "X-Req": str(uuid.uuid4())}
    response = toy.post(
        "/toy/things",
        data='{"name": "x", "n": ' + constant + "}",
        headers=headers,
        content_type="application/json",
    )
    assert response.status_code == 400 and json_of(response)["oops"] == "malformed_body"
    assert f"{constant} is not a JSON value" in json_of(response)["msg"]


def test_over_large_body_is_413(toy: FlaskClient) -> None:
    response = toy.post(
        "/toy/things", json={"name": "x" * 5000}, headers={**H, "X-Req": str(uuid.uuid4())}
    )
    assert response.status_code == 413
    assert json_of(response)["oops"] == "payload_too_large"


def test_unknown_route_and_wrong_method(toy: FlaskClient) -> None:
    missing = toy.get("/toy/nothing-here", headers=H)
    assert missing.status_code == 404 and json_of(missing)["oops"] == "route_not_found"
    wrong = toy.delete("/toy/things", headers=H)
    assert wrong.status_code == 405 and json_of(wrong)["oops"] == "method_not_allowed"
    assert wrong.headers["Allow"] == "GET, POST"
    options = toy.options("/toy/things", headers=H)
    assert options.status_code == 405


def test_etag_if_match_and_if_none_match(toy: FlaskClient) -> None:
    created = _create(toy)
    url = f"/toy/things/{json_of(created)['id']}"
    first = toy.get(url, headers=H)
    etag = first.headers["ETag"]
    assert etag == created.headers["ETag"] and etag.startswith('"') and not etag.startswith("W/")
    assert toy.get(url, headers={**H, "If-None-Match": etag}).status_code == 304
    assert toy.patch(url, json={"name": "n"}, headers=H).status_code == 428
    updated = toy.patch(url, json={"name": "n"}, headers={**H, "If-Match": etag})
    assert updated.status_code == 204
    assert updated.headers["ETag"] != etag
    stale = toy.patch(url, json={"name": "m"}, headers={**H, "If-Match": etag})
    assert stale.status_code == 412 and json_of(stale)["oops"] == "precondition_failed"
    assert toy.get(url, headers={**H, "If-None-Match": etag}).status_code == 200
    assert json_of(toy.get(url, headers=H))["name"] == "n"
    star = toy.patch(url, json={"name": "s"}, headers={**H, "If-Match": "*"})
    assert star.status_code == 204


def test_etag_of_another_record_does_not_match(toy: FlaskClient) -> None:
    one, two = _create(toy), _create(toy)
    response = toy.patch(
        f"/toy/things/{json_of(two)['id']}",
        json={"name": "x"},
        headers={**H, "If-Match": one.headers["ETag"]},
    )
    assert response.status_code == 412


def test_tenants_are_isolated(toy: FlaskClient) -> None:
    created = _create(toy)
    other = toy.get(f"/toy/things/{json_of(created)['id']}", headers={"X-Key": "tenant-2"})
    assert other.status_code == 404


def test_strict_mode_fails_loudly_on_a_response_the_spec_forbids(toy: FlaskClient) -> None:
    with pytest.raises(ContractViolation, match=r"response-body n: 'not an integer'"):
        toy.get("/toy/broken", headers=H)


def test_non_strict_mode_serves_the_response(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KNOWN, "toy", "toy_provider")
    app = create_app(["toy"], spec_dir=DATA)
    assert app.test_client().get("/toy/broken", headers=H).json == {"n": "not an integer"}


def test_handler_bug_is_a_500_in_the_journal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KNOWN, "toy", "toy_provider")
    app = create_app(["toy"], spec_dir=DATA)
    response = app.test_client().get("/toy/boom", headers=H)
    assert response.status_code == 500
    assert json_of(response)["oops"] == "server_error"
    assert "Traceback" not in response.get_data(as_text=True)
    entry = app.extensions["mockserver"].journal.entries(operation="boom")[-1]
    assert "ZeroDivisionError: a bug in a handler" in entry["error"]


def test_handler_bug_raises_in_strict_mode(toy: FlaskClient) -> None:
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        toy.get("/toy/boom", headers=H)


def test_an_operation_without_handler_fails_at_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(KNOWN, "toy", "toy_provider")
    spec = (DATA / "toy.yaml").read_text().replace("operationId: boom", "operationId: boomAgain")
    (tmp_path / "toy.yaml").write_text(spec)
    with pytest.raises(SpecError, match=r"boomAgain \(define `def boom_again\(ctx\)`"):
        create_app(["toy"], spec_dir=tmp_path)


def test_bad_spec_fails_at_start_with_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(KNOWN, "toy", "toy_provider")
    (tmp_path / "toy.yaml").write_text(
        (DATA / "toy.yaml").read_text().replace("'#/components/schemas/Thing'", "'#/nowhere'")
    )
    with pytest.raises(SpecError, match=r"toy.yaml: \$ref '#/nowhere' points at nothing"):
        create_app(["toy"], spec_dir=tmp_path)


# Provider-specific code lives in these sub-packages of mockserver (one module per provider):
# the providers' behaviour, and the Faker factories that make their consents' data.
PROVIDER_SPECIFIC = ("providers", "factories")


def test_the_engine_names_no_provider() -> None:
    package = Path(__file__).parents[1] / "mockserver"
    names = ("api1", "finqware", "yapily", "atto", "fliqa", "zwapgrid")
    engine = [
        path
        for path in package.rglob("*.py")
        if path.relative_to(package).parts[0] not in PROVIDER_SPECIFIC
    ]
    assert package / "app.py" in engine and package / "testing.py" in engine
    for path in engine:
        text = path.read_text().lower()
        for name in names:
            assert name not in text, f"{path.relative_to(package)} mentions {name}"


def test_no_module_of_the_package_passes_500_lines() -> None:
    package = Path(__file__).parents[1] / "mockserver"
    for path in package.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 500, f"{path.relative_to(package)} has {lines} lines"


def test_a_uuid_with_a_trailing_newline_is_a_400_not_a_500(toy: FlaskClient) -> None:
    response = toy.get("/toy/things/3fa85f64-5717-4562-b3fc-2c963f66afa6%0A", headers=H)
    assert response.status_code == 400
    assert "uuid" in json_of(response)["msg"]


def test_url_builders_are_compiled_on_first_use_and_still_build() -> None:
    from flask import url_for

    from mockserver.app import LazyBuilderRule

    app = create_app(["api1"], fixtures=None)
    rules = list(app.url_map.iter_rules())
    assert rules and all(isinstance(rule, LazyBuilderRule) for rule in rules)
    with app.test_request_context():
        for rule in rules:
            values: dict[str, Any] = dict.fromkeys(rule.arguments, "7777")
            built = url_for(rule.endpoint, **values, page="2")
            assert built.split("?")[0].count("7777") == len(rule.arguments)
            assert built.endswith("page=2")


def test_serving_leaves_the_shared_random_state_alone(tmp_path: Path) -> None:
    """Request ids and SQLite generations come from PRNGs of their own: a test that seeds
    `random`, or Hypothesis (which refuses strategies that move it), is not disturbed by a
    request served on another thread."""
    app = create_app(["api1"], store=f"sqlite:{tmp_path / 'state.sqlite'}")
    before = random.getstate()
    answer = app.test_client().post(
        "/api1/api/v1/consents", json={"name": "Acme"}, headers=api1_headers()
    )
    assert answer.status_code == 201
    assert random.getstate() == before
    app.extensions["mockserver"].store.close()


def test_request_ids_are_the_text_uuid_makes_of_the_same_bits() -> None:
    """new_request_id formats the UUID itself: the same text as str(uuid.UUID(version=4))."""
    from mockserver.engine import exchange

    rng = random.Random(7)
    for _ in range(5000):
        seed = rng.getrandbits(128)
        exchange._ids.seed(seed)
        ours = exchange.new_request_id()
        exchange._ids.seed(seed)
        theirs = str(uuid.UUID(int=exchange._ids.getrandbits(128), version=4))
        assert ours == theirs
