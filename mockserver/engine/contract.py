"""The response against the operation's declared responses; strict mode's ContractViolation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..spec import Operation
from ..validation import Violation, violations_of
from .exchange import Exchange, Outcome

__all__ = ["ContractViolation", "check_answer", "check_response", "raise_handler_bug"]

# Engine-level refusals that sit outside any one operation's contract: strict mode does not
# demand that a spec declare them (an over-large body is refused before it is even read).
_TRANSPORT_KINDS = frozenset(
    {"method_not_allowed", "payload_too_large", "unsupported_media_type", "fault", "server_error"}
)


class ContractViolation(AssertionError):
    """Strict mode: the simulator was about to send a response its own spec does not allow."""


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


def check_answer(ex: Exchange, outcome: Outcome) -> None:
    """The step, in strict mode: an answer the spec forbids raises (before it is journaled)."""
    if not ex.sim.strict or outcome.kind in _TRANSPORT_KINDS:
        return
    op, reply, response = ex.op, ex.reply, ex.response
    assert reply is not None and response is not None, "kept by the render step"
    problems = check_response(op, reply.status, response.mimetype or "", reply.body, ex.headers)
    if problems:
        raise ContractViolation(
            f"{op.method} {op.path} ({op.operation_id}) answered {reply.status} "
            "against its own spec:\n  " + "\n  ".join(str(p) for p in problems)
        )


def raise_handler_bug(ex: Exchange, outcome: Outcome) -> None:
    """The step, in strict mode: a handler's bug raises, once its 500 is journaled."""
    if ex.sim.strict and outcome.error and outcome.reply.status >= 500:
        raise RuntimeError(f"handler {ex.op.operation_id} failed:\n{outcome.error}")
