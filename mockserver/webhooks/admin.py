"""The control plane of webhooks, under /__admin/webhooks: hooks, test events, deliveries,
delivery faults and the sender's retry settings."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter

from ..adminguard import guard, json_object
from ..clock import format_instant
from .faults import WebhookFaultError
from .model import Event
from .registry import ROTATION_GRACE, shown

if TYPE_CHECKING:
    from ..runtime import Simulation as Simulator
    from .hub import Hub

__all__ = ["GRACE_MAX_SECONDS", "URL_PATTERN", "webhooks_blueprint"]

# An absolute http(s) URL with a host, no whitespace (urlsplit would silently strip some of it).
# admin-openapi.yaml's WebhookUrl has the same pattern (tests/test_openapi.py compares them).
# Whitespace is spelt out, not `\s`: Python's `\s` holds \x1c-\x1f and \x85, ECMA-262's (the
# document's dialect, which generated clients use) \ufeff, so a URL one accepted the other refused.
_SPACE = r"\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
URL_PATTERN = (
    rf"^[hH][tT][tT][pP][sS]?://(?:[^{_SPACE}/?#@]*@)?(?:\[[0-9A-Fa-f:.]+\]|[^{_SPACE}/?#@:\[\]]+)"
    rf"(?::[0-9]*)?(?:[/?#][^{_SPACE}]*)?$"
)
_URL = re.compile(URL_PATTERN)
GRACE_MAX_SECONDS = 10 * 366 * 86400  # ten years of simulated time: within the clock's range


class _Bad(ValueError):
    pass


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def _body(*allowed: str) -> dict[str, Any]:
    body = json_object()  # as the rest of /__admin: bounded depth, no NaN, any content type
    unknown = set(body) - set(allowed)
    if unknown:
        raise _Bad(f"unknown fields: {', '.join(sorted(unknown))}; allowed: {', '.join(allowed)}")
    return body


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _Bad(f"{name!r} is required and must be a non-empty string")
    return value


def _url(value: str, name: str) -> str:
    parts = urlsplit(value) if _URL.fullmatch(value) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Bad(f"{name} must be an absolute http(s) URL, got {value!r}")
    return value


def _created(payload: Any) -> Response:
    response = jsonify(payload)
    response.status_code = 201
    return response


class _HookId(BaseConverter):
    """A webhook id: any segment but the names of the collections beside the hooks, so that
    `DELETE /__admin/webhooks/settings` is a 405 rather than "no webhook settings"."""

    regex = r"(?!(?:deliveries|faults|settings)$)[^/]+"


def webhooks_blueprint(sim: Simulator, hub: Hub) -> Blueprint:
    bp = Blueprint("webhooks", __name__, url_prefix="/__admin/webhooks")

    @bp.record_once
    def _converter(state: BlueprintSetupState) -> None:
        state.app.url_map.converters["hook_id"] = _HookId

    guard(bp)  # the token, header size and query checks of the rest of /__admin

    @bp.errorhandler(_Bad)
    @bp.errorhandler(ValueError)
    def _bad(exc: ValueError) -> Response:
        return _error(400, "bad_request", str(exc))

    @bp.errorhandler(WebhookFaultError)
    def _bad_fault(exc: WebhookFaultError) -> Response:
        return _error(400, "bad_fault", str(exc))

    @bp.post("")
    def register() -> Response:
        body = _body("provider", "tenant", "url", "secret", "backupUrl", "events")
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

    @bp.delete("/<hook_id:hook_id>")
    def unregister(hook_id: str) -> Response:
        hook = hub.registry.remove(hook_id)
        if hook is None:
            return _error(404, "not_found", f"no webhook {hook_id}")
        return jsonify({"deleted": 1})

    @bp.post("/<hook_id:hook_id>/secret")
    def rotate(hook_id: str) -> Response:
        body = _body("secret", "graceSeconds")
        secret = _text(body, "secret") or ""
        grace = body.get("graceSeconds", ROTATION_GRACE.total_seconds())
        number = isinstance(grace, int | float) and not isinstance(grace, bool)
        if not number or not 0 <= grace <= GRACE_MAX_SECONDS:
            raise _Bad(
                f"graceSeconds must be a number from 0 to {GRACE_MAX_SECONDS} (default 86400)"
            )
        current = hub.registry.get(hook_id)
        if current is None:
            return _error(404, "not_found", f"no webhook {hook_id}")
        now = sim.clock.now(current.tenant)
        hook = hub.registry.rotate(hook_id, secret, now, timedelta(seconds=grace))
        if hook is None:
            return _error(404, "not_found", f"no webhook {hook_id}")
        return jsonify(shown(hook))

    @bp.post("/<hook_id:hook_id>/test")
    def send_test(hook_id: str) -> Response:
        data = _body("data").get("data")
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
            "data": data,
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
        return _created(hub.faults.add(json_object()))

    @bp.delete("/faults")
    def clear_faults() -> Response:
        removed, released = hub.faults.clear()
        hub._queue(released)  # held events go out now
        hub.kick()
        return jsonify({"deleted": removed, "released": len(released)})

    @bp.get("/settings")
    def settings() -> Response:
        return jsonify(hub.settings().as_dict())

    @bp.post("/settings")
    def configure() -> Response:
        return jsonify(hub.configure(json_object()).as_dict())

    return bp
