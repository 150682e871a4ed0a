"""API.1's credentials (the x-api-key is the tenant) and RFC 7807 problem details."""

from __future__ import annotations

from ... import kit

identify = kit.api_key_tenant("ApiKey")

_RFC = "https://tools.ietf.org/html/rfc9110#section-"
_PROBLEM_TYPES = {400: "15.5.1", 401: "15.5.2", 403: "15.5.4", 404: "15.5.5", 405: "15.5.6"}
_PROBLEM_TYPES |= {409: "15.5.10", 412: "15.5.13", 413: "15.5.14", 415: "15.5.16", 500: "15.6.1"}


def _problem_type(status: int) -> str:
    if status == 428:
        return "https://tools.ietf.org/html/rfc6585#section-3"
    return _RFC + _PROBLEM_TYPES[status] if status in _PROBLEM_TYPES else "about:blank"


def render_error(err: kit.ApiError, scope: kit.ErrorScope) -> kit.Reply:
    """RFC 7807 problem details, as an ASP.NET Core service writes them."""
    validation = err.kind == "invalid_request" and bool(err.violations)
    hexed = scope.request_id.replace("-", "")
    body: kit.JsonDict = {
        "type": _problem_type(err.status),
        "title": "One or more validation errors occurred."
        if validation
        else kit.status_phrase(err.status),
        "status": err.status,
        "detail": err.message,
        "instance": scope.path,
        "traceId": f"00-{hexed}-{hexed[:16]}-01",  # a W3C traceparent, as ASP.NET Core's
    }
    if validation:
        errors: dict[str, list[str]] = {}
        for violation in err.violations:
            errors.setdefault(violation.name or violation.location, []).append(violation.message)
        body["errors"] = errors
    return kit.Reply(err.status, body, media_type="application/problem+json")


def not_found(consent_id: str) -> kit.ApiError:
    return kit.ApiError(404, "not_found", f"Consent {consent_id} was not found.")
