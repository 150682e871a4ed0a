"""Small request helpers shared by the test modules."""

from __future__ import annotations

from flask.testing import FlaskClient

from conftest import api1_headers


def api1_create(
    client: FlaskClient, name: str = "Acme AB", key: str = "tenant-a"
) -> tuple[str, str]:
    """Create an API.1 consent; return its id and ETag."""
    response = client.post("/api1/api/v1/consents", json={"name": name}, headers=api1_headers(key))
    assert response.status_code == 201, response.json
    return str(response.json["id"]), str(response.headers["ETag"])
