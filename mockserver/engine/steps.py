"""The engine's pipeline: every step a request goes through, named in order in one place."""

from __future__ import annotations

from . import (
    conditional,
    contract,
    dispatch,
    injected,
    journaling,
    limits,
    parsing,
    rendering,
    security,
    tenancy,
    validate,
)
from .exchange import RequestStep, ResponseStep

__all__ = ["FIRST_STEP", "REQUEST_STEPS", "RESPONSE_STEPS"]

# First, before anything of the request is read: a fault injected for every tenant. It runs
# outside the error answer that wraps REQUEST_STEPS (as it did before the steps were named), so
# a failure in it reaches Flask's error handler rather than the provider's 500.
FIRST_STEP: RequestStep = injected.any_tenant

# Then the request, step by step (Engine._run). A step goes on (None) or answers (an Outcome:
# an injected fault, the handler's reply). An ApiError raised by any of them is answered in the
# provider's error format; a body over the limit with 413; any other exception, a 500.
REQUEST_STEPS: tuple[RequestStep, ...] = (
    limits.header_size,  # headers over 32 KiB in all → 431
    security.authenticate,  # the spec's security schemes → the credentials, or 401
    parsing.parse_body,  # by media type; one not accepted → 415, malformed JSON → 400
    tenancy.identify,  # the handler's Context; the provider's identify → the tenant
    injected.tenant_bound,  # a fault injected for this tenant
    tenancy.tenant_clock,  # the handler's `now`, on the tenant's clock
    validate.validate,  # parameters and body against the spec → 400
    conditional.require_if_match,  # a conditional operation without If-Match → 428
    dispatch.call_handler,  # the provider's handler → its Reply
)

# Then every answer, step by step, all of them in turn.
RESPONSE_STEPS: tuple[ResponseStep, ...] = (
    rendering.render,  # ETag, If-None-Match → 304, an absolute Location, the body's bytes
    contract.check_answer,  # strict mode: an answer the spec forbids → ContractViolation
    journaling.record,  # the journal entry, secrets masked
    contract.raise_handler_bug,  # strict mode: a handler's 500 raises, once journaled
)
