"""`serve --proxy P=URL`: forward a provider's mount to the live API, checking each exchange."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util import SKIP_HEADER
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request as BareRequest

from . import jsoncodec
from .behaviour import ApiError
from .engine import Answer, Engine, FastPath, check_response, serving, size_streamed_body
from .engine.answer import status_line
from .engine.exchange import new_request_id
from .engine.journaling import journal_entry, journal_failed
from .engine.unmatched import near_misses
from .journal import fingerprint
from .runtime import ProviderRuntime
from .validation import Violation

if TYPE_CHECKING:
    from .recording import Recorder
    from .runtime import Simulation
    from .spec import Operation

__all__ = ["HOP_BY_HOP", "Proxy", "Upstream", "check_upstream_url", "strip_hop_by_hop"]

# RFC 9110 §7.6.1: meaningful for one connection only, never forwarded (Proxy-Connection is
# the legacy one clients still send); plus whatever the Connection header names.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
    }
)
# Re-quoting a decoded PATH_INFO: RFC 3986 path characters stay as they are.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def check_upstream_url(url: str) -> str:
    """The base URL without a trailing slash, or ValueError saying what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r}: a base URL takes no query or fragment")
    return url.rstrip("/")


def strip_hop_by_hop(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers minus the hop-by-hop ones (the fixed set and those Connection names)."""
    items = list(headers)
    named = {
        token.strip().lower()
        for name, value in items
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return [(k, v) for k, v in items if k.lower() not in HOP_BY_HOP and k.lower() not in named]


@dataclass(slots=True)
class Upstream:
    """What came back from the live provider: status, headers as sent, body bytes."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


class Proxy:
    """WSGI middleware in front of the engine: a request under a proxied provider's mount goes
    to the live provider, whose answer the client gets unchanged (hop-by-hop headers aside);
    the request and the answer are checked against the spec and journaled. Any other request
    goes on to the simulator untouched, so simulated providers pay one dictionary lookup."""

    def __init__(
        self,
        inner: Any,
        sim: Simulation,
        engine: Engine,
        upstreams: Mapping[str, str],
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        max_body_bytes: int = 1024 * 1024,
        recorder: Recorder | None = None,
    ) -> None:
        self.inner = inner
        self.sim = sim
        self.engine = engine
        fast = engine.fast
        assert isinstance(fast, FastPath), "mount the providers before installing the proxy"
        self.routes = fast
        self.upstreams = {name: check_upstream_url(url) for name, url in upstreams.items()}
        self.max_body_bytes = max_body_bytes
        self.recorder = recorder
        # No retries and no redirects followed: the client sees what the provider answered.
        self.pool = urllib3.PoolManager(
            retries=False, timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1])
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO") or ""
        mount = path[1:].partition("/")[0]
        base = self.upstreams.get(mount)
        if base is None:
            return self.inner(environ, start_response)
        runtime = self.engine.runtimes[mount]
        if environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            size_streamed_body(environ, self.max_body_bytes)
        bare = BareRequest(environ)
        bare.max_content_length = self.max_body_bytes
        with serving(bare):
            answer = self._exchange(runtime, base, bare)
        return answer(environ, start_response)

    # -- one exchange ----------------------------------------------------------------------------
    def _exchange(self, runtime: ProviderRuntime, base: str, request: BareRequest) -> Any:
        started = time.perf_counter()
        request_id = new_request_id()
        matched = self.routes.match(request.method, request.path)
        op = matched[1] if matched else None
        extra: dict[str, Any] = {"proxied": True, "upstream": base}
        try:
            raw = request.get_data(cache=True)
        except RequestEntityTooLarge:
            err = ApiError(413, "payload_too_large", "The request body is larger than allowed.")
            refusal = self.engine.error_answer(runtime, op, err, request_id)
            refused = [Violation(err.kind, "", err.message)]
            self._journal(
                runtime, request, op, "", None, refused, refusal, started, request_id, extra
            )
            return refusal
        if matched is not None:
            verdict = self.engine.check_request(runtime, matched[1], matched[2], request_id)
            tenant = verdict.tenant or _credential_identity(verdict.credentials)
            if tenant and not verdict.tenant:  # a credential, not a tenant: never in clear
                extra["tenant"] = fingerprint(tenant)
            violations, body = verdict.violations, verdict.body
        else:
            local = request.path[len(runtime.name) + 1 :] or "/"
            tenant, body = "", None
            violations = [Violation("route", local, f"No operation matches {request.method}.")]
        answer = self._relay(runtime, op, base, request, raw, tenant, request_id, extra)
        self._journal(
            runtime, request, op, tenant, body, violations, answer, started, request_id, extra
        )
        return answer

    def _relay(
        self,
        runtime: ProviderRuntime,
        op: Operation | None,
        base: str,
        request: BareRequest,
        raw: bytes,
        tenant: str,
        request_id: str,
        extra: dict[str, Any],
    ) -> Answer | _Relay:
        """The live answer (checked, and recorded if asked), or a 502/504 of our own."""
        try:
            upstream = self._forward(base, runtime.name, request, raw)
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            extra["upstreamError"] = f"{type(exc).__name__}: {exc}"
            unreachable = isinstance(exc, NewConnectionError)  # refused, or a name unresolved
            return self._failure(runtime, op, base, request_id, unreachable=unreachable)
        except (HTTPError, OSError) as exc:  # reset, a broken answer...
            extra["upstreamError"] = f"{type(exc).__name__}: {exc}"
            return self._failure(runtime, op, base, request_id, unreachable=True)
        if op is not None:
            problems, parsed = _check(op, upstream)
            extra["responseViolations"] = [p.as_dict() for p in problems]
            extra["responseValid"] = not problems
            if self.recorder is not None and not problems and 200 <= upstream.status < 300:
                try:
                    extra["recorded"] = self.recorder.capture(runtime, op, tenant, parsed)
                except (OSError, ValueError) as exc:  # the live answer stands all the same
                    extra["recordError"] = f"{type(exc).__name__}: {exc}"
        return _Relay(upstream)

    def _forward(self, base: str, provider: str, request: BareRequest, raw: bytes) -> Upstream:
        environ = request.environ
        local = environ.get("PATH_INFO", "")[len(provider) + 1 :]
        url = base + quote(local.encode("latin-1"), safe=_PATH_SAFE)
        query = environ.get("QUERY_STRING", "")
        if query:
            url += "?" + query
        headers = urllib3.HTTPHeaderDict()
        for name, value in _forwarded_headers(environ, urlsplit(base).netloc):
            headers.add(name, value)
        if "user-agent" not in headers:
            headers["User-Agent"] = SKIP_HEADER  # urllib3 adds none of its own
        response = self.pool.urlopen(
            request.method,
            url,
            body=raw if raw or request.method in ("POST", "PUT", "PATCH") else None,
            headers=headers,
            redirect=False,
            preload_content=False,
            decode_content=False,
        )
        try:
            body = response.read(decode_content=False)
        finally:
            response.release_conn()
        return Upstream(
            response.status, response.reason or "", list(response.headers.items()), body
        )

    def _failure(
        self,
        runtime: ProviderRuntime,
        op: Operation | None,
        base: str,
        request_id: str,
        *,
        unreachable: bool,
    ) -> Answer:
        if unreachable:
            err = ApiError(
                502, "upstream_unreachable", f"The live provider at {base} could not be reached."
            )
        else:
            err = ApiError(
                504, "upstream_timeout", f"The live provider at {base} did not answer in time."
            )
        return self.engine.error_answer(runtime, op, err, request_id)

    def _journal(
        self,
        runtime: ProviderRuntime,
        request: BareRequest,
        op: Operation | None,
        tenant: str,
        body: Any,
        violations: list[Violation],
        answer: Answer | _Relay,
        started: float,
        request_id: str,
        extra: dict[str, Any],
    ) -> None:
        entry = journal_entry(
            self.sim,
            runtime,
            op,
            tenant,
            body,
            violations,
            answer.status_code,
            started,
            request_id,
            request,
        )
        if op is None:
            local = request.path[len(runtime.name) + 1 :] or "/"
            entry["nearest"] = near_misses(runtime, request.method, local)[:3]
        entry.update(extra)
        try:
            self.sim.journal.record(entry)
        except Exception as exc:  # the live answer stands
            journal_failed(exc, runtime.name, op.operation_id if op else "(unmatched)")


class _Relay:
    """The live provider's answer, sent on as it came (its status line and its bytes)."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.status_code = upstream.status

    def __call__(self, environ: Mapping[str, Any], start_response: Any) -> list[bytes]:
        up = self.upstream
        line = f"{up.status} {up.reason}" if up.reason else status_line(up.status)
        start_response(line, strip_hop_by_hop(up.headers))
        return [up.body] if environ.get("REQUEST_METHOD") != "HEAD" else []


def _forwarded_headers(environ: Mapping[str, Any], upstream_host: str) -> list[tuple[str, str]]:
    """The client's headers for the live provider: hop-by-hop ones removed, Host the
    upstream's, Content-Length left to the client library (the body is sent whole), and the
    X-Forwarded-* headers saying whom and what the request came from."""
    items: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
            items.append((key[5:].replace("_", "-").title(), value))
        elif key == "CONTENT_TYPE" and value:
            items.append(("Content-Type", value))
    kept = [
        (k, v)
        for k, v in strip_hop_by_hop(items)
        if k.lower() not in ("host", "content-length", "x-forwarded-host", "x-forwarded-proto")
    ]
    client = str(environ.get("REMOTE_ADDR") or "")
    prior = next((v for k, v in kept if k.lower() == "x-forwarded-for"), "")
    kept = [(k, v) for k, v in kept if k.lower() != "x-forwarded-for"]
    if client:
        kept.append(("X-Forwarded-For", f"{prior}, {client}" if prior else client))
    kept.append(("X-Forwarded-Proto", str(environ.get("wsgi.url_scheme", "http"))))
    if environ.get("HTTP_HOST"):
        kept.append(("X-Forwarded-Host", str(environ["HTTP_HOST"])))
    kept.append(("Host", upstream_host))
    return kept


def _credential_identity(credentials: Mapping[str, Any]) -> str:
    """A tenant for the journal and the recording when the provider cannot tell one here
    (its token was issued by the live provider): the credential itself, which both mask."""
    for value in credentials.values():
        if isinstance(value, tuple):
            return str(value[0])
        if value:
            return str(value)
    return ""


def _check(op: Operation, upstream: Upstream) -> tuple[list[Violation], Any]:
    """The live answer against the operation's declared responses; and its parsed body."""
    headers: dict[str, str] = {}
    for name, value in upstream.headers:
        headers.setdefault(name, value)
    lowered = {k.lower(): v for k, v in headers.items()}
    mimetype = lowered.get("content-type", "").split(";")[0].strip().lower()
    raw = upstream.body
    encoding = lowered.get("content-encoding", "identity").strip().lower()
    try:
        if encoding in ("gzip", "x-gzip"):
            raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        elif encoding not in ("identity", ""):
            return [], None  # an encoding we cannot read: the answer is relayed, not checked
    except zlib.error:
        return [Violation("response-body", "", f"not valid {encoding} data")], None
    body: Any = None
    if raw and (mimetype == "application/json" or mimetype.endswith("+json")):
        try:
            body = jsoncodec.loads(raw)
        except ValueError as exc:
            return [Violation("response-body", "", f"not valid JSON: {exc}")], None
    elif raw:
        body = raw.decode("utf-8", "replace")
    return check_response(op, upstream.status, mimetype, body, headers), body
