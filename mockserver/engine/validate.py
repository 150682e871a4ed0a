"""The request against its operation: parameters (coerced from strings) and body (400)."""

from __future__ import annotations

from typing import Any

from flask import Request

from ..behaviour import ApiError, Context
from ..spec import Operation, Param
from ..validation import CoercionError, Violation, coerce, violations_of
from .exchange import Exchange, header, mimetype

__all__ = ["request_violations", "validate"]


def validate(ex: Exchange) -> None:
    """The step: every violation of the request's parameters and body, refused together."""
    assert ex.ctx is not None, "made by the identify step"
    violations = ex.violations = request_violations(
        ex.op, ex.path_values, ex.body, ex.ctx, ex.request
    )
    if violations:
        raise ApiError(
            400,
            "invalid_request",
            "; ".join(str(v) for v in violations),
            violations=violations,
        )


def request_violations(
    op: Operation, path_values: dict[str, str], body: Any, ctx: Context, request: Request
) -> list[Violation]:
    """The request's violations; its valid parameters go into `ctx` (path, query, headers)."""
    found = _param_violations(op, path_values, ctx, request)
    if op.body_media:
        sent = mimetype(request)
        media = sent if sent in op.body_media else next(iter(op.body_media))
        if body is None:
            if op.body_required:
                found.append(Violation("body", "", "a request body is required"))
        elif (quick := op.body_quick.get(media)) is None or not quick(body):
            found.extend(violations_of(op.body_media[media], body, "body"))
    return found


def _param_violations(
    op: Operation, path_values: dict[str, str], ctx: Context, request: Request
) -> list[Violation]:
    found: list[Violation] = []
    targets = {"path": ctx.path, "query": ctx.query, "header": ctx.headers}
    for param in op.params:
        try:
            raw = _raw_param(param, path_values, request)
            if raw is None:
                # If-Match on a conditional operation is the 428 step's to refuse, not a 400.
                if param.required and not (param.name.lower() == "if-match" and op.if_match):
                    found.append(Violation(param.location, param.name, "is required"))
                elif "default" in param.schema:
                    targets[param.location][param.name] = param.schema["default"]
                continue
            value = _coerce_param(param, raw)
        except CoercionError as exc:
            found.append(Violation(param.location, param.name, str(exc)))
            continue
        # The quick check passes most valid values without building a jsonschema validator.
        if param.quick is not None and param.quick(value):
            errors = []
        else:
            errors = violations_of(param.validator, value, param.location, param.name)
        if errors:
            found.extend(errors)
        else:
            targets[param.location][param.name] = value
    return found


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
    value = header(request, param.name)
    if value is not None and param.kind == "array":
        return [v.strip() for v in value.split(",")]
    return value


def _coerce_param(param: Param, raw: Any) -> Any:
    if param.kind == "array":
        return [coerce(item, param.item_kind or "string") for item in raw]
    return coerce(raw, param.kind)
