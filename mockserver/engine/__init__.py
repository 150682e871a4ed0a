"""Turn each spec operation into a route, served by the pipeline of `steps.py` in order."""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..behaviour import ApiError
from ..deferral import DEFERRAL
from ..runtime import ProviderRuntime, Simulation
from ..spec import Operation
from .answer import Answer, to_uri
from .contract import ContractViolation, check_response
from .errors import error_answer, failed, refused, render_error, too_large
from .exchange import Exchange, Outcome, current_request, new_request_id, serving
from .fastpath import FastPath
from .injected import DEFERRED
from .limits import MAX_HEADER_BYTES, header_bytes, size_streamed_body
from .steps import FIRST_STEP, REQUEST_STEPS, RESPONSE_STEPS
from .unmatched import unmatched
from .verdict import Verdict, check_request

__all__ = [
    "MAX_HEADER_BYTES",
    "Answer",
    "ContractViolation",
    "Engine",
    "FastPath",
    "ProviderRuntime",
    "Verdict",
    "check_response",
    "header_bytes",
    "serving",
    "size_streamed_body",
    "to_uri",
]

# What a request answers when it asks the server to wait out a delay: discarded unsent.
_DEFERRED_ANSWER = Answer.build(503, {}, None, None)


class Engine:
    """Mounts the providers' operations and runs each request through the pipeline's steps."""

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
        ex = self._exchange(runtime, op, path_values, new_request_id())
        # The clock's settings (and a store's rarely-changing state) read once per request.
        with self._store_pin(), self.sim.clock.pinned():
            outcome = FIRST_STEP(ex)
            if outcome is None:
                outcome = self._run(ex)
            if outcome.kind == DEFERRED:  # void: the server calls again after the delay
                return _DEFERRED_ANSWER
            for step in RESPONSE_STEPS:
                step(ex, outcome)
        assert ex.response is not None, "the render step answers every outcome"
        return ex.response

    def _run(self, ex: Exchange) -> Outcome:
        """The request steps in order, until one answers; a refusal in the provider's format."""
        try:
            for step in REQUEST_STEPS:
                outcome = step(ex)
                if outcome is not None:
                    return outcome
        except ApiError as err:
            return refused(ex, err)
        except RequestEntityTooLarge:
            return too_large(ex)
        except Exception:  # a handler bug: answer 500 in the provider's format, keep the trace
            return failed(ex, traceback.format_exc())
        raise AssertionError("the last request step, the handler, always answers")

    def _exchange(
        self, runtime: ProviderRuntime, op: Operation, path_values: dict[str, str], request_id: str
    ) -> Exchange:
        request = current_request()
        deferral = request.environ.get(DEFERRAL)
        # A request called again after a delay fault: its duration counts from its arrival.
        started = time.perf_counter() if deferral is None else deferral.started
        return Exchange(
            self.sim, runtime, op, path_values, request, request_id, started, self._host_urls
        )

    # -- for the proxy, which answers from the live provider -----------------------------------
    def check_request(
        self, runtime: ProviderRuntime, op: Operation, path_values: dict[str, str], request_id: str
    ) -> Verdict:
        """The request's contract verdict as the request steps reach it (see verdict.py)."""
        return check_request(self._exchange(runtime, op, path_values, request_id))

    def error_answer(
        self, runtime: ProviderRuntime, op: Operation | None, err: ApiError, request_id: str
    ) -> Answer:
        """An engine refusal in the provider's own error format, ready to send."""
        reply = render_error(self.sim, runtime, op, err, request_id, current_request())
        return error_answer(reply)

    # -- requests that match no operation ------------------------------------------------------
    def unmatched(self, exc: HTTPException) -> Response:
        """404/405 under a provider's mount: the provider's error body, and a journal entry."""
        return unmatched(self.sim, self.runtimes, exc)
