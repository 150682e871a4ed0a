"""Dashboard pages over the store: the overview, a provider's tenants, a tenant's consents by
status (paged from the store's index) and one consent, with its lifecycle actions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Blueprint, abort, request
from werkzeug.wrappers import Response as BaseResponse

from ..lifecycle import TransitionRefused, admin_context, find_consent, move_consent
from ..store import Window
from .auth import PREFIX
from .common import PAGE_SIZE, Pager, back_to, page_number, render, resolve_tenant, tenant_key

if TYPE_CHECKING:
    from ..behaviour import ProviderDef
    from ..runtime import Simulation as Simulator
    from ..store import Record

__all__ = ["register_consent_views"]

_SUMMARY = 160  # characters of a consent's JSON shown in its row
_TENANT_OPTIONS = 200  # tenants offered in the picker; the tenants page pages through all


def actions(definition: ProviderDef, status: str) -> list[tuple[str, str]]:
    """The provider's allowed transitions from `status`, each with what it is to a person."""
    kinds = {definition.approved: "approve", definition.rejected: "reject"}
    allowed = definition.transitions.get(status, ())
    return [(target, kinds.get(target, "move")) for target in allowed]


def _row(definition: ProviderDef, record: Record) -> dict[str, Any]:
    status = definition.status_of(record.data)
    text = json.dumps(definition.render(record.data), default=str, ensure_ascii=False)
    return {
        "id": record.id,
        "status": status,
        "version": record.version,
        "summary": text if len(text) <= _SUMMARY else text[: _SUMMARY - 1] + "…",
        "actions": actions(definition, status),
    }


def _provider(sim: Simulator, name: str | None) -> str:
    provider = name or next(iter(sim.runtimes))
    if provider not in sim.runtimes:
        raise ValueError(f"unknown provider {provider!r}; served: {', '.join(sim.runtimes)}")
    return provider


def _default_tenant(definition: ProviderDef, tenants: dict[str, int]) -> str:
    """The sandbox's default tenant if it holds consents, else the first that does."""
    if definition.default_tenant in tenants or not tenants:
        return definition.default_tenant
    return next(iter(tenants))


def register_consent_views(bp: Blueprint, sim: Simulator) -> None:
    @bp.get("/")
    def overview() -> BaseResponse:
        providers = []
        for name, runtime in sim.runtimes.items():
            definition = runtime.definition
            tenants = sim.store.tenants(name)
            providers.append(
                {
                    "name": name,
                    "title": definition.title,
                    "statuses": definition.statuses,
                    "tenant_count": len(tenants),
                    "consents": sum(tenants.values()),
                    "default_key": tenant_key(definition, definition.default_tenant),
                }
            )
        return render(
            "overview.html",
            "overview",
            title="Overview",
            providers=providers,
            store_kind=type(sim.store).__name__,
            consent_total=sim.store.count(),
            clock=sim.clock.describe(),
            journal_size=len(sim.journal),
            journal_capacity=sim.journal.capacity,
            fault_count=len(sim.faults.list()),
            strict=sim.strict,
            token_required=sim.admin_token is not None,
        )

    @bp.get("/tenants")
    def tenants() -> BaseResponse:
        provider = _provider(sim, request.args.get("provider"))
        definition = sim.runtimes[provider].definition
        held = list(sim.store.tenants(provider).items())
        pager = Pager(page_number(), PAGE_SIZE, len(held))
        rows = [
            (tenant_key(definition, tenant), count)
            for tenant, count in held[pager.offset : pager.offset + pager.size]
        ]
        return render(
            "tenants.html",
            "consents",
            title=f"{definition.title} tenants",
            provider=provider,
            providers=list(sim.runtimes),
            definition=definition,
            rows=rows,
            pager=pager,
        )

    @bp.get("/consents")
    def consents() -> BaseResponse:
        provider = _provider(sim, request.args.get("provider"))
        definition = sim.runtimes[provider].definition
        held = sim.store.tenants(provider)
        key = request.args.get("tenant") or tenant_key(
            definition, _default_tenant(definition, held)
        )
        tenant = resolve_tenant(sim, provider, key)
        if tenant is not None:
            key = tenant_key(definition, tenant)  # a key typed in clear is shown as others are
        status = request.args.get("status") or None
        if status is not None and status not in definition.statuses:
            raise ValueError(
                f"{status!r} is not a {provider} status; known: {', '.join(definition.statuses)}"
            )
        counts = dict.fromkeys(definition.statuses, 0)
        records: list[Record] = []
        pager = Pager(page_number(), PAGE_SIZE, 0)
        if tenant is not None:
            # Bring what the clock has changed up to date first, as the provider's own list
            # does: only the records whose deadline has come are read.
            admin_context(sim, provider, tenant).settle_due()
            for s in counts:
                counts[s] = sim.store.page(provider, tenant, Window(s, limit=0))[1]
            total = counts[status] if status else sum(counts.values())
            pager = Pager(page_number(), PAGE_SIZE, total)
            shown = Window(status, offset=pager.offset, limit=pager.size)
            records = sim.store.page(provider, tenant, shown)[0]
        options = [(tenant_key(definition, t), n) for t, n in list(held.items())[:_TENANT_OPTIONS]]
        base = f"{PREFIX}/consents?{urlencode({'provider': provider, 'tenant': key})}"
        # Where the forms come back to, naming the tenant as the links do.
        extra = {"status": status or "", "page": pager.number if pager.number > 1 else ""}
        here = base + "".join(f"&{urlencode({k: v})}" for k, v in extra.items() if v)
        return render(
            "consents.html",
            "consents",
            title=f"{definition.title} consents",
            provider=provider,
            providers=[(n, rt.definition.title) for n, rt in sim.runtimes.items()],
            definition=definition,
            tenant_key=key,
            unknown_tenant=tenant is None,
            tenant_options=options,
            tenant_count=len(held),
            base=base,
            here=here,
            counts=list(counts.items()),
            all_count=sum(counts.values()),
            status=status,
            rows=[_row(definition, r) for r in records],
            pager=pager,
        )

    @bp.get("/consents/<provider>/<record_id>")
    def consent(provider: str, record_id: str) -> BaseResponse:
        if provider not in sim.runtimes:
            abort(404, f"no provider {provider!r}; served: {', '.join(sim.runtimes)}")
        record = find_consent(sim, provider, record_id)
        if record is None:
            abort(404, f"no {provider} consent {record_id} (it may have been purged)")
        definition = sim.runtimes[provider].definition
        status = definition.status_of(record.data)
        key = tenant_key(definition, record.tenant)
        return render(
            "consent.html",
            "consents",
            title=f"Consent {record_id}",
            provider=provider,
            definition=definition,
            record=record,
            status=status,
            tenant_key=key,
            actions=actions(definition, status),
            shown=json.dumps(definition.render(record.data), indent=2, default=str),
            list_url=f"{PREFIX}/consents?{urlencode({'provider': provider, 'tenant': key})}",
        )

    @bp.post("/consents/<provider>/<record_id>/status")
    def move(provider: str, record_id: str) -> BaseResponse:
        """The admin API's POST /__admin/<provider>/consents/<id>/status, from a button."""
        back = request.form.get("back")
        if provider not in sim.runtimes:
            return back_to(back, f"unknown provider {provider!r}", error=True)
        wanted = request.form.get("status", "")
        try:
            record = move_consent(sim, provider, record_id, wanted)
        except (TransitionRefused, ValueError) as refused:
            return back_to(back, f"Consent {record_id} was not moved: {refused}", error=True)
        if record is None:
            return back_to(back, f"No {provider} consent {record_id}.", error=True)
        status = sim.runtimes[provider].definition.status_of(record.data)
        return back_to(back, f"Consent {record_id} is now {status}.")
