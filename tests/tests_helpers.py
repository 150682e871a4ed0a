"""Small request helpers shared by the test modules."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from conftest import api1_headers


def json_of(response: TestResponse) -> dict[str, Any]:
    """The response's body, which must be a JSON object (what most responses carry)."""
    # werkzeug types `response.json` as `Any | None`; checking the shape once here lets the tests
    # index the body without an ignore on every line.
    body = response.json
    assert isinstance(body, dict), body
    return body


def json_list_of(response: TestResponse) -> list[Any]:
    """The response's body, which must be a JSON array."""
    body = response.json
    assert isinstance(body, list), body
    return body


def api1_create(
    client: FlaskClient, name: str = "Acme AB", key: str = "tenant-a"
) -> tuple[str, str]:
    """Create an API.1 consent; return its id and ETag."""
    response = client.post("/api1/api/v1/consents", json={"name": name}, headers=api1_headers(key))
    assert response.status_code == 201, response.json
    return str(json_of(response)["id"]), str(response.headers["ETag"])
