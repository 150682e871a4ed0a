"""Yapily's credentials (HTTP Basic: Application ID and its first secret) and error bodies."""

from __future__ import annotations

from ... import kit

MEDIA = "application/json;charset=UTF-8"
UNAUTHORIZED = "Full authentication is required to access this resource"
SECRETS = kit.FirstSecret("yapily:secret")


seed_tenant = SECRETS.seeder("secret")  # the fixtures' credentials: {secret: ...}
registries = (SECRETS,)


# The tenant is the Application ID; its first secret is registered, a different one is 401.
identify = kit.basic_tenant(
    "basicAuth", SECRETS, lambda code: kit.ApiError(401, "unauthenticated", UNAUTHORIZED, code=code)
)


def meta(ctx: kit.Context) -> kit.JsonDict:
    return {"tracingId": kit.trace_hex(ctx.request_id)}


def ok(status: int, body: kit.JsonDict, location: str | None = None) -> kit.Reply:
    return kit.Reply(status, body, location=location, media_type=MEDIA)


def refused(status: int, kind: str, message: str, code: str, parameter: str = "") -> kit.ApiError:
    """Yapily's refusal; `parameter` names what is wrong (a body field as `$.name`)."""
    violations = (
        [kit.Violation("body", parameter[2:], message)] if parameter.startswith("$.") else []
    )
    extra = {"parameter": parameter} if parameter else {}
    return kit.ApiError(status, kind, message, code=code, extra=extra, violations=violations)


def require_status(data: kit.JsonDict, allowed: tuple[str, ...], what: str) -> None:
    """Refuse a consent in none of the `allowed` statuses (the message names the first two)."""
    if (status := data["status"]) not in allowed:
        message = f"Consent status {status} cannot be {what}; it must be {' or '.join(allowed[:2])}"
        raise refused(400, "invalid_state", message, "INVALID_CONSENT_STATUS")


def not_found(consent_id: str) -> kit.ApiError:
    message = f"Consent {consent_id} not found"
    return refused(404, "not_found", message, "CONSENT_NOT_FOUND", "consentId")


def _describe(violation: kit.Violation) -> str:
    """One request violation in words close to Yapily's."""
    name, path, message = violation.name, violation.schema_path, violation.message
    if violation.location == "path":
        return f"{name} must be a uuid"
    if name == "limit":
        return "limit must be between 1 and 1000"
    if name in ("from", "before"):
        return f"{name} must be a date-time like 2021-06-01T00:00:00.000+0000"
    if violation.location != "body":
        return f"{name}: {message}"
    if path.endswith("anyOf"):
        return "Either userUuid or applicationUserId must be provided"
    if path.endswith("then/required"):
        return "callback is required when oneTimeToken is true"
    missing = kit.missing_property(violation)
    if missing:
        return f"{name}.{missing} is required" if name else f"{missing} is required"
    return f"{name or 'body'}: {message}"


def _issue(violation: kit.Violation) -> kit.JsonDict:
    """A request violation as the V2 body's issue (a body field named `$.a.b`)."""
    issue = {"type": "INVALID_REQUEST", "code": "INVALID_PARAMETER", "parameter": violation.name}
    if violation.location == "body":
        parts = [p for p in (violation.name, kit.missing_property(violation)) if p]
        missing = violation.schema_path.endswith("required")
        issue["code"] = "MISSING_PROPERTY" if missing else "INVALID_PROPERTY_UNEXPECTED_VALUE"
        issue["parameter"] = "$." + ".".join(parts) if parts else "$"
    return issue | {"message": _describe(violation)}


def _issues(err: kit.ApiError, message: str) -> list[kit.JsonDict]:
    """The V2 body's issues: one per request violation, else one for the error itself."""
    if err.kind == "invalid_request" and err.violations and not err.code:
        return [_issue(v) for v in err.violations]
    kind = "NOT_FOUND" if err.status == 404 else "INVALID_REQUEST"
    issue: kit.JsonDict = {"type": "SERVER_ERROR" if err.status >= 500 else kind}
    issue["code"] = err.code or err.kind.upper()
    if err.extra.get("parameter"):
        issue["parameter"] = err.extra["parameter"]
    return [{**issue, "message": message}]


# Operations whose errors are Yapily's V2 body (ApiErrorResponse), as Yapily documents them.
V2_OPERATIONS = kit.spec_error_operations("yapily.yaml", "ApiErrorResponse")
# Spring's names where Python's differ (Yapily is a Spring service).
_STATUS_NAMES = {413: "PAYLOAD_TOO_LARGE", 422: "UNPROCESSABLE_ENTITY"}


def render_error(err: kit.ApiError, scope: kit.ErrorScope) -> kit.Reply:
    """Yapily's legacy ApiResponseError; the V2 ApiErrorResponse for extendConsent and the
    webhook operations (not for 401)."""
    trace, status = kit.trace_hex(scope.request_id), kit.status_name(err.status, _STATUS_NAMES)
    message = err.message
    if err.kind == "unauthenticated":
        message = UNAUTHORIZED
    elif err.kind == "invalid_request" and err.violations and not err.code:
        message = "; ".join(dict.fromkeys(_describe(v) for v in err.violations))
    elif err.kind == "malformed_body":
        message = f"Request body does not conform to the contract: {err.message}"
    headers = {"WWW-Authenticate": 'Basic realm="Yapily"'} if err.status == 401 else {}
    if scope.operation_id in V2_OPERATIONS and err.status != 401:
        error: kit.JsonDict = {"tracingId": trace, "code": err.status, "status": status}
        error |= {"source": "YAPILY", "issues": _issues(err, message)}
    else:
        error = {"code": err.status, "status": status, "message": message, "tracingId": trace}
    return kit.Reply(err.status, {"error": error}, headers, media_type=MEDIA)
