"""Our own checks, registered with Schemathesis next to its standard ones.

Each is a small named function of (context, response, case), generic over providers; it
raises AssertionError with a message that reads like Schemathesis's own failures. A check that
a provider's documented behaviour makes wrong is switched off for that operation alone in
`schemathesis.toml`, with the reason next to it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import schemathesis
from schemathesis import CheckContext, Response

from .wire import Answer, Wire

if TYPE_CHECKING:
    # Schemathesis's alias of its generic Case for an OpenAPI operation (for type checkers only)
    from schemathesis.specs.openapi.schemas import OpenApiCase as Case

__all__ = [
    "CANARIES",
    "credentials_required",
    "etag_changes_after_write",
    "location_resolves",
    "no_leaks",
    "repeated_delete_is_idempotent",
]

# Ids and secrets of consents that belong to a tenant the suite never signs in as; the suite
# seeds them through the admin API. None of them may ever appear in an answer to the suite.
CANARIES: set[str] = set()

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NOT_COPIED = frozenset(
    {"content-type", "content-length", "if-match", "if-none-match", "transfer-encoding"}
)
_STACK_TRACES = re.compile(
    r"Traceback \(most recent call last\)"
    r"|File \"[^\"]+\", line \d+"
    r"|\bat [\w$.<>]+\([\w$]+\.(?:java|kt|scala):\d+\)"  # JVM frames
    r"|\bat [\w.`<>]+\(.*\) in .+:line \d+"  # .NET frames
    r"|\w+Error: .+\n\s+at .+:\d+:\d+"  # Node.js frames
)


def _wire(case: Case, response: Response) -> Wire:
    return Wire.for_url(response.request.url or "", case.operation.schema.app)


def _copied_headers(response: Response, *, keep_body_headers: bool = False) -> dict[str, str]:
    headers = {}
    for name, value in response.request.headers.items():
        lowered = name.lower()
        if lowered in _NOT_COPIED and not (
            keep_body_headers and lowered in ("content-type", "content-length")
        ):
            continue
        headers[name] = str(value)
    return headers


def _body(response: Response) -> bytes | None:
    """The request's body as bytes: Schemathesis sends bytes or text, never a stream."""
    body = response.request.body
    data = body.encode() if isinstance(body, str) else body
    if data is not None and not isinstance(data, bytes):  # not an AssertionError: no check failed
        raise TypeError(f"unexpected request body {data!r}")
    return data


def _resend(case: Case, response: Response, **header_changes: str) -> Answer:
    """The same request again (method, URL, body), with some headers replaced."""
    request = response.request
    headers = {k: str(v) for k, v in request.headers.items() if k.lower() != "content-length"}
    headers.update(header_changes)
    return _wire(case, response).send(
        str(request.method), request.url or "", headers=headers, data=_body(response)
    )


def _etag_value(tag: str | None) -> str | None:
    if tag is None:
        return None
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def _header(response: Response, name: str) -> str | None:
    values = response.headers.get(name.lower()) or response.headers.get(name)
    if not values:
        return None
    return values[0] if isinstance(values, list) else str(values)


def _request_header(response: Response, name: str) -> str | None:
    value = response.request.headers.get(name)
    return None if value is None else str(value)


def _read_operation(case: Case) -> Any:
    """The GET operation on the same path as `case`, if the spec has one."""
    path_item = case.operation.schema.raw_schema.get("paths", {}).get(case.operation.path, {})
    return path_item.get("get")


@schemathesis.check
def etag_changes_after_write(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A successful conditional write moves the ETag on, and its old ETag then gets 412."""
    if case.method.upper() not in _WRITES or not 200 <= response.status_code < 300:
        return None
    old = _etag_value(_request_header(response, "If-Match"))
    if not old or old == "*":
        return None
    new = _etag_value(_header(response, "ETag"))
    if new is not None and new == old:
        raise AssertionError(
            f"ETag unchanged by a successful write: If-Match {old} / answer's ETag {new}"
        )
    if case.method.upper() != "DELETE" and _read_operation(case) is not None:
        read = _wire(case, response).send(
            "GET", response.request.url or "", headers=_copied_headers(response)
        )
        current = _etag_value(read.header("ETag"))
        if read.status == 200 and current is not None:
            if current == old:
                raise AssertionError(
                    f"ETag unchanged by a successful write: GET still answers ETag {current}"
                )
            if new is not None and current != new:
                raise AssertionError(
                    f"The write answered ETag {new} but GET answers ETag {current}"
                )
    stale = _resend(case, response)
    if stale.status != 412:
        raise AssertionError(
            f"Stale If-Match accepted: the same {case.method.upper()} again with If-Match {old}"
            f"\n\nReceived: {stale.status} / Expected: 412 Precondition Failed"
            f"\n\n{stale.text[:300]}"
        )
    return None


@schemathesis.check
def location_resolves(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A 201 names the new resource in `Location`, and GET on it answers 200."""
    if response.status_code != 201:
        return None
    location = _header(response, "Location")
    if not location:
        raise AssertionError("201 Created without a Location header")
    target = location
    if not urlsplit(location).scheme:
        base = urlsplit(response.request.url or "")
        target = f"{base.scheme}://{base.netloc}{location}"
    answer = _wire(case, response).send("GET", target, headers=_copied_headers(response))
    if answer.status != 200:
        raise AssertionError(
            f"Location does not resolve: GET {location}\n\n"
            f"Received: {answer.status} / Expected: 200\n\n{answer.text[:300]}"
        )
    return None


def _credential_headers(case: Case) -> set[str]:
    """Headers that carry the operation's declared credentials (apiKey in header, HTTP auth)."""
    raw = case.operation.schema.raw_schema
    requirements = case.operation.definition.raw.get("security", raw.get("security", []))
    schemes = raw.get("components", {}).get("securitySchemes", {})
    names: set[str] = set()
    for requirement in requirements or []:
        for scheme_name in requirement:
            scheme = schemes.get(scheme_name, {})
            if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                names.add(str(scheme["name"]).lower())
            elif scheme.get("type") == "http":
                names.add("authorization")
    return names


_AUTH_CONFIRMED: set[str] = set()


@schemathesis.check
def credentials_required(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """An operation that declares credentials refuses the same request without them (401/403).

    The "no credentials" half of Schemathesis's `ignored_auth`, which also holds where its
    "invalid credentials" half cannot (a `--credentials open` simulator, where any well-formed
    credential is a new tenant). Confirmed once per operation and target.
    """
    names = _credential_headers(case)
    key = f"{response.request.url and urlsplit(response.request.url).netloc} {case.operation.label}"
    if not names or not 200 <= response.status_code < 300 or key in _AUTH_CONFIRMED:
        return None
    request = response.request
    headers = {
        k: v
        for k, v in _copied_headers(response, keep_body_headers=True).items()
        if k.lower() not in names
    }
    answer = _wire(case, response).send(
        str(request.method), request.url or "", headers=headers, data=_body(response)
    )
    if answer.status not in (401, 403):
        raise AssertionError(
            "API accepts requests without authentication: the same request without "
            f"{', '.join(sorted(names))}\n\nReceived: {answer.status} / Expected: 401 or 403"
            f"\n\n{answer.text[:300]}"
        )
    _AUTH_CONFIRMED.add(key)
    return None


def _is_delete(case: Case) -> bool:
    operation_id = str(case.operation.definition.raw.get("operationId", ""))
    return case.method.upper() == "DELETE" or operation_id.lower().startswith("delete")


@schemathesis.check
def repeated_delete_is_idempotent(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Deleting again answers as the first delete did (SCOPE.md: deletes are idempotent)."""
    if not _is_delete(case) or not 200 <= response.status_code < 300:
        return None
    again = _resend(case, response)
    if again.status != response.status_code:
        raise AssertionError(
            "Repeated delete is not idempotent: the same request again\n\n"
            f"Received: {again.status} / Expected: {response.status_code} (as the first time)"
            f"\n\n{again.text[:300]}"
        )
    return None


@schemathesis.check
def no_leaks(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """No answer carries a stack trace, or any trace of another tenant's consents."""
    text = response.text or ""
    trace = _STACK_TRACES.search(text)
    if trace:
        raise AssertionError(f"The response leaks a stack trace: {trace.group(0)[:200]!r}")
    leaked = sorted(marker for marker in CANARIES if marker in text)
    if leaked:
        raise AssertionError(
            f"The response shows another tenant's consent: {', '.join(leaked[:3])}"
        )
    for values in response.headers.values():
        for value in values if isinstance(values, list) else [values]:
            hit = next((m for m in CANARIES if m in str(value)), None)
            if hit:
                raise AssertionError(f"A response header shows another tenant's consent: {hit}")
    return None
