"""The control plane under /__admin: health, reset, clock, consents, journal, faults, seeding."""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from . import jsoncodec
from .clock import parse_duration, parse_instant
from .engine import MAX_HEADER_BYTES, header_bytes
from .faults import FaultError
from .journal import fingerprint
from .lifecycle import TransitionRefused, create_consent, find_consent, move_consent
from .openapi import admin_query_names
from .seeding import FixtureError, seed_document, seed_file

if TYPE_CHECKING:
    from .app import Simulator

__all__ = ["admin_blueprint", "guard", "json_object"]


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    response = jsonify({"error": code, "message": message, **extra})
    response.status_code = status
    return response


def json_object() -> dict[str, Any]:
    """The request's body as a JSON object ({} when empty); ValueError (a 400) otherwise."""
    raw = request.get_data()
    if not raw:
        return {}
    try:
        body = jsoncodec.loads(raw)
    except ValueError as exc:
        raise _BadAdminRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _BadAdminRequest("the body must be a JSON object")
    return body


class _BadAdminRequest(ValueError):
    pass


def _quietly(read: Callable[[], int]) -> int | None:
    try:
        return read()
    except Exception:  # reported by _problems; health itself must still answer
        return None


def _problems(sim: Simulator) -> list[str]:
    """What would stop a provider request from being served: the clock's settings and the
    store, each read the way a request reads them."""
    problems: list[str] = []
    try:
        sim.clock.check()
    except ValueError as exc:
        problems.append(f'clock: {exc}; POST /__admin/clock {{"reset": true}} repairs it')
    except Exception as exc:  # a store that cannot read the clock's settings
        problems.append(f"clock: cannot read its settings ({type(exc).__name__}: {exc})")
    try:
        sim.store.count()
    except Exception as exc:
        problems.append(f"store: {type(exc).__name__}: {exc}")
    return problems


def guard(bp: Blueprint, sim: Simulator) -> None:
    """What every /__admin blueprint shares: the header size bound, the admin token, unknown
    query parameters refused where the document declares some, and HTTP errors raised in a
    view (a body over the limit) answered as JSON."""
    query_names: list[Callable[[str, str], frozenset[str] | None]] = []

    @bp.before_request
    def _guard() -> Response | None:
        if header_bytes(request.environ) > MAX_HEADER_BYTES:
            return _error(
                431, "headers_too_large", f"headers exceed {MAX_HEADER_BYTES // 1024} KiB in all"
            )
        if sim.admin_token is not None:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode(), sim.admin_token.encode()
            ):
                return _unauthorized()
        if not query_names:  # on first use: the document knows every provider's admin routes
            query_names.append(admin_query_names(sim))
        # Only where the route has filters to misspell: a page without any (health) may well
        # be a redirect target that the caller's parameters are appended to.
        allowed = query_names[0](request.method, request.path)
        unknown = sorted(set(request.args) - allowed) if allowed else []
        if unknown:
            known = ", ".join(sorted(allowed or ()))
            return _error(
                400,
                "bad_request",
                f"unknown query parameters: {', '.join(unknown)}; known: {known}",
            )
        return None

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        # Raised inside a view (a body over the limit, a bad form): JSON like every answer here.
        code = exc.code or 500
        return _error(code, exc.name.lower().replace(" ", "_"), exc.description or exc.name)


def _unauthorized() -> Response:
    response = _error(
        401, "unauthorized", "The control plane needs 'Authorization: Bearer <admin token>'."
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="mockserver-admin"'
    return response


def admin_blueprint(sim: Simulator) -> Blueprint:
    bp = Blueprint("admin", __name__, url_prefix="/__admin")
    guard(bp, sim)

    @bp.errorhandler(_BadAdminRequest)
    @bp.errorhandler(ValueError)
    def _bad(exc: ValueError) -> Response:
        return _error(400, "bad_request", str(exc))

    @bp.errorhandler(FixtureError)
    def _bad_fixture(exc: FixtureError) -> Response:
        return _error(400, "bad_fixture", str(exc))

    def _provider(name: str) -> None:
        if name not in sim.runtimes:
            raise _BadAdminRequest(f"unknown provider {name!r}; served: {', '.join(sim.runtimes)}")

    def _tenant_label(provider: str, tenant: str) -> str:
        secret = sim.runtimes[provider].definition.secret_tenant
        return fingerprint(tenant) if secret else tenant

    @bp.get("/health")
    def health() -> Response:
        problems = _problems(sim)
        response = jsonify(
            {
                "status": "unavailable" if problems else "ok",
                "problems": problems,
                "providers": {
                    name: {
                        "title": rt.definition.title,
                        "mount": f"/{name}",
                        "operations": sorted(rt.spec.operations),
                        "defaultTenant": rt.definition.default_tenant,
                        "statuses": list(rt.definition.statuses),
                        "approve": rt.definition.approved or None,
                        "reject": rt.definition.rejected or None,
                    }
                    for name, rt in sim.runtimes.items()
                },
                "consents": _quietly(sim.store.count),
                "journal": {
                    "size": _quietly(sim.journal.__len__),
                    "capacity": sim.journal.capacity,
                },
                "strict": sim.strict,
                "store": type(sim.store).__name__,
                "pid": os.getpid(),
            }
        )
        # 503 while a provider request could not be served: a load balancer or a test's
        # readiness probe must not take a broken simulator for a healthy one.
        response.status_code = 503 if problems else 200
        return response

    @bp.post("/reset")
    def reset() -> Response:
        body = json_object()
        reseed = body.pop("fixtures", True)
        if body or not isinstance(reseed, bool):  # "false" must not mean "reseed"
            raise _BadAdminRequest('the body is {"fixtures": true|false}, or empty')
        sim.reset(reseed=reseed)
        return jsonify({"reset": True, "consents": sim.store.count()})

    @bp.get("/clock")
    def read_clock() -> Response:
        return jsonify(sim.clock.describe(request.args.get("tenant") or None))

    @bp.post("/clock")
    def move_clock() -> Response:
        body = json_object()
        tenant = body.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise _BadAdminRequest("tenant must be a string")
        unknown = set(body) - {"tenant", "advance", "set", "freeze", "reset"}
        if unknown:
            raise _BadAdminRequest(
                f"unknown clock fields: {', '.join(sorted(unknown))}; "
                "use advance (ISO 8601 duration), set (RFC 3339), freeze, reset"
            )
        for name, kind in (("advance", str), ("set", str), ("freeze", bool), ("reset", bool)):
            if name in body and not isinstance(body[name], kind):
                raise _BadAdminRequest(
                    f"{name} must be {'a string' if kind is str else 'true or false'}"
                )
        actions = [name for name in ("reset", "advance", "set") if name in body]
        if len(actions) > 1 or (actions not in ([], ["set"]) and "freeze" in body):
            raise _BadAdminRequest(
                "one action at a time: advance, set (with or without freeze), freeze or reset"
            )
        if body.get("reset") is False:
            raise _BadAdminRequest('reset takes true only: {"reset": true}')
        if body.get("reset"):
            sim.clock.reset()
        elif "advance" in body:
            sim.clock.advance(parse_duration(body["advance"]), tenant)
        elif "set" in body:
            sim.clock.set(
                parse_instant(body["set"]), freeze=bool(body.get("freeze")), tenant=tenant
            )
        elif "freeze" in body:
            sim.clock.set(sim.clock.now(), freeze=bool(body["freeze"]))
        else:
            raise _BadAdminRequest("say what to do: advance, set, freeze or reset")
        return jsonify(sim.clock.describe(tenant))

    @bp.post("/<provider>/consents")
    def make_consent(provider: str) -> Response:
        _provider(provider)
        record, shown = create_consent(sim, provider, json_object(), request.host_url.rstrip("/"))
        response = jsonify(shown)
        response.status_code = 201
        response.headers["Location"] = (
            f"{request.host_url.rstrip('/')}/__admin/{provider}/consents/{record.id}"
        )
        response.headers["ETag"] = record.etag
        return response

    @bp.get("/<provider>/consents")
    def list_consents(provider: str) -> Response:
        _provider(provider)
        tenant = request.args.get("tenant")
        if not tenant:
            raise _BadAdminRequest("give ?tenant=<credential identity> to list its consents")
        definition = sim.runtimes[provider].definition
        now = sim.clock.now(tenant)
        from .behaviour import settle

        records = [settle(definition, sim.store, r, now) for r in sim.store.list(provider, tenant)]
        return jsonify({"consents": [definition.render(r.data) for r in records if r is not None]})

    @bp.get("/<provider>/consents/<record_id>")
    def show_consent(provider: str, record_id: str) -> Response:
        _provider(provider)
        record = find_consent(sim, provider, record_id)
        if record is None:
            return _error(404, "not_found", f"no {provider} consent {record_id}")
        definition = sim.runtimes[provider].definition
        status = definition.status_of(record.data)
        return jsonify(
            {
                "tenant": _tenant_label(provider, record.tenant),
                "status": status,
                "version": record.version,
                "etag": record.etag,
                "allowedTransitions": list(definition.transitions.get(status, ())),
                "consent": definition.render(record.data),
            }
        )

    @bp.post("/<provider>/consents/<record_id>/<decision>")
    def decide(provider: str, record_id: str, decision: str) -> Response:
        _provider(provider)
        definition = sim.runtimes[provider].definition
        target = {"approve": definition.approved, "reject": definition.rejected}.get(decision)
        if target is None:
            return _error(
                404, "not_found", f"no admin action {decision!r}; use status, approve, reject"
            )
        if not target:
            return _error(400, "bad_request", f"{provider} defines no status for {decision}")
        options = json_object()
        try:
            record = move_consent(sim, provider, record_id, target, **options)
        except TransitionRefused as refused:
            return _error(
                409,
                "transition_not_allowed",
                str(refused),
                current=refused.current,
                requested=refused.wanted,
                allowed=list(refused.allowed),
            )
        if record is None:
            return _error(404, "not_found", f"no {provider} consent {record_id}")
        response = jsonify(definition.render(record.data))
        response.headers["ETag"] = record.etag
        return response

    @bp.post("/<provider>/consents/<record_id>/status")
    def change_status(provider: str, record_id: str) -> Response:
        _provider(provider)
        body = json_object()
        if "status" not in body:
            raise _BadAdminRequest('give the new status: {"status": ...}')
        options = {k: v for k, v in body.items() if k != "status"}
        try:
            record = move_consent(sim, provider, record_id, body["status"], **options)
        except TransitionRefused as refused:
            return _error(
                409,
                "transition_not_allowed",
                str(refused),
                current=refused.current,
                requested=refused.wanted,
                allowed=list(refused.allowed),
            )
        if record is None:
            return _error(404, "not_found", f"no {provider} consent {record_id}")
        definition = sim.runtimes[provider].definition
        response = jsonify(definition.render(record.data))
        response.headers["ETag"] = record.etag
        return response

    from .openapi import publish_admin
    from .sandbox import Kit

    publish_admin(bp, sim, _provider)
    for name, runtime in sim.runtimes.items():
        if runtime.definition.admin is not None:
            runtime.definition.admin(Kit(sim, bp, name))

    @bp.get("/requests")
    def journal() -> Response:
        args = request.args
        status = args.get("status")
        if status is not None and not status.isdigit():
            raise _BadAdminRequest("status must be an HTTP status code")
        numbers: dict[str, int | None] = {}
        for name in ("limit", "after"):
            value = args.get(name)
            if value is not None and not value.isdigit():
                raise _BadAdminRequest(f"{name} must be a non-negative integer")
            numbers[name] = int(value) if value is not None else None
        flags: dict[str, bool | None] = {}
        for name in ("matched", "valid"):
            value = args.get(name)
            if value not in (None, "true", "false"):
                raise _BadAdminRequest(f"{name} must be true or false")
            flags[name] = None if value is None else value == "true"
        entries = sim.journal.entries(
            provider=args.get("provider"),
            operation=args.get("operation"),
            status=int(status) if status else None,
            since=args.get("since"),
            tenant=args.get("tenant"),
            limit=numbers["limit"],
            after=numbers["after"],
            matched=flags["matched"],
            valid=flags["valid"],
        )
        return jsonify({"requests": entries, "total": len(entries)})

    @bp.get("/requests/unmatched")
    def unmatched() -> Response:
        entries = sim.journal.entries(matched=False, provider=request.args.get("provider"))
        return jsonify({"requests": entries, "total": len(entries)})

    @bp.delete("/requests")
    def clear_journal() -> Response:
        return jsonify({"deleted": sim.journal.clear()})

    @bp.get("/faults")
    def faults() -> Response:
        return jsonify({"faults": sim.faults.list()})

    @bp.post("/faults")
    def add_fault() -> Response:
        try:
            fault = sim.faults.add(json_object(), sim.operations())
        except FaultError as exc:
            return _error(400, "bad_fault", str(exc))
        response = jsonify(fault.as_dict())
        response.status_code = 201
        return response

    @bp.delete("/faults")
    def clear_faults() -> Response:
        return jsonify({"deleted": sim.faults.remove()})

    @bp.delete("/faults/<int:fault_id>")
    def clear_fault(fault_id: int) -> Response:
        if not sim.faults.remove(fault_id):
            return _error(404, "not_found", f"no fault {fault_id}")
        return jsonify({"deleted": 1})

    @bp.post("/seed")
    def seed() -> Response:
        body = json_object()
        if "path" in body:
            created = seed_file(sim, str(body["path"]))
        else:
            created = seed_document(sim, body, "request body")
        response = jsonify({"created": created})
        response.status_code = 201
        return response

    return bp
