"""Bare Flask app used as the default target of ``bench/wsgi_servers.py``.

It does as little as possible so that the benchmark measures the WSGI server,
not the application: one ``GET /ping`` route returning a small JSON body.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping() -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "status": 1}
