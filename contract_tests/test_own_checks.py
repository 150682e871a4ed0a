"""Our own checks catch what they claim to: each against a deliberately broken toy API.

The same requests against a correct toy pass every check, so a check never fails by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask, Response, request
from schemathesis.core.failures import FailureGroup

from . import checks

CONSENT = "0b0b9d47-5a45-4d8f-8a8e-0a7f3b1f6a11"
SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Toy consents", "version": "1"},
    "security": [{"Key": []}],
    "components": {"securitySchemes": {"Key": {"type": "apiKey", "in": "header", "name": "k"}}},
    "paths": {
        "/consents": {
            "post": {
                "operationId": "createConsent",
                "responses": {"201": {"description": "created"}},
            },
        },
        "/consents/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {}}],
            "get": {"operationId": "getConsent", "responses": {"200": {"description": "ok"}}},
            "patch": {
                "operationId": "updateConsent",
                "parameters": [
                    {"name": "If-Match", "in": "header", "required": True, "schema": {}}
                ],
                "responses": {"204": {"description": "ok"}, "412": {"description": "stale"}},
            },
            "delete": {"operationId": "deleteConsent", "responses": {"204": {"description": ""}}},
        },
    },
}


def toy(broken: set[str]) -> Flask:
    """A one-consent API; each name in `broken` breaks one promise our checks hold it to."""
    app = Flask("toy")
    state = {"version": 1, "deleted": False}

    def tag() -> str:
        return f'"v{state["version"]}"'

    @app.post("/consents")
    def create() -> Response:
        target = "/consents/missing" if "location" in broken else f"/consents/{CONSENT}"
        return Response("{}", 201, {"Location": target}, mimetype="application/json")

    @app.get("/consents/<cid>")
    def read(cid: str) -> Response:
        if "auth" not in broken and not request.headers.get("k"):
            return Response("{}", 401, mimetype="application/json")
        if cid != CONSENT:
            return Response("{}", 404, mimetype="application/json")
        body = f'{{"id": "{CONSENT}"}}'
        if "trace" in broken:
            body = '{"error": "Traceback (most recent call last):\\n  File \\"app.py\\", line 3"}'
        if "tenant" in broken:
            body = f'{{"id": "{CONSENT}", "other": "canary-0001"}}'
        return Response(body, 200, {"ETag": tag()}, mimetype="application/json")

    @app.patch("/consents/<cid>")
    def update(cid: str) -> Response:
        if "stale" not in broken and request.headers.get("If-Match") != tag():
            return Response("{}", 412, mimetype="application/json")
        if "etag" not in broken:
            state["version"] += 1
        return Response(status=204, headers={"ETag": tag()})

    @app.delete("/consents/<cid>")
    def delete(cid: str) -> Response:
        if state["deleted"] and "delete" in broken:
            return Response("{}", 404, mimetype="application/json")
        state["deleted"] = True
        return Response(status=204)

    return app


def run(app: Flask, check: Callable[..., Any], method: str, path: str, **kwargs: Any) -> None:
    schema = schemathesis.openapi.from_dict(SPEC)
    schema.app = app
    schema.config.update(base_url="http://localhost")
    operation = schema[path][method]
    case = operation.Case(headers={"k": "key", **kwargs.pop("headers", {})}, **kwargs)
    response = case.call()
    case.validate_response(response, checks=[check])


CASES: dict[str, tuple[Callable[..., Any], str, str, dict[str, Any], str]] = {
    "location": (checks.location_resolves, "POST", "/consents", {}, "Location does not resolve"),
    "etag": (
        checks.etag_changes_after_write,
        "PATCH",
        "/consents/{id}",
        {"path_parameters": {"id": CONSENT}, "headers": {"If-Match": '"v1"'}},
        "ETag unchanged by a successful write",
    ),
    "stale": (
        checks.etag_changes_after_write,
        "PATCH",
        "/consents/{id}",
        {"path_parameters": {"id": CONSENT}, "headers": {"If-Match": '"v1"'}},
        "Stale If-Match accepted",
    ),
    "delete": (
        checks.repeated_delete_is_idempotent,
        "DELETE",
        "/consents/{id}",
        {"path_parameters": {"id": CONSENT}},
        "Repeated delete is not idempotent",
    ),
    "trace": (
        checks.no_leaks,
        "GET",
        "/consents/{id}",
        {"path_parameters": {"id": CONSENT}},
        "leaks a stack trace",
    ),
    "tenant": (
        checks.no_leaks,
        "GET",
        "/consents/{id}",
        {"path_parameters": {"id": CONSENT}},
        "shows another tenant's consent: canary-0001",
    ),
    "auth": (
        checks.credentials_required,
        "GET",
        "/consents/{id}",
        {"path_parameters": {"id": CONSENT}},
        "API accepts requests without authentication",
    ),
}


@pytest.fixture(autouse=True)
def canary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "CANARIES", {"canary-0001"})
    monkeypatch.setattr(checks, "_AUTH_CONFIRMED", set())


@pytest.mark.parametrize("flaw", list(CASES))
def test_the_check_catches_the_flaw(flaw: str) -> None:
    check, method, path, kwargs, message = CASES[flaw]
    with pytest.raises(FailureGroup) as caught:
        run(toy({flaw}), check, method, path, **kwargs)
    assert message in str(caught.value)


@pytest.mark.parametrize("flaw", list(CASES))
def test_the_check_passes_a_correct_api(flaw: str) -> None:
    check, method, path, kwargs, _ = CASES[flaw]
    run(toy(set()), check, method, path, **kwargs)
