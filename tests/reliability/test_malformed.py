"""A catalogue of malformed requests over real HTTP: each a 4xx in the provider's own format.

Every request goes through a raw socket, so nothing is tidied up on the way (no Host, invalid
UTF-8, NUL bytes, chunked bodies). For each: a status from 400 to 499, a body in the dialect
of the provider (or the control plane's JSON), no traceback or internal path, and the server
healthy once the whole catalogue has been sent.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from mockserver.testing import RunningServer, start_server

# The top-level keys each provider's error body always has (its dialect).
DIALECTS: dict[str, set[str]] = {
    "api1": {"type", "title", "status"},
    "finqware": {"id", "type", "http", "code", "message"},
    "yapily": {"error"},
    "atto": {"code", "description", "correlationId"},
    "fliqa": {"errorCode", "errorMessage", "requestId"},
    "__admin": {"error", "message"},
}
LEAKS = ("Traceback", 'File "', "/work/", "site-packages", '.py"', "mockserver/")


@dataclass(slots=True)
class Probe:
    name: str
    provider: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunked: bool = False
    raw: bytes | None = None  # the whole request, sent as is


@dataclass(slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def send(base_url: str, probe: Probe) -> Answer:
    netloc = urlsplit(base_url).netloc
    host, _, port = netloc.partition(":")
    if probe.raw is not None:
        wire = probe.raw
    else:
        lines = [f"{probe.method} {probe.path} HTTP/1.1", f"Host: {netloc}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in probe.headers.items()]
        if probe.chunked:
            lines.append("Transfer-Encoding: chunked")
            size = 65536
            pieces = [probe.body[i : i + size] for i in range(0, len(probe.body), size)]
            payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
        else:
            lines.append(f"Content-Length: {len(probe.body)}")
            payload = probe.body
        wire = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        try:
            sock.sendall(wire)
        except OSError:
            pass  # the server may answer (413) and close before the whole body is sent
        response = http.client.HTTPResponse(sock, method=probe.method)
        response.begin()
        body = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)


def _json(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


DEEP = b'{"a":' * 5000 + b"1" + b"}" * 5000
HUGE = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'


def _generic(provider: str, base: str, headers: dict[str, str], item: str) -> list[Probe]:
    """The same sixteen ways to get a request wrong, aimed at one provider's list/create path."""
    js = {**headers, "Content-Type": "application/json"}
    return [
        Probe("malformed JSON", provider, "POST", base, js, b'{"name": '),
        Probe("JSON with trailing garbage", provider, "POST", base, js, b'{"a": 1} trailing'),
        Probe("huge body", provider, "POST", base, js, HUGE),
        Probe("huge chunked body", provider, "POST", base, js, HUGE, chunked=True),
        Probe("deep JSON", provider, "POST", base, js, DEEP),
        Probe("NaN", provider, "POST", base, js, b'{"name": NaN}'),
        Probe(
            "wrong media type",
            provider,
            "POST",
            base,
            {**headers, "Content-Type": "text/plain"},
            b"name=x",
        ),
        Probe("invalid UTF-8", provider, "POST", base, js, b'{"name": "\xff\xfe\xfd"}'),
        Probe("NUL byte in body", provider, "POST", base, js, b'{"name": "a\x00b"}'),
        Probe("JSON array body", provider, "POST", base, js, b"[1, 2, 3]"),
        Probe(
            "path traversal in an id",
            provider,
            "GET",
            f"{item}..%2F..%2F..%2Fetc%2Fpasswd",
            headers,
        ),
        Probe("NUL in an id", provider, "GET", f"{item}abc%00def", headers),
        Probe("overlong id", provider, "GET", item + "a" * 6000, headers),
        Probe("wrong method", provider, "PUT", base, js, b"{}"),
        Probe("unknown route", provider, "GET", base + "/nowhere/at/all", headers),
        Probe("no credentials", provider, "GET", base, {}),
    ]


def _catalogue(tokens: dict[str, str]) -> list[Probe]:
    cid = str(uuid.uuid4())
    api1 = {"x-api-key": "sandbox-api1-key", "x-correlation-id": cid}
    yapily = {"Authorization": _basic("sandbox-yapily-app", "sandbox-yapily-secret")}
    atto = {"Authorization": f"Bearer {tokens['atto']}"}
    fliqa = {"Authorization": f"Bearer {tokens['fliqa']}"}
    probes = [
        *_generic("api1", "/api1/api/v1/consents", api1, "/api1/api/v1/consents/"),
        *_generic("finqware", "/finqware/v1/consents/get", {}, "/finqware/v1/consents/"),
        *_generic("yapily", "/yapily/consents", yapily, "/yapily/consents/"),
        *_generic("atto", "/atto/consents/v1", atto, "/atto/consents/v1/"),
        *_generic("fliqa", "/fliqa/account/consent", fliqa, "/fliqa/service/consent/"),
        # Paging and parameters out of range, duplicated or of the wrong type.
        Probe("negative page size", "api1", "GET", "/api1/api/v1/consents?Count=-1", api1),
        Probe(
            "huge page size",
            "api1",
            "GET",
            "/api1/api/v1/consents?Count=99999999999999999999",
            api1,
        ),
        Probe("page zero", "api1", "GET", "/api1/api/v1/consents?CurrentPage=0", api1),
        Probe("duplicated parameter", "api1", "GET", "/api1/api/v1/consents?Count=1&Count=2", api1),
        Probe("unknown status", "api1", "GET", "/api1/api/v1/consents?Status=SIDEWAYS", api1),
        Probe("negative limit", "yapily", "GET", "/yapily/consents?limit=-5", yapily),
        Probe("huge offset", "yapily", "GET", "/yapily/consents?offset=1e400", yapily),
        Probe("bad filter", "yapily", "GET", "/yapily/consents?filter[status]=NOPE", yapily),
        Probe("negative limit", "atto", "GET", "/atto/consents/v1?limit=-1", atto),
        Probe("huge limit", "atto", "GET", "/atto/consents/v1?limit=4294967296", atto),
        Probe("bad status", "fliqa", "GET", "/fliqa/service/consent?status=%ff", fliqa),
        Probe("bad uuid", "atto", "GET", "/atto/consents/v1/not-a-uuid", atto),
        Probe(
            "wrong type",
            "api1",
            "POST",
            "/api1/api/v1/consents",
            {**api1, "Content-Type": "application/json"},
            _json(name=42),
        ),
        Probe(
            "bad If-Match",
            "api1",
            "PATCH",
            f"/api1/api/v1/consents/{uuid.uuid4()}",
            {**api1, "Content-Type": "application/json", "If-Match": "not-an-etag"},
            _json(name="x"),
        ),
        Probe("bad Basic", "yapily", "GET", "/yapily/consents", {"Authorization": "Basic %%%"}),
        Probe(
            "Basic without colon",
            "yapily",
            "GET",
            "/yapily/consents",
            {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()},
        ),
        Probe(
            "expired-looking bearer",
            "atto",
            "GET",
            "/atto/consents/v1",
            {"Authorization": "Bearer x"},
        ),
        Probe(
            "bad client secret form",
            "atto",
            "POST",
            "/atto/v1/oauth2/token",
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"client_id=%ff%fe&scope=",
        ),
        Probe(
            "finqware missing secret",
            "finqware",
            "POST",
            "/finqware/v1/consents/get",
            {"Content-Type": "application/json"},
            _json(client_id="c"),
        ),
        Probe(
            "overlong header",
            "api1",
            "GET",
            "/api1/api/v1/consents",
            {**api1, "X-Filler": "f" * 40000},
        ),
        Probe(
            "overlong admin header",
            "__admin",
            "GET",
            "/__admin/health",
            {"X-Filler": "f" * 40000},
        ),
        # The control plane.
        Probe(
            "admin malformed JSON",
            "__admin",
            "POST",
            "/__admin/clock",
            {"Content-Type": "application/json"},
            b"{",
        ),
        Probe(
            "admin deep JSON",
            "__admin",
            "POST",
            "/__admin/seed",
            {"Content-Type": "application/json"},
            DEEP,
        ),
        Probe(
            "admin clock beyond a date",
            "__admin",
            "POST",
            "/__admin/clock",
            {"Content-Type": "application/json"},
            _json(advance="P9999999D"),
        ),
        Probe(
            "admin unknown clock field",
            "__admin",
            "POST",
            "/__admin/clock",
            {"Content-Type": "application/json"},
            _json(warp=1),
        ),
        Probe(
            "admin unknown provider",
            "__admin",
            "POST",
            "/__admin/nobody/consents",
            {"Content-Type": "application/json"},
            _json(tenant="t", status="x"),
        ),
        Probe(
            "admin transition option clash",
            "__admin",
            "POST",
            "/__admin/api1/consents/x/status",
            {"Content-Type": "application/json"},
            _json(status="ACCEPTED", provider="y"),
        ),
        Probe(
            "admin bad fault",
            "__admin",
            "POST",
            "/__admin/faults",
            {"Content-Type": "application/json"},
            _json(status="teapot"),
        ),
        Probe("admin fault id not a number", "__admin", "DELETE", "/__admin/faults/abc", {}),
        Probe("admin bad journal filter", "__admin", "GET", "/__admin/requests?limit=-1", {}),
        Probe(
            "admin body an array",
            "__admin",
            "POST",
            "/__admin/reset",
            {"Content-Type": "application/json"},
            b"[]",
        ),
        Probe(
            "admin huge chunked",
            "__admin",
            "POST",
            "/__admin/seed",
            {"Content-Type": "application/json"},
            HUGE,
            chunked=True,
        ),
    ]
    return probes


def _token(
    server: RunningServer,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    pick: Callable[[dict[str, object]], object],
) -> str:
    answer = send(server.base_url, Probe("sign-in", "", method, path, headers, body))
    assert answer.status == 200, answer.body
    return str(pick(json.loads(answer.body)))


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = start_server(["--threads", "2"])
    try:
        yield running
    finally:
        running.stop()


def _tokens(server: RunningServer) -> dict[str, str]:
    atto = _token(
        server,
        "POST",
        "/atto/v1/oauth2/token",
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"grant_type=client_credentials&client_id=sandbox-atto-client&client_secret=sandbox-atto-secret&scope=api:consent",
        lambda body: body["accessToken"],
    )
    fliqa = _token(
        server,
        "GET",
        "/fliqa/service/auth/token/sandbox/sandbox",
        {"Api-Key": "sandbox-fliqa-key", "Api-Secret": "sandbox-fliqa-secret"},
        b"",
        lambda body: body["token"] if "token" in body else body["accessToken"],
    )
    return {"atto": atto, "fliqa": fliqa}


def test_the_catalogue_has_at_least_sixty_requests() -> None:
    assert len(_catalogue({"atto": "t", "fliqa": "t"})) >= 60


def test_every_malformed_request_gets_a_4xx_in_the_providers_format(server: RunningServer) -> None:
    failures: list[str] = []
    probes = _catalogue(_tokens(server))
    for probe in probes:
        answer = send(server.base_url, probe)
        text = answer.body.decode("utf-8", "replace")
        where = f"{probe.provider} {probe.name} ({probe.method} {probe.path[:60]})"
        if not 400 <= answer.status < 500:
            failures.append(f"{where}: status {answer.status}: {text[:200]}")
            continue
        if any(leak in text for leak in LEAKS):
            failures.append(f"{where}: leaks internals: {text[:200]}")
        if probe.method == "HEAD":
            continue
        try:
            body = json.loads(text)
        except ValueError:
            failures.append(f"{where}: {answer.status} body is not JSON: {text[:120]!r}")
            continue
        missing = DIALECTS[probe.provider] - set(body if isinstance(body, dict) else ())
        if missing:
            failures.append(f"{where}: {answer.status} body lacks {sorted(missing)}: {text[:160]}")
    assert not failures, "\n".join(failures)
    health = send(server.base_url, Probe("health", "__admin", "GET", "/__admin/health"))
    assert health.status == 200, health.body
    # Still serving the providers, with its state intact.
    after = send(
        server.base_url,
        Probe(
            "list",
            "api1",
            "GET",
            "/api1/api/v1/consents",
            {"x-api-key": "sandbox-api1-key", "x-correlation-id": str(uuid.uuid4())},
        ),
    )
    assert after.status == 200 and json.loads(after.body)["meta"]["totalCount"] >= 5


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_and_options_on_every_mount(server: RunningServer, method: str) -> None:
    for provider, path in [
        ("api1", "/api1/api/v1/consents"),
        ("finqware", "/finqware/v1/consents/get"),
        ("yapily", "/yapily/consents"),
        ("atto", "/atto/consents/v1"),
        ("fliqa", "/fliqa/account/consent"),
    ]:
        answer = send(server.base_url, Probe(method, provider, method, path))
        assert answer.status < 500, (provider, method, answer.status, answer.body[:200])
        assert not any(leak in answer.body.decode("utf-8", "replace") for leak in LEAKS)


def test_a_request_without_host_is_refused_cleanly(server: RunningServer) -> None:
    raw = b"GET /api1/api/v1/consents HTTP/1.0\r\nx-api-key: k\r\n\r\n"
    answer = send(server.base_url, Probe("no host", "api1", "GET", "", raw=raw))
    assert answer.status < 500
