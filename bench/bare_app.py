"""Bare Flask app: the physical limit the benchmarks compare the simulator with.

It does as little as possible so that a benchmark measures the WSGI server, not the
application: ``GET /ping`` returns a small JSON body (``bench/wsgi_servers.py``), and
``GET /api1/api/v1/consents/<id>`` returns a fixed consent of the same shape and size as the
simulator's answer, with an ETag (``bench/bench.py``): no validation, no state, no journal.
``POST /api1/api/v1/consents`` (201, a new id, an absolute Location) and ``PATCH
/api1/api/v1/consents/<id>`` (204) read the JSON body and answer as the simulator does: the
ceiling a write can reach on this server, whatever the application does.

``rsgi`` is the same app behind the adapter ``mockserver serve`` runs it on (granian's RSGI
interface, ``mockserver.rsgi.WsgiOnRsgi``): the bare handler under the simulator's own server.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, request

from mockserver.rsgi import WsgiOnRsgi

app = Flask(__name__)

_CONSENT: dict[str, Any] = {
    "name": "Acme AB",
    "status": 1,
    "source": "fortnox",
    "systemSettingsId": "74cd4e7b-1fe6-4ab8-ba5a-90283c194a31",
    "systemSettings": {"fortnox": "74cd4e7b-1fe6-4ab8-ba5a-90283c194a31"},
    "createdOn": "2026-11-22T20:28:43Z",
    "updatedOn": "2026-11-22T20:28:43Z",
}


@app.get("/ping")
def ping() -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "status": 1}


@app.get("/api1/api/v1/consents/<consent_id>")
def consent(consent_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    return {"id": consent_id, **_CONSENT}, {"ETag": '"1-999cf352"'}


@app.post("/api1/api/v1/consents")
def create() -> tuple[dict[str, Any], int, dict[str, str]]:
    consent_id = str(uuid.uuid4())
    body = {"id": consent_id, **_CONSENT, **(request.get_json() or {})}
    location = f"{request.host_url}api1/api/v1/consents/{consent_id}"
    return body, 201, {"ETag": '"1-999cf352"', "Location": location}


@app.patch("/api1/api/v1/consents/<consent_id>")
def patch(consent_id: str) -> tuple[str, int, dict[str, str]]:
    request.get_json()
    return "", 204, {"ETag": '"2-999cf352"'}


rsgi = WsgiOnRsgi(app, max_body=1 << 20)
