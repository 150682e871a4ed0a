"""Turn each spec operation into a Flask route: validate, authenticate, dispatch, render, check."""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import io
import json
import os
import random
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl

from flask import Flask, Request, Response, request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES, remove_entity_headers
from werkzeug.urls import iri_to_uri
from werkzeug.utils import get_content_type
from werkzeug.wrappers import Request as BareRequest

from . import jsoncodec
from .behaviour import ApiError, Context, ErrorScope, Reply
from .clock import format_instant
from .faults import dropped_body
from .journal import fingerprint, mask_body, mask_headers, mask_query
from .jsoncodec import dumps_bytes
from .runtime import ProviderRuntime, Simulation
from .spec import Operation, Param
from .store import RecordNotFound, etag_matches
from .validation import CoercionError, Violation, coerce, violations_of

__all__ = ["Answer", "ContractViolation", "Engine", "ProviderRuntime", "Verdict", "serving"]

# Engine-level refusals that sit outside any one operation's contract: strict mode does not
# demand that a spec declare them (an over-large body is refused before it is even read).
# Refusals that mean the request itself broke the contract, even without a schema violation.
_CONTRACT_KINDS = frozenset(
    {
        "unauthenticated",
        "malformed_body",
        "unsupported_media_type",
        "payload_too_large",
        "precondition_required",
        "invalid_request",
    }
)
_TRANSPORT_KINDS = frozenset(
    {"method_not_allowed", "payload_too_large", "unsupported_media_type", "fault", "server_error"}
)


# The request being served by the fast path (below), which pushes no Flask request context.
_fast_request: ContextVar[BareRequest | None] = ContextVar("mockserver_request", default=None)


# Our own PRNG, not the `random` module's shared one: a test that seeds or checks that one
# (Hypothesis refuses strategies that change it) must not see it move because a request was
# served on another thread. Reseeded in each forked worker, as the shared one is.
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)


def _new_request_id() -> str:
    """A random version-4 UUID. Request ids are labels, not secrets: a PRNG spares the
    os.urandom system call that uuid4() makes on every request (a twentieth of a GET's CPU)."""
    return str(uuid.UUID(int=_ids.getrandbits(128), version=4))


_HEADER_NAMES: dict[str, str] = {}


def _header_items(environ: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """What `request.headers.items()` yields (werkzeug's EnvironHeaders: same names, same
    order), with each environ key's header name worked out once rather than per request."""
    for key, value in environ.items():
        name = _HEADER_NAMES.get(key)
        if name is None:
            if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                name = key[5:].replace("_", "-").title()
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                name = key.replace("_", "-").title()
            else:
                name = ""
            if len(_HEADER_NAMES) < 1024:  # header names are the client's: stay bounded
                _HEADER_NAMES[key] = name
        if name and (value or key.startswith("HTTP_")):
            yield name, value


def _current_request() -> Request:
    """The request object itself. Each `request.x` through Flask's context proxy costs a
    lookup of about 1 µs; the pipeline reads the request a few dozen times per call, so the
    busy methods fetch it once into a local `request`."""
    fast = _fast_request.get()
    if fast is not None:
        return cast(Request, fast)
    return cast(Request, cast(Any, request)._get_current_object())


class ContractViolation(AssertionError):
    """Strict mode: the simulator was about to send a response its own spec does not allow."""


_STATUS_LINES: dict[int, str] = {}
# What a Flask Response without a body or a type says it is.
_DEFAULT_CONTENT_TYPE = get_content_type(Response.default_mimetype or "text/plain", "utf-8")


def _status_line(code: int) -> str:
    """werkzeug's status line for a code ("404 NOT FOUND"), worked out once per code."""
    line = _STATUS_LINES.get(code)
    if line is None:
        line = _STATUS_LINES[code] = f"{code} {HTTP_STATUS_CODES.get(code, 'unknown').upper()}"
    return line


def _header_value(name: str, value: Any) -> str:
    text = str(value)
    if "\n" in text or "\r" in text:  # as werkzeug's Headers refuses them
        raise ValueError(f"header {name} contains a newline character")
    if name.lower() in ("location", "content-location"):
        text = to_uri(text)
    return text


# A path of RFC 3986 path characters only (not starting with "//"): iri_to_uri keeps it as is.
_PLAIN_PATH = re.compile(r"/(?!/)[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*")


@functools.lru_cache(maxsize=256)
def _uri_head(head: str) -> str:
    return iri_to_uri(head)


def to_uri(value: str) -> str:
    """werkzeug's iri_to_uri (what its Response does to a Location), which took 30 µs, a tenth
    of a create: a URL's scheme and host are converted once per host, and a path of plain
    characters is kept as it is; anything else goes to iri_to_uri whole. The same result:
    tests/test_answer.py compares the two on generated URLs."""
    start = value.find("://")
    if start > 0:
        path_at = value.find("/", start + 3)
        head = value[:path_at]
        if (
            path_at > 0
            and "?" not in head
            and "#" not in head
            and _PLAIN_PATH.fullmatch(value, path_at)
        ):
            return _uri_head(head) + value[path_at:]
    return iri_to_uri(value)


def _set_header(items: list[tuple[str, str]], name: str, value: str) -> None:
    """werkzeug's Headers.set on a list: the first header of that name (any case) takes the
    value in its place, later ones go; appended if there is none."""
    lowered = name.lower()
    found = False
    kept: list[tuple[str, str]] = []
    for key, old in items:
        if key.lower() != lowered:
            kept.append((key, old))
        elif not found:
            kept.append((name, value))
            found = True
    if not found:
        kept.append((name, value))
    items[:] = kept


@dataclass(slots=True)
class Answer:
    """A rendered response, sent by the fast path without building a werkzeug Response.

    werkzeug's Response builds a Headers object, parses its content type, and works its
    headers out again when it is sent: together a fifth of a GET's CPU in the process. This
    holds the final header list instead, made to be byte for byte what that Response would
    send (tests/test_answer.py compares the two): the headers in the handler's order, with
    Content-Type set in place or appended, then Content-Length; none for 204; no entity
    headers for 304; no body for HEAD. Flask's own dispatch (hooks, the test client's
    fallbacks) gets a real Response from `to_response`."""

    status_code: int
    headers: list[tuple[str, str]]
    body: bytes
    content_type: str

    @classmethod
    def build(
        cls,
        status: int,
        headers: Mapping[str, Any],
        body: bytes | None,
        content_type: str | None,
    ) -> Answer:
        items = [(name, _header_value(name, value)) for name, value in headers.items()]
        if content_type is None and not any(k.lower() == "content-type" for k, _ in items):
            content_type = _DEFAULT_CONTENT_TYPE
        if content_type is not None:
            _set_header(items, "Content-Type", content_type)
        else:  # the handler's own, kept as werkzeug keeps it
            content_type = next(v for k, v in items if k.lower() == "content-type")
        if body is not None:
            _set_header(items, "Content-Length", str(len(body)))
        if status == 204 or 100 <= status < 200:
            items = [(k, v) for k, v in items if k.lower() != "content-length"]
        elif status == 304:
            remove_entity_headers(items)
        elif not any(k.lower() == "content-length" for k, _ in items):
            items.append(("Content-Length", "0"))
        return cls(status, items, body or b"", content_type)

    @property
    def mimetype(self) -> str:
        return self.content_type.split(";")[0].strip().lower()

    def __call__(self, environ: Mapping[str, Any], start_response: Any) -> list[bytes]:
        start_response(_status_line(self.status_code), self.headers)
        status = self.status_code
        if environ.get("REQUEST_METHOD") == "HEAD" or status in (204, 304) or status < 200:
            return []
        return [self.body]

    def to_response(self) -> Response:
        response = Response(self.body, self.status_code)
        response.headers = Headers(self.headers)
        return response


@dataclass(slots=True)
class Outcome:
    """A rendered answer plus what the journal needs to know about how it came about."""

    reply: Reply
    operation: Operation | None
    tenant: str
    request_violations: list[Violation]
    body: Any
    error: str | None = None
    kind: str | None = None
    drop: bool = False


@dataclass(slots=True)
class Verdict:
    """A request checked against its operation without being served (see check_request)."""

    violations: list[Violation]
    tenant: str
    body: Any
    credentials: dict[str, Any]


@contextlib.contextmanager
def serving(bare: BareRequest) -> Iterator[None]:
    """Make `bare` the current request for the engine's helpers, outside Flask (as FastPath)."""
    token = _fast_request.set(bare)
    try:
        yield
    finally:
        _fast_request.reset(token)


class Engine:
    """The generic request pipeline: routing → security → validation → handler → response check."""

    def __init__(self, simulator: Simulation) -> None:
        self.sim = simulator
        self.runtimes: dict[str, ProviderRuntime] = {}
        self.fast: FastPath | None = None  # the router in front of Flask, set by `mount`
        self._host_urls: dict[tuple[Any, ...], str] = {}
        self._store_pin: Callable[[], AbstractContextManager[Any]] = getattr(
            simulator.store, "pinned", contextlib.nullcontext
        )

    # -- set-up ------------------------------------------------------------------------------
    def mount(self, app: Flask, runtime: ProviderRuntime) -> None:
        self.runtimes[runtime.name] = runtime
        fast = app.wsgi_app if isinstance(app.wsgi_app, FastPath) else None
        if fast is None:
            fast = FastPath(app, self)
            app.wsgi_app = fast  # type: ignore[method-assign]
        self.fast = fast
        fast.add(runtime, runtime.spec.operations.values())
        for op in runtime.spec.operations.values():
            app.add_url_rule(
                f"/{runtime.name}{op.flask_rule}",
                endpoint=f"{runtime.name}.{op.operation_id}",
                view_func=self._view(runtime, op),
                methods=[op.method],
                provide_automatic_options=False,
            )

    def _view(self, runtime: ProviderRuntime, op: Operation) -> Callable[..., Response]:
        def view(**path_values: str) -> Response:
            response = self.serve(runtime, op, path_values)
            return response.to_response() if isinstance(response, Answer) else response

        view.__name__ = f"{runtime.name}_{op.handler_name}"
        return view

    # -- the pipeline --------------------------------------------------------------------------
    def serve(
        self, runtime: ProviderRuntime, op: Operation, path_values: dict[str, str]
    ) -> Response | Answer:
        started = time.perf_counter()
        request_id = _new_request_id()
        # The clock's settings (and a store's rarely-changing state) read once per request.
        with self._store_pin(), self.sim.clock.pinned():
            outcome = self._fault(runtime, op, None, request_id)
            if outcome is None:
                outcome = self._run(runtime, op, path_values, request_id)
            response = self._respond(runtime, op, outcome, request_id)
            try:
                self._journal(runtime, outcome, response, started, request_id)
            except Exception as exc:  # the answer stands: its write may be committed already
                _journal_failed(exc, runtime.name, op.operation_id)
        if self.sim.strict and outcome.error and outcome.reply.status >= 500:
            raise RuntimeError(f"handler {op.operation_id} failed:\n{outcome.error}")
        return response

    def _run(
        self, runtime: ProviderRuntime, op: Operation, path_values: dict[str, str], request_id: str
    ) -> Outcome:
        definition = runtime.definition
        body: Any = None
        violations: list[Violation] = []
        tenant = ""
        try:
            if header_bytes(_current_request().environ) > MAX_HEADER_BYTES:
                raise ApiError(
                    431,
                    "headers_too_large",
                    f"The request's headers exceed {MAX_HEADER_BYTES // 1024} KiB in all.",
                )
            credentials = self._credentials(runtime, op)
            body = self._body(op)
            ctx = self._context(runtime, op, body, credentials, request_id)
            tenant = definition.identify(ctx)
            ctx.tenant = tenant
            faulted = self._fault(runtime, op, tenant, request_id)
            if faulted is not None:
                return faulted
            ctx.now = self.sim.clock.now(tenant or None)
            violations = self._validate(op, path_values, body, ctx)
            if violations:
                raise ApiError(
                    400,
                    "invalid_request",
                    "; ".join(str(v) for v in violations),
                    violations=violations,
                )
            if op.if_match and not _current_request().headers.get("If-Match"):
                raise ApiError(
                    428,
                    "precondition_required",
                    "This operation is conditional: send If-Match with the ETag from a GET.",
                )
            handler = definition.handlers.by_name[op.handler_name]
            try:
                reply = handler(ctx)
            except RecordNotFound:
                # Deleted between the handler's read and its write (a racing DELETE): answer
                # as if after the delete; the handler reads again and refuses in its own words.
                reply = handler(ctx)
            return Outcome(reply, op, tenant, violations, body)
        except ApiError as err:
            if not err.violations:
                err.violations = violations
            if not err.violations and err.kind in _CONTRACT_KINDS:
                err.violations = [Violation(err.kind, "", err.message)]
            reply = self._render(runtime, op, err, request_id)
            return Outcome(reply, op, tenant, err.violations, body, kind=err.kind)
        except RequestEntityTooLarge:
            too_large = ApiError(
                413, "payload_too_large", "The request body is larger than allowed."
            )
            reply = self._render(runtime, op, too_large, request_id)
            return Outcome(reply, op, tenant, [], None, kind=too_large.kind)
        except Exception:  # a handler bug: answer 500 in the provider's format, keep the trace
            bug = ApiError(500, "server_error", "The simulator failed to handle this request.")
            reply = self._render(runtime, op, bug, request_id)
            return Outcome(reply, op, tenant, violations, body, traceback.format_exc(), bug.kind)

    def _context(
        self,
        runtime: ProviderRuntime,
        op: Operation,
        body: Any,
        credentials: dict[str, Any],
        request_id: str,
    ) -> Context:
        return Context(
            provider=runtime.definition,
            operation_id=op.operation_id,
            path={},
            query={},
            headers={},
            body=body,
            credentials=credentials,
            store=self.sim.store,
            now=self.sim.clock.now(),
            base_url=f"{self._host_url()}/{runtime.name}",
            request_id=request_id,
            sandbox_url=f"{self._host_url()}/__sandbox/{runtime.name}",
            clock=self.sim.clock.now,
            credential_mode=self.sim.credential_mode,
        )

    def check_request(
        self, runtime: ProviderRuntime, op: Operation, path_values: dict[str, str], request_id: str
    ) -> Verdict:
        """The request's contract verdict as `_run` reaches it (credentials, body, parameters,
        If-Match), with no fault and no handler: the proxy's, whose answer comes from the live
        provider. A tenant the provider cannot tell here (a token the live provider issued)
        is no contract matter: the verdict then has none."""
        verdict = Verdict([], "", None, {})
        try:
            verdict.credentials = self._credentials(runtime, op)
            verdict.body = self._body(op)
            ctx = self._context(runtime, op, verdict.body, verdict.credentials, request_id)
            with contextlib.suppress(Exception):
                verdict.tenant = ctx.tenant = runtime.definition.identify(ctx)
            verdict.violations = self._validate(op, path_values, verdict.body, ctx)
            if not verdict.violations and op.if_match:
                if not _current_request().headers.get("If-Match"):
                    verdict.violations = [
                        Violation("precondition_required", "If-Match", "is required")
                    ]
        except ApiError as err:
            verdict.violations = err.violations or [Violation(err.kind, "", err.message)]
        return verdict

    def error_answer(
        self, runtime: ProviderRuntime, op: Operation | None, err: ApiError, request_id: str
    ) -> Answer:
        """An engine refusal in the provider's own error format, ready to send."""
        reply = self._render(runtime, op, err, request_id)
        body = reply.body
        if isinstance(body, str):
            return Answer.build(
                reply.status, reply.headers, body.encode(), reply.media_type or "text/plain"
            )
        payload = None if body is None else dumps_bytes(body)
        return Answer.build(
            reply.status, reply.headers, payload, reply.media_type or "application/json"
        )

    def _fault(
        self, runtime: ProviderRuntime, op: Operation, tenant: str | None, request_id: str
    ) -> Outcome | None:
        request = _current_request()
        fault = self.sim.faults.take(
            runtime.name,
            op.operation_id,
            request.method,
            request.path,
            tenant,
            tenant_bound=tenant is not None,
        )
        if fault is None:
            return None
        if fault.delay_ms:
            time.sleep(fault.delay_ms / 1000)
        if fault.drop:
            return Outcome(Reply(200), op, tenant or "", [], None, kind="fault", drop=True)
        if fault.status is None:
            return None
        if fault.body is not None:
            reply = Reply(fault.status, fault.body, dict(fault.headers))
        else:
            err = ApiError(fault.status, "fault", f"Injected fault #{fault.id}.")
            reply = self._render(runtime, op, err, request_id)
            reply.headers.update(fault.headers)
        return Outcome(reply, op, tenant or "", [], None, kind="fault")

    def _render(
        self, runtime: ProviderRuntime, op: Operation | None, err: ApiError, request_id: str
    ) -> Reply:
        reply = runtime.definition.render_error(err, self._scope(runtime, op, request_id))
        reply.headers.update(err.headers)
        return reply

    def _scope(self, runtime: ProviderRuntime, op: Operation | None, request_id: str) -> ErrorScope:
        request = _current_request()
        return ErrorScope(
            provider=runtime.name,
            method=request.method,
            path=request.path,
            operation_id=op.operation_id if op else None,
            now=self.sim.clock.now(),
            request_headers=dict(request.headers.items()),
            request_id=request_id,
        )

    def _host_url(self) -> str:
        """`request.host_url` without its slash, remembered per scheme and host: werkzeug's
        IRI decoding of it cost as much as a GET's whole validation (bench/profile_app.py)."""
        request = _current_request()
        environ = request.environ
        key = (
            environ.get("wsgi.url_scheme"),
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
        )
        found = self._host_urls.get(key)
        if found is None:
            found = request.host_url.rstrip("/")
            if len(self._host_urls) >= 256:  # the Host header is the client's: stay bounded
                self._host_urls.clear()
            self._host_urls[key] = found
        return found

    # -- security ------------------------------------------------------------------------------
    def _credentials(self, runtime: ProviderRuntime, op: Operation) -> dict[str, Any]:
        if not op.security:
            return {}
        missing: list[str] = []
        for requirement in op.security:
            found: dict[str, Any] = {}
            for scheme_name in requirement:
                value = self._credential(runtime.spec.security_schemes.get(scheme_name, {}))
                if value is None:
                    missing.append(_describe_scheme(runtime.spec.security_schemes, scheme_name))
                    break
                found[scheme_name] = value
            else:
                return found
        raise ApiError(
            401,
            "unauthenticated",
            "Missing or malformed credentials: " + " or ".join(dict.fromkeys(missing)) + ".",
        )

    @staticmethod
    def _credential(scheme: Mapping[str, Any]) -> Any:
        request = _current_request()
        kind = scheme.get("type")
        if kind == "apiKey":
            source = request.headers if scheme.get("in") == "header" else request.args
            value = source.get(str(scheme.get("name")))
            return value.strip() or None if value else None
        if kind == "http":
            scheme_word, _, token = request.headers.get("Authorization", "").partition(" ")
            wanted = str(scheme.get("scheme", "")).lower()
            if scheme_word.lower() != wanted or not token.strip():
                return None
            if wanted == "basic":
                try:
                    user, sep, secret = (
                        base64.b64decode(token.strip(), validate=True)
                        .decode("utf-8")
                        .partition(":")
                    )
                except (binascii.Error, UnicodeDecodeError):
                    return None
                return (user, secret) if sep and user else None
            return token.strip()
        return None

    # -- request parsing and validation --------------------------------------------------------
    def _body(self, op: Operation) -> Any:
        if not op.body_media:
            return None
        request = _current_request()
        raw = request.get_data(cache=True)
        if not raw:
            return None
        mimetype = request.mimetype or ""
        if mimetype not in op.body_media:
            raise ApiError(
                415,
                "unsupported_media_type",
                f"Content-Type {mimetype or '(none)'!r} is not accepted here; "
                f"send {' or '.join(op.body_media)}.",
            )
        if mimetype == "application/x-www-form-urlencoded":
            return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            return jsoncodec.loads(raw)
        except ValueError as exc:
            raise ApiError(
                400, "malformed_body", f"The request body is not valid JSON: {exc}."
            ) from None

    def _validate(
        self, op: Operation, path_values: dict[str, str], body: Any, ctx: Context
    ) -> list[Violation]:
        request = _current_request()
        found: list[Violation] = []
        targets = {"path": ctx.path, "query": ctx.query, "header": ctx.headers}
        for param in op.params:
            try:
                raw = _raw_param(param, path_values, request)
            except CoercionError as exc:
                found.append(Violation(param.location, param.name, str(exc)))
                continue
            if raw is None:
                if param.required and not (param.name.lower() == "if-match" and op.if_match):
                    found.append(Violation(param.location, param.name, "is required"))
                elif "default" in param.schema:
                    targets[param.location][param.name] = param.schema["default"]
                continue
            try:
                value = _coerce_param(param, raw)
            except CoercionError as exc:
                found.append(Violation(param.location, param.name, str(exc)))
                continue
            errors = (
                []
                if param.quick is not None and param.quick(value)
                else violations_of(param.validator, value, param.location, param.name)
            )
            if errors:
                found.extend(errors)
            else:
                targets[param.location][param.name] = value
        if op.body_media:
            mimetype = request.mimetype or ""
            media = mimetype if mimetype in op.body_media else next(iter(op.body_media))
            if body is None:
                if op.body_required:
                    found.append(Violation("body", "", "a request body is required"))
            elif (quick := op.body_quick.get(media)) is None or not quick(body):
                found.extend(violations_of(op.body_media[media], body, "body"))
        return found

    # -- response ------------------------------------------------------------------------------
    def _respond(
        self, runtime: ProviderRuntime, op: Operation, outcome: Outcome, request_id: str
    ) -> Response | Answer:
        request = _current_request()
        reply = outcome.reply
        if outcome.drop:
            return Response(
                dropped_body(), 200, {"Content-Length": "1024"}, content_type="application/json"
            )
        declared = op.response_for(reply.status)
        headers = dict(reply.headers)
        if reply.record is not None and declared is not None and "etag" in declared.headers:
            headers["ETag"] = reply.record.etag
            inm = request.headers.get("If-None-Match")
            if (
                op.if_none_match
                and reply.status == 200
                and inm
                and etag_matches(inm, reply.record.etag, weak=True)
            ):
                reply = Reply(304, None, headers, reply.record)
                declared = op.response_for(304)
        if reply.location is not None:
            headers["Location"] = f"{self._host_url()}/{runtime.name}{reply.location}"
        media_type = reply.media_type or (declared.media_type if declared else None)
        if reply.body is None or reply.status in (204, 304):
            response = Answer.build(reply.status, headers, None, None)
        elif isinstance(reply.body, str):
            content_type = get_content_type(media_type or "text/plain", "utf-8")
            response = Answer.build(reply.status, headers, reply.body.encode(), content_type)
        else:
            payload = dumps_bytes(reply.body)
            response = Answer.build(
                reply.status, headers, payload, media_type or "application/json"
            )
        if self.sim.strict and outcome.kind not in _TRANSPORT_KINDS:
            problems = check_response(
                op, reply.status, response.mimetype or "", reply.body, headers
            )
            if problems:
                raise ContractViolation(
                    f"{op.method} {op.path} ({op.operation_id}) answered {reply.status} "
                    "against its own spec:\n  " + "\n  ".join(str(p) for p in problems)
                )
        return response

    def _journal(
        self,
        runtime: ProviderRuntime,
        outcome: Outcome,
        response: Response | Answer,
        started: float,
        request_id: str,
    ) -> None:
        entry = self.journal_entry(
            runtime,
            outcome.operation,
            outcome.tenant,
            outcome.body,
            outcome.request_violations,
            response.status_code,
            started,
            request_id,
        )
        if outcome.error:
            entry["error"] = outcome.error
        self.sim.journal.record(entry)

    def journal_entry(
        self,
        runtime: ProviderRuntime,
        operation: Operation | None,
        tenant: str,
        body: Any,
        violations: list[Violation],
        status: int,
        started: float,
        request_id: str,
    ) -> dict[str, Any]:
        """A journal entry for the current request, its secrets masked."""
        request = _current_request()
        definition = runtime.definition
        secret_fields = frozenset(f for f in definition.secret_fields if ":" not in f)
        return {
            "requestId": request_id,
            "time": format_instant(self.sim.clock.now()),
            "provider": runtime.name,
            "operation": operation.operation_id if operation else None,
            "method": request.method,
            "path": request.path,
            "query": mask_query(request.query_string.decode("latin-1"), secret_fields),
            "tenant": (
                fingerprint(tenant) if tenant and definition.secret_tenant else tenant or None
            ),
            "headers": mask_headers(_header_items(request.environ), runtime.secret_headers),
            "body": mask_body(body, secret_fields),
            "status": status,
            "durationMs": round((time.perf_counter() - started) * 1000, 3),
            "violations": [v.as_dict() for v in violations],
            "valid": not violations,
        }

    # -- requests that match no operation --------------------------------------------------------
    def unmatched(self, exc: HTTPException) -> Response:
        """404/405 under a provider's mount: the provider's error body, and a journal entry."""
        provider = request.path.strip("/").split("/", 1)[0]
        runtime = self.runtimes.get(provider)
        if runtime is None:
            body = {
                "error": "not_found" if exc.code == 404 else "method_not_allowed",
                "message": f"No route for {request.method} {request.path}.",
                "providers": sorted(f"/{name}" for name in self.runtimes),
                "admin": "/__admin",
            }
            response = Response(json.dumps(body), exc.code or 404, mimetype="application/json")
            allowed = getattr(exc, "valid_methods", None)
            if exc.code == 405 and allowed:  # RFC 9110 §15.5.6: a 405 names what is allowed
                response.headers["Allow"] = ", ".join(sorted(allowed))
            return response
        local = request.path[len(provider) + 1 :] or "/"
        secret_fields = frozenset(f for f in runtime.definition.secret_fields if ":" not in f)
        candidates = self.near_misses(runtime, request.method, local)
        same_path = [c for c in candidates if c["pathMatches"]]
        if exc.code == 405 or same_path:
            allowed = sorted({c["method"] for c in same_path})
            err = ApiError(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {local}; allowed: {', '.join(allowed)}.",
                headers={"Allow": ", ".join(allowed)},
            )
        else:
            err = ApiError(
                404, "route_not_found", f"No operation matches {request.method} {local}."
            )
        request_id = str(uuid.uuid4())
        reply = self._render(runtime, None, err, request_id)
        response = Response(
            json.dumps(reply.body),
            err.status,
            reply.headers,
            content_type=reply.media_type or "application/json",
        )
        self.sim.journal.record(
            {
                "requestId": request_id,
                "time": format_instant(self.sim.clock.now()),
                "provider": runtime.name,
                "operation": None,
                "method": request.method,
                "path": request.path,
                "query": mask_query(request.query_string.decode("latin-1"), secret_fields),
                "tenant": None,
                "headers": mask_headers(request.headers.items(), runtime.secret_headers),
                "status": err.status,
                "durationMs": 0.0,
                "violations": [
                    {"in": "route", "name": local, "message": err.message, "schemaPath": ""}
                ],
                "valid": False,
                "nearest": candidates[:3],
            }
        )
        return response

    @staticmethod
    def near_misses(runtime: ProviderRuntime, method: str, local: str) -> list[dict[str, Any]]:
        """Every operation of the provider, nearest first, with why it did not match."""
        ranked: list[tuple[int, dict[str, Any]]] = []
        # The edit distance costs len(local) x len(path): a path longer than any operation's
        # by far ranks last whatever its tail, so only its head is compared (and quoted).
        head = local[:_NEAR_MISS_CHARS]
        shown = head if head == local else head + "…"
        for op in runtime.spec.operations.values():
            path_ok = bool(op.path_regex.match(local))
            method_ok = op.method == method
            reasons = []
            if not path_ok:
                reasons.append(f"path {shown} does not match {op.path}")
            if not method_ok:
                reasons.append(f"method {method} is not {op.method}")
            score = (0 if path_ok else 2) + (0 if method_ok else 1)
            score = score * 1000 + _distance(head, op.path)
            ranked.append(
                (
                    score,
                    {
                        "operation": op.operation_id,
                        "method": op.method,
                        "path": op.path,
                        "pathMatches": path_ok,
                        "why": "; ".join(reasons),
                    },
                )
            )
        ranked.sort(key=lambda pair: pair[0])
        return [item for _, item in ranked]


class FastPath:
    """WSGI middleware in front of Flask: a request that names exactly one operation goes
    straight to `Engine.serve`, without Flask's request context, URL adapter and router
    (together a third of a GET's CPU, bench/profile_app.py). Everything else goes to Flask
    as before: admin and sandbox pages, unmatched paths (404/405), HEAD, trailing or doubled
    slashes, non-ASCII paths, and every request while the app has request hooks.
    An exception leaving the pipeline (strict mode) is handed to Flask's own handler."""

    def __init__(self, app: Flask, engine: Engine) -> None:
        self.app = app
        self.engine = engine
        self.flask_wsgi = app.wsgi_app
        # (method, provider mount) -> [(pattern, path parameter names, runtime, operation)]
        self.routes: dict[
            tuple[str, str], list[tuple[re.Pattern[str], list[str], ProviderRuntime, Operation]]
        ] = {}

    def add(self, runtime: ProviderRuntime, operations: Iterable[Operation]) -> None:
        for op in operations:
            names = re.findall(r"\{([^}/]+)\}", op.path)
            pattern = re.sub(r"\\\{[^}/]+\\\}", "([^/]+)", re.escape(op.path))
            self.routes.setdefault((op.method, runtime.name), []).append(
                (re.compile(pattern), names, runtime, op)
            )

    def match(
        self, method: str, path: str
    ) -> tuple[ProviderRuntime, Operation, dict[str, str]] | None:
        """The operation a request names, with its path values; None if none. Where several
        match, the one with the fewest path parameters, as Flask's router prefers static
        segments (FastPath itself leaves such a request to Flask)."""
        mount, _, local = path[1:].partition("/")
        found = [
            (len(names), m, runtime, op, names)
            for pattern, names, runtime, op in self.routes.get((method, mount), ())
            if (m := pattern.fullmatch("/" + local)) is not None
        ]
        if not found or not path.isascii():
            return None
        _, m, runtime, op, names = min(found, key=lambda item: item[0])
        return runtime, op, dict(zip(names, m.groups(), strict=True))

    def _hooked(self) -> bool:
        app = self.app
        return bool(
            app.before_request_funcs.get(None)
            or app.after_request_funcs.get(None)
            or app.teardown_request_funcs.get(None)
            or app.teardown_appcontext_funcs
            or app.url_value_preprocessors.get(None)
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            size_streamed_body(environ, self.app.config["MAX_CONTENT_LENGTH"])
        path = environ.get("PATH_INFO") or ""
        mount, _, local = path[1:].partition("/")
        candidates = self.routes.get((environ.get("REQUEST_METHOD", ""), mount))
        if not candidates or not path.isascii() or self._hooked():
            return self.flask_wsgi(environ, start_response)
        local = "/" + local
        found = [(m, c) for c in candidates if (m := c[0].fullmatch(local)) is not None]
        if len(found) != 1:
            return self.flask_wsgi(environ, start_response)
        match, (_, names, runtime, op) = found[0]
        bare = BareRequest(environ)
        bare.max_content_length = self.app.config["MAX_CONTENT_LENGTH"]
        bare.trusted_hosts = self.app.config.get("TRUSTED_HOSTS")
        token = _fast_request.set(bare)
        try:
            response = self.engine.serve(runtime, op, dict(zip(names, match.groups(), strict=True)))
        except Exception as exc:  # as Flask's dispatch would: error handlers, else re-raise or 500
            return self._flask_error(exc, environ)(environ, start_response)
        finally:
            _fast_request.reset(token)
        return response(environ, start_response)

    def _flask_error(self, exc: Exception, environ: dict[str, Any]) -> Response:
        app = self.app
        with app.request_context(environ):
            try:
                reply = app.handle_user_exception(exc)
            except Exception as unhandled:
                return app.handle_exception(unhandled)
            return app.finalize_request(reply)


# What a shared sandbox takes of one request's header lines (names and values) before it
# refuses them (431): far above any provider's documented headers, far below what a server
# would buffer for every open connection.
MAX_HEADER_BYTES = 32 * 1024


def header_bytes(environ: Mapping[str, Any]) -> int:
    """The size of a request's header lines, as the WSGI environ holds them."""
    return sum(len(k) + len(v) for k, v in environ.items() if k[:5] == "HTTP_")


def _journal_failed(exc: Exception, provider: str, operation: str) -> None:
    """A journal write failed (a full disk, a store gone away): say so on stderr, where an
    operator looks, and let the request's own answer go out unchanged."""
    sys.stderr.write(
        f"mockserver: journal entry for {provider} {operation} lost: {type(exc).__name__}: {exc}\n"
    )


def size_streamed_body(environ: dict[str, Any], limit: int | None) -> None:
    """Give a body sent without Content-Length (chunked) a length, so the body limit holds.

    Werkzeug reads such a stream up to the limit and stops there without a word: a larger
    body would be cut at the limit and parsed as if whole. The body (at most the limit and
    one byte more) is read here instead; one that does not fit is given a length above the
    limit, which every later reader refuses with 413."""
    stream = environ["wsgi.input"]
    cap = None if limit is None else limit + 1
    chunks: list[bytes] = []
    size = 0
    while cap is None or size < cap:
        chunk = stream.read(65536 if cap is None else min(65536, cap - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input_terminated"] = False
    # Werkzeug takes a chunked request's length as unknown, whatever CONTENT_LENGTH says.
    environ.pop("HTTP_TRANSFER_ENCODING", None)


def check_response(
    op: Operation, status: int, mimetype: str, body: Any, headers: Mapping[str, str]
) -> list[Violation]:
    """Every way a response breaks the operation's declared responses."""
    declared = op.response_for(status)
    if declared is None:
        return [
            Violation(
                "status", str(status), f"Received: {status} / Documented: {', '.join(op.statuses)}"
            )
        ]
    problems: list[Violation] = []
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, (required, validator) in declared.headers.items():
        if name in lowered:
            problems.extend(violations_of(validator, lowered[name], "response-header", name))
        elif required:
            problems.append(Violation("response-header", name, "is required but missing"))
    if status in (204, 304) or not declared.media:
        if body is not None and status not in (204, 304):
            problems.append(Violation("response-body", "", "the spec declares no body"))
        return problems
    if mimetype not in declared.media:
        problems.append(
            Violation("content-type", mimetype, f"Documented: {', '.join(declared.media)}")
        )
        return problems
    body_validator = declared.media[mimetype]
    if body_validator is not None:
        problems.extend(violations_of(body_validator, body, "response-body"))
    return problems


def _raw_param(param: Param, path_values: dict[str, str], request: Request) -> Any:
    if param.location == "path":
        return path_values.get(param.name)
    if param.location == "query":
        if param.kind == "array":
            values = request.args.getlist(param.name)
            if not values:
                return None
            return values if param.explode else [v for part in values for v in part.split(",")]
        # `in` first: MultiDict.get builds a BadRequestKeyError for every absent parameter.
        if param.name not in request.args:
            return None
        values = request.args.getlist(param.name)
        if len(values) > 1:
            # One value declared, several sent: which one a server takes differs from one
            # framework to the next, so a client that relies on it is refused here.
            raise CoercionError(f"is given {len(values)} times; the operation takes one value")
        return values[0]
    value = request.headers.get(param.name)
    if value is not None and param.kind == "array":
        return [v.strip() for v in value.split(",")]
    return value


def _coerce_param(param: Param, raw: Any) -> Any:
    if param.kind == "array":
        return [coerce(item, param.item_kind or "string") for item in raw]
    return coerce(raw, param.kind)


def _describe_scheme(schemes: Mapping[str, Mapping[str, Any]], name: str) -> str:
    scheme = schemes.get(name, {})
    if scheme.get("type") == "apiKey":
        return f"the {scheme.get('name')} {scheme.get('in')}"
    if scheme.get("type") == "http":
        return f"an Authorization: {str(scheme.get('scheme', '')).capitalize()} header"
    return name


_NEAR_MISS_CHARS = 200


def _distance(a: str, b: str) -> int:
    """Levenshtein distance, for ranking near misses."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
