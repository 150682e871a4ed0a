"""A small HTTP client for the suite's own calls (tokens, admin, follow-ups): WSGI app or URL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests


@dataclass(slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


@dataclass(slots=True)
class Wire:
    """Sends a request to `origin` + path, in-process when `app` is a WSGI app."""

    origin: str
    app: Any = None
    timeout: float = 30.0

    @classmethod
    def for_url(cls, url: str, app: Any = None) -> Wire:
        parts = urlsplit(url)
        return cls(f"{parts.scheme}://{parts.netloc}", app)

    def send(
        self,
        method: str,
        path_or_url: str,
        *,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> Answer:
        parts = urlsplit(path_or_url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = dict(headers or {})
        if self.app is not None:
            client = self.app.test_client()
            kwargs: dict[str, Any] = {"headers": headers, "base_url": self.origin}
            if json_body is not None:
                kwargs["json"] = json_body
            elif form is not None:
                kwargs["data"] = form
            elif data is not None:
                kwargs["data"] = data
            response = client.open(path, method=method, **kwargs)
            return Answer(
                response.status_code,
                dict(response.headers.items()),
                response.get_data(as_text=True),
            )
        answer = requests.request(
            method,
            self.origin + path,
            headers=headers,
            json=json_body,
            data=form if form is not None else data,
            timeout=self.timeout,
            allow_redirects=False,
        )
        return Answer(answer.status_code, dict(answer.headers.items()), answer.text)
