"""A request's contract verdict without serving it: the proxy's, whose answer is the live one."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from ..behaviour import ApiError
from ..validation import Violation
from .conditional import if_match_missing
from .exchange import Exchange
from .parsing import parse_body
from .security import authenticate
from .tenancy import new_context
from .validate import request_violations

__all__ = ["Verdict", "check_request"]


@dataclass(slots=True)
class Verdict:
    """A request checked against its operation without being served (see check_request)."""

    violations: list[Violation]
    tenant: str
    body: Any
    credentials: dict[str, Any]


def check_request(ex: Exchange) -> Verdict:
    """The verdict the request steps reach (credentials, body, parameters, If-Match), with no
    fault and no handler. A tenant the provider cannot tell here (a token the live provider
    issued) is no contract matter: the verdict then has none."""
    verdict = Verdict([], "", None, {})
    try:
        authenticate(ex)
        verdict.credentials = ex.credentials
        parse_body(ex)
        verdict.body = ex.body
        ctx = new_context(ex)
        with contextlib.suppress(Exception):
            verdict.tenant = ctx.tenant = ex.runtime.definition.identify(ctx)
        verdict.violations = request_violations(ex.op, ex.path_values, ex.body, ctx, ex.request)
        if not verdict.violations and if_match_missing(ex.op, ex.request):
            verdict.violations = [Violation("precondition_required", "If-Match", "is required")]
    except ApiError as err:
        verdict.violations = err.violations or [Violation(err.kind, "", err.message)]
    return verdict
