"""A small API.1 client, as a fintech would write it; the example tests hold it to the contract."""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Any

import httpx


class Api1Client:
    """Use it as a context manager: leaving the block closes the HTTP connections."""

    def __init__(self, base_url: str, api_key: str, *, send_correlation_id: bool = True) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"x-api-key": api_key})
        self.send_correlation_id = send_correlation_id

    def __enter__(self) -> Api1Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _headers(self, **extra: str) -> dict[str, str]:
        headers = dict(extra)
        if self.send_correlation_id:
            headers["x-correlation-id"] = str(uuid.uuid4())
        return headers

    def create_consent(self, name: str) -> str:
        response = self.http.post("/api/v1/consents", json={"name": name}, headers=self._headers())
        response.raise_for_status()
        return response.headers["Location"].rsplit("/", 1)[-1]

    def get_consent(self, consent_id: str) -> tuple[dict[str, Any], str]:
        response = self.http.get(f"/api/v1/consents/{consent_id}", headers=self._headers())
        response.raise_for_status()
        return response.json(), response.headers["ETag"]

    def revoke(self, consent_id: str) -> None:
        _, etag = self.get_consent(consent_id)
        response = self.http.patch(
            f"/api/v1/consents/{consent_id}",
            json={"status": 2},
            headers=self._headers(**{"If-Match": etag}),
        )
        response.raise_for_status()

    def list_consents(self, status: str) -> list[dict[str, Any]]:
        response = self.http.get(
            "/api/v1/consents", params={"Status": status}, headers=self._headers()
        )
        if response.status_code == 400:
            return []  # a real client bug: it swallows the error
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"]
        return data
