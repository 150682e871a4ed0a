"""WSGI middleware in front of Flask: a request naming one operation goes straight to the engine."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Protocol

from flask import Flask, Response
from werkzeug.wrappers import Request as BareRequest

from ..runtime import ProviderRuntime
from ..spec import Operation
from .answer import Answer
from .exchange import fast_request
from .limits import size_streamed_body

__all__ = ["FastPath"]


class Serves(Protocol):
    """What the fast path needs of the engine (looked up per request: tests wrap `serve`)."""

    def serve(
        self, runtime: ProviderRuntime, op: Operation, path_values: dict[str, str]
    ) -> Response | Answer: ...


class FastPath:
    """WSGI middleware in front of Flask: a request that names exactly one operation goes
    straight to `Engine.serve`, without Flask's request context, URL adapter and router
    (together a third of a GET's CPU, bench/profile_app.py). Everything else goes to Flask
    as before: admin and sandbox pages, unmatched paths (404/405), HEAD, trailing or doubled
    slashes, non-ASCII paths, and every request while the app has request hooks.
    An exception leaving the pipeline (strict mode) is handed to Flask's own handler."""

    def __init__(self, app: Flask, engine: Serves) -> None:
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
        # Set by hand rather than with `serving`: the hot path spares a generator-based
        # context manager.
        token = fast_request.set(bare)
        try:
            response = self.engine.serve(runtime, op, dict(zip(names, match.groups(), strict=True)))
        except Exception as exc:  # as Flask's dispatch would: error handlers, else re-raise or 500
            return self._flask_error(exc, environ)(environ, start_response)
        finally:
            fast_request.reset(token)
            # As Flask does when it pops a request context: the request holds the environ,
            # which holds the request, and each such cycle was left for the garbage collector
            # (a collection every few dozen requests, and more objects in the older
            # generations that a full collection walks).
            environ["werkzeug.request"] = None
        return response(environ, start_response)

    def _flask_error(self, exc: Exception, environ: dict[str, Any]) -> Response:
        app = self.app
        with app.request_context(environ):
            try:
                reply = app.handle_user_exception(exc)
            except Exception as unhandled:
                return app.handle_exception(unhandled)
            return app.finalize_request(reply)
