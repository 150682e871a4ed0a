"""Bare Flask app: the physical limit the benchmarks compare the simulator with.

It does as little as possible so that a benchmark measures the WSGI server, not the
application: ``GET /ping`` returns a small JSON body (``bench/wsgi_servers.py``), and
``GET /api1/api/v1/consents/<id>`` returns a fixed consent of the same shape and size as the
simulator's answer, with an ETag (``bench/bench.py``): no validation, no state, no journal.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask

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
