"""One request on its way through the pipeline (`Exchange`), its `Outcome`, and its id."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

from flask import Request, Response, request
from werkzeug.wrappers import Request as BareRequest

from ..behaviour import Context, Reply
from ..runtime import ProviderRuntime, Simulation
from ..spec import Operation
from ..validation import Violation
from .answer import Answer

__all__ = [
    "Exchange",
    "Outcome",
    "RequestStep",
    "ResponseStep",
    "current_request",
    "fast_request",
    "header",
    "mimetype",
    "new_request_id",
    "serving",
]

# The request being served by the fast path, which pushes no Flask request context.
fast_request: ContextVar[BareRequest | None] = ContextVar("mockserver_request", default=None)

# Our own PRNG, not the `random` module's shared one: a test that seeds or checks that one
# (Hypothesis refuses strategies that change it) must not see it move because a request was
# served on another thread. Reseeded in each forked worker, as the shared one is.
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)


# The bits uuid.UUID(version=4) sets: the variant (10) and the version (4).
_V4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_V4_SET = (0x8000 << 48) | (0x4000 << 64)


def new_request_id() -> str:
    """A random version-4 UUID. Request ids are labels, not secrets: a PRNG spares the
    os.urandom system call that uuid4() makes on every request (a twentieth of a GET's CPU).
    Formatted here rather than through uuid.UUID, whose checks cost as much again (the same
    text: tests/test_engine.py compares the two)."""
    h = f"{(_ids.getrandbits(128) & _V4_CLEAR) | _V4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_ENVIRON_KEYS: dict[str, str] = {}


def header(request: BareRequest, name: str) -> str | None:
    """`request.headers.get(name)`: werkzeug's EnvironHeaders works out the environ key on
    every call (about 1 µs; a GET reads four or five headers); here once per name."""
    key = _ENVIRON_KEYS.get(name)
    if key is None:
        upper = name.upper().replace("-", "_")
        key = upper if upper in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{upper}"
        if len(_ENVIRON_KEYS) < 1024:  # the names are the specs' and ours: stay bounded
            _ENVIRON_KEYS[name] = key
    value: str | None = request.environ.get(key)
    return value


_MIMETYPES: dict[str, str] = {}


def mimetype(request: BareRequest) -> str:
    """`request.mimetype or ""`, parsed once per Content-Type rather than once per request."""
    raw = header(request, "Content-Type") or ""
    found = _MIMETYPES.get(raw)
    if found is None:
        found = request.mimetype or ""
        if len(_MIMETYPES) < 256:  # the client's text: stay bounded
            _MIMETYPES[raw] = found
    return found


def current_request() -> Request:
    """The request object itself. Each `request.x` through Flask's context proxy costs a
    lookup of about 1 µs; the pipeline reads the request a few dozen times per call, so it
    is fetched once per request into the Exchange."""
    fast = fast_request.get()
    if fast is not None:
        return cast(Request, fast)
    return cast(Request, cast(Any, request)._get_current_object())


@contextlib.contextmanager
def serving(bare: BareRequest) -> Iterator[None]:
    """Make `bare` the current request for the engine's helpers, outside Flask (as FastPath)."""
    token = fast_request.set(bare)
    try:
        yield
    finally:
        fast_request.reset(token)


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
class Exchange:
    """One request through the steps: what it names, and what each step found so far."""

    # What the engine knows before the first step.
    sim: Simulation
    runtime: ProviderRuntime
    op: Operation
    path_values: dict[str, str]
    request: Request
    request_id: str
    started: float
    hosts: dict[tuple[Any, ...], str]  # the engine's memo of host URLs (see host_url)
    # What the request steps find, in their order; each is read by the steps after it.
    credentials: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    ctx: Context | None = None
    tenant: str = ""
    violations: list[Violation] = field(default_factory=list)
    # Set by the render step for the steps after it: the response, the reply it answers
    # (a 304 in place of a 200) and that reply's headers (ETag and Location added).
    response: Response | Answer | None = None
    reply: Reply | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def host_url(self) -> str:
        """`request.host_url` without its slash, remembered per scheme and host: werkzeug's
        IRI decoding of it cost as much as a GET's whole validation (bench/profile_app.py).
        The memo is the engine's, not the module's: each app has its own trusted hosts."""
        environ = self.request.environ
        key = (
            environ.get("wsgi.url_scheme"),
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
        )
        found = self.hosts.get(key)
        if found is None:
            found = self.request.host_url.rstrip("/")
            if len(self.hosts) >= 256:  # the Host header is the client's: stay bounded
                self.hosts.clear()
            self.hosts[key] = found
        return found


# A request step goes on (None) or ends the request with an Outcome; a response step runs on
# every Outcome, in turn. The list of both is in `steps.py`.
RequestStep = Callable[[Exchange], Outcome | None]
ResponseStep = Callable[[Exchange, Outcome], None]
