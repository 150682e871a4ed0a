"""The control plane of webhooks, under /__admin/webhooks: hooks, test events, deliveries,
delivery faults and the sender's retry settings."""

from __future__ import annotations

import hmac
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request

from ..clock import format_instant
from .faults import WebhookFaultError
from .model import Event
from .registry import ROTATION_GRACE, shown

if TYPE_CHECKING:
    from ..app import Simulator
    from .hub import Hub

__all__ = ["webhooks_blueprint"]


class _Bad(ValueError):
    pass


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(body, dict):
        raise _Bad("the body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _Bad(f"{name!r} is required and must be a non-empty string")
    return value


def _url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise _Bad(f"{name} must be an absolute http(s) URL, got {value!r}")
    return value


def _created(payload: Any) -> Response:
    response = jsonify(payload)
    response.status_code = 201
    return response


def webhooks_blueprint(sim: Simulator, hub: Hub) -> Blueprint:
    bp = Blueprint("webhooks", __name__, url_prefix="/__admin/webhooks")

    @bp.before_request
    def _guard() -> Response | None:  # the same admin token as the rest of /__admin
        if sim.admin_token is None:
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), sim.admin_token.encode()
        ):
            return None
        response = _error(
            401, "unauthorized", "The control plane needs 'Authorization: Bearer <admin token>'."
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="mockserver-admin"'
        return response

    @bp.errorhandler(_Bad)
    @bp.errorhandler(ValueError)
    def _bad(exc: ValueError) -> Response:
        return _error(400, "bad_request", str(exc))

    @bp.errorhandler(WebhookFaultError)
    def _bad_fault(exc: WebhookFaultError) -> Response:
        return _error(400, "bad_fault", str(exc))

    @bp.post("")
    def register() -> Response:
        body = _body()
        unknown = set(body) - {"provider", "tenant", "url", "secret", "backupUrl", "events"}
        if unknown:
            raise _Bad(f"unknown fields: {', '.join(sorted(unknown))}")
        provider = _text(body, "provider") or ""
        if provider not in sim.runtimes:
            raise _Bad(f"unknown provider {provider!r}; served: {', '.join(sim.runtimes)}")
        tenant = _text(body, "tenant") or ""
        url = _url(_text(body, "url") or "", "url")
        backup = _text(body, "backupUrl", required=False)
        events = body.get("events")
        if events is not None and (
            not isinstance(events, list) or not all(isinstance(e, str) for e in events)
        ):
            raise _Bad("events must be a list of event type names (omit it for all)")
        hook = hub.registry.add(
            provider,
            tenant,
            url,
            _text(body, "secret") or "",
            sim.clock.now(tenant),
            backup_url=None if backup is None else _url(backup, "backupUrl"),
            events=None if events is None else tuple(events),
        )
        hub.kick()
        return _created(shown(hook))

    @bp.get("")
    def hooks() -> Response:
        provider, tenant = request.args.get("provider"), request.args.get("tenant")
        listed = [
            shown(h)
            for h in hub.registry.all()
            if provider in (None, h.provider) and tenant in (None, h.tenant)
        ]
        return jsonify({"webhooks": listed})

    @bp.delete("/<hook_id>")
    def unregister(hook_id: str) -> Response:
        hook = hub.registry.remove(hook_id)
        if hook is None:
            return _error(404, "not_found", f"no webhook {hook_id}")
        return jsonify({"deleted": 1})

    @bp.post("/<hook_id>/secret")
    def rotate(hook_id: str) -> Response:
        body = _body()
        secret = _text(body, "secret") or ""
        grace = body.get("graceSeconds", ROTATION_GRACE.total_seconds())
        if isinstance(grace, bool) or not isinstance(grace, int | float) or not 0 <= grace:
            raise _Bad("graceSeconds must be a non-negative number (default 86400)")
        current = hub.registry.get(hook_id)
        if current is None:
            return _error(404, "not_found", f"no webhook {hook_id}")
        now = sim.clock.now(current.tenant)
        hook = hub.registry.rotate(hook_id, secret, now, timedelta(seconds=grace))
        if hook is None:
            return _error(404, "not_found", f"no webhook {hook_id}")
        return jsonify(shown(hook))

    @bp.post("/<hook_id>/test")
    def send_test(hook_id: str) -> Response:
        hook = hub.registry.get(hook_id)
        if hook is None:
            return _error(404, "not_found", f"no webhook {hook_id}")
        now = sim.clock.now(hook.tenant)
        event_id = str(uuid.uuid4())
        payload = {
            "id": event_id,
            "type": "mockserver.test",
            "webhook": hook.id,
            "provider": hook.provider,
            "tenant": hook.tenant,
            "created": format_instant(now),
            "data": _body().get("data"),
        }
        hub.emit(Event("mockserver.test", payload), [hook], now, event_id)
        return _created({"event": event_id, "webhook": hook.id})

    @bp.get("/deliveries")
    def deliveries() -> Response:
        found = hub.deliveries()
        for name in ("provider", "tenant", "event", "hook"):
            if (wanted := request.args.get(name)) is not None:
                found = [d for d in found if d.get(name) == wanted]
        return jsonify({"deliveries": found, "pending": hub.pending()})

    @bp.delete("/deliveries")
    def clear_deliveries() -> Response:
        return jsonify({"deleted": hub.clear_deliveries()})

    @bp.get("/faults")
    def faults() -> Response:
        return jsonify({"faults": hub.faults.list()})

    @bp.post("/faults")
    def add_fault() -> Response:
        return _created(hub.faults.add(_body()))

    @bp.delete("/faults")
    def clear_faults() -> Response:
        released = hub.faults.clear()
        hub._queue(released)  # held events go out now
        hub.kick()
        return jsonify({"deleted": True, "released": len(released)})

    @bp.get("/settings")
    def settings() -> Response:
        return jsonify(hub.settings().as_dict())

    @bp.post("/settings")
    def configure() -> Response:
        return jsonify(hub.configure(_body()).as_dict())

    return bp
