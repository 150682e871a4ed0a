"""Dashboard pages over the control plane: the journal (and one entry), faults, the clock and
webhooks; their forms call what the /__admin JSON routes call."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from ..clock import format_instant, parse_duration, parse_instant
from ..faults import FaultError
from ..journal import fingerprint
from ..webhooks.registry import shown
from .auth import PREFIX
from .common import PAGE_SIZE, Pager, back_to, page_number, render, tenant_label

if TYPE_CHECKING:
    from ..runtime import Simulation as Simulator

__all__ = ["register_tool_views"]

VERDICTS = ("valid", "invalid", "unmatched")
_SHOWN = frozenset(
    {"id", "requestId", "time", "provider", "operation", "method", "path", "query", "tenant"}
    | {"headers", "body", "status", "durationMs", "violations", "valid", "error", "nearest"}
)
_TENANT_KEYS = 200  # tenants offered by the clock forms' pickers


def verdict(entry: dict[str, Any]) -> str:
    if entry.get("operation") is None:
        return "unmatched"
    return "valid" if entry.get("valid") else "invalid"


def _whole(form: MultiDict[str, str], name: str) -> int | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise FaultError(f"{name} must be a whole number, got {text!r}")
    return int(text)


def fault_spec(form: MultiDict[str, str]) -> dict[str, Any]:
    """The fault a form describes, as POST /__admin/faults takes it (empty fields: any)."""
    spec: dict[str, Any] = {}
    for name in ("provider", "operation", "method", "path", "tenant"):
        if value := form.get(name, "").strip():
            spec[name] = value
    for name in ("status", "delay_ms", "times"):
        if (number := _whole(form, name)) is not None:
            spec[name] = number
    if form.get("drop"):
        spec["drop"] = True
    if body := form.get("body", "").strip():
        try:
            spec["body"] = json.loads(body)
        except ValueError:
            spec["body"] = body  # plain text
    headers: dict[str, str] = {}
    for line in form.get("headers", "").splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise FaultError(f"a header line reads 'Name: value', got {line.strip()!r}")
        headers[name.strip()] = value.strip()
    if headers:
        spec["headers"] = headers
    return spec


def register_tool_views(bp: Blueprint, sim: Simulator) -> None:
    @bp.get("/journal")
    def journal() -> BaseResponse:
        provider = request.args.get("provider") or None
        chosen = request.args.get("verdict") or None
        if chosen is not None and chosen not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
        needle = request.args.get("q", "").strip()
        entries = [
            e
            for e in sim.journal.entries(provider=provider)
            if (chosen is None or verdict(e) == chosen)
            and (not needle or needle in f"{e.get('path')}?{e.get('query')} {e.get('requestId')}")
        ]
        entries.reverse()  # newest first
        pager = Pager(page_number(), PAGE_SIZE, len(entries))
        rows = [
            {**e, "verdict": verdict(e)} for e in entries[pager.offset : pager.offset + pager.size]
        ]
        return render(
            "journal.html",
            "journal",
            title="Journal",
            rows=rows,
            pager=pager,
            providers=list(sim.runtimes),
            provider=provider,
            verdicts=VERDICTS,
            verdict=chosen,
            q=needle,
        )

    @bp.get("/journal/<int:entry_id>")
    def entry(entry_id: int) -> BaseResponse:
        found = [e for e in sim.journal.entries(after=entry_id - 1) if e.get("id") == entry_id]
        if not found:
            abort(404, f"request #{entry_id} is not in the journal (cleared, or out of the ring)")
        shown = found[0]
        extra = {k: v for k, v in shown.items() if k not in _SHOWN}
        return render(
            "entry.html",
            "journal",
            title=f"Request #{entry_id}",
            e=shown,
            verdict=verdict(shown),
            body=json.dumps(shown.get("body"), indent=2, default=str, ensure_ascii=False),
            extra=json.dumps(extra, indent=2, default=str) if extra else "",
        )

    @bp.post("/journal/clear")
    def clear_journal() -> BaseResponse:
        return back_to(f"{PREFIX}/journal", f"Cleared {sim.journal.clear()} requests.")

    @bp.get("/faults")
    def faults() -> BaseResponse:
        operations = {name: sorted(ops) for name, ops in sim.operations().items()}
        return render(
            "faults.html", "faults", title="Faults", faults=sim.faults.list(), operations=operations
        )

    @bp.post("/faults")
    def add_fault() -> BaseResponse:
        try:
            fault = sim.faults.add(fault_spec(request.form), sim.operations())
        except FaultError as exc:
            return back_to(f"{PREFIX}/faults", f"The fault was not added: {exc}", error=True)
        return back_to(f"{PREFIX}/faults", f"Fault {fault.id} added.")

    @bp.post("/faults/<int:fault_id>/remove")
    def remove_fault(fault_id: int) -> BaseResponse:
        if not sim.faults.remove(fault_id):
            return back_to(f"{PREFIX}/faults", f"No fault {fault_id}.", error=True)
        return back_to(f"{PREFIX}/faults", f"Fault {fault_id} removed.")

    @bp.post("/faults/clear")
    def clear_faults() -> BaseResponse:
        return back_to(f"{PREFIX}/faults", f"Removed {sim.faults.remove()} faults.")

    @bp.get("/clock")
    def clock() -> BaseResponse:
        state = sim.clock.describe()
        tenant_clocks = []
        for tenant in state["tenants"]:  # type: ignore[attr-defined]
            own = sim.clock.describe(tenant)
            tenant_clocks.append(
                {"label": _clock_label(sim, tenant), "now": own["now"],
                 "offset": own["tenantOffsetSeconds"]}
            )  # fmt: skip
        keys = sorted(
            {tenant_label(sim, p, t) for p in sim.runtimes for t in sim.store.tenants(p)}
        )[:_TENANT_KEYS]
        return render(
            "clock.html",
            "clock",
            title="Clock",
            clock=state,
            tenant_clocks=tenant_clocks,
            tenant_keys=keys,
        )

    @bp.post("/clock")
    def move_clock() -> BaseResponse:
        try:
            done = _move_clock(sim, request.form)
        except ValueError as exc:  # a bad duration or instant, a move out of range
            return back_to(f"{PREFIX}/clock", f"The clock was not changed: {exc}", error=True)
        return back_to(f"{PREFIX}/clock", done)

    @bp.get("/webhooks")
    def webhooks() -> BaseResponse:
        hub = current_app.extensions.get("mockserver.webhooks")
        if hub is None:
            return render("webhooks.html", "webhooks", title="Webhooks", installed=False)

        hooks = [
            {**shown(h), "tenant": tenant_label(sim, h.provider, h.tenant)}
            for h in hub.registry.all()
        ]
        deliveries = list(reversed(hub.deliveries()))
        pager = Pager(page_number(), PAGE_SIZE, len(deliveries))
        rows = [
            {**d, "tenant": tenant_label(sim, d.get("provider", ""), d.get("tenant")),
             "sent": _sent(d.get("sentAt"))}
            for d in deliveries[pager.offset : pager.offset + pager.size]
        ]  # fmt: skip
        return render(
            "webhooks.html",
            "webhooks",
            title="Webhooks",
            installed=True,
            hooks=hooks,
            pending=hub.pending(),
            deliveries=rows,
            pager=pager,
        )


def _sent(stamp: Any) -> str:
    """A delivery's wall-clock time (deliveries happen in real time)."""
    if not isinstance(stamp, int | float):
        return ""
    return format_instant(datetime.fromtimestamp(stamp, tz=UTC))


def _clock_label(sim: Simulator, tenant: str) -> str:
    """A tenant with its own clock, named as its provider's pages name it."""
    for name, runtime in sim.runtimes.items():
        if runtime.definition.secret_tenant and tenant in sim.store.tenants(name):
            return fingerprint(tenant)
    return tenant


def _clock_tenant(sim: Simulator, text: str) -> str | None:
    """The tenant a clock form names: blank for the global clock, a name, or a fingerprint."""
    text = text.strip()
    if not text:
        return None
    if not text.startswith("sha256:"):
        return text
    for name in sim.runtimes:
        for tenant in sim.store.tenants(name):
            if fingerprint(tenant) == text:
                return tenant
    raise ValueError(f"no tenant has the fingerprint {text}")


def _move_clock(sim: Simulator, form: MultiDict[str, str]) -> str:
    """Do what a clock form asks, as POST /__admin/clock does; say what was done."""
    action = form.get("action", "")
    tenant = _clock_tenant(sim, form.get("tenant", ""))
    whose = "the global clock" if tenant is None else f"tenant {form.get('tenant', '').strip()}"
    if action == "advance":
        now = sim.clock.advance(parse_duration(form.get("duration", "")), tenant)
    elif action == "set":
        text = form.get("instant", "")
        try:
            instant = parse_instant(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an RFC 3339 instant") from None
        now = sim.clock.set(instant, freeze=bool(form.get("freeze")), tenant=tenant)
    elif action in ("freeze", "unfreeze"):
        now, whose = sim.clock.set(sim.clock.now(), freeze=action == "freeze"), "the global clock"
    elif action == "reset":
        sim.clock.reset()
        return "The clock follows the wall clock again, for every tenant."
    else:
        raise ValueError("say what to do: advance, set, freeze, unfreeze or reset")
    return f"Now {format_instant(now)} on {whose}."
