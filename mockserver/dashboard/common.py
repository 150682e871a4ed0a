"""What every dashboard page shares: rendering with the nav bar, notices carried across a
redirect, paging, and how a tenant is named (by fingerprint when it is a credential)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import g, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from ..clock import SystemClock
from ..journal import fingerprint
from .auth import PREFIX, safe_next

if TYPE_CHECKING:
    from ..behaviour import ProviderDef
    from ..runtime import Simulation as Simulator

__all__ = [
    "PAGE_SIZE",
    "Pager",
    "back_to",
    "page_number",
    "render",
    "resolve_tenant",
    "tenant_key",
    "tenant_label",
]

PAGE_SIZE = 50
NAV = (
    ("overview", "Overview", ""),
    ("consents", "Consents", "/consents"),
    ("journal", "Journal", "/journal"),
    ("faults", "Faults", "/faults"),
    ("clock", "Clock", "/clock"),
    ("webhooks", "Webhooks", "/webhooks"),
)
_NOTICES = "dashboard-notice"
_NOTICE_LIFE = timedelta(minutes=10)
_WALL = SystemClock()


@dataclass(slots=True, frozen=True)
class Pager:
    """Which rows one page shows, and the links around it."""

    number: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_row(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last_row(self) -> int:
        return min(self.total, self.offset + self.size)

    def link(self, number: int) -> str:
        """This page's URL with another page number."""
        query = [(k, v) for k, v in parse_qsl(request.query_string.decode()) if k != "page"]
        return f"{request.path}?{urlencode([*query, ('page', str(number))])}"


def page_number() -> int:
    """The `page` query parameter: a positive integer; anything else reads as the first."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10**9 else 1


def tenant_key(definition: ProviderDef, tenant: str) -> str:
    """How links and forms name a tenant: a tenant that is a credential (an API key) by its
    fingerprint, as the journal does, so no page shows a credential in clear."""
    return fingerprint(tenant) if definition.secret_tenant else tenant


def tenant_label(sim: Simulator, provider: str, tenant: str | None) -> str:
    if not tenant:
        return ""
    runtime = sim.runtimes.get(provider)
    return tenant if runtime is None else tenant_key(runtime.definition, tenant)


def resolve_tenant(sim: Simulator, provider: str, key: str) -> str | None:
    """The tenant a link names: its name, or its fingerprint for a credential; None when no
    tenant of the provider has that fingerprint."""
    definition = sim.runtimes[provider].definition
    if not definition.secret_tenant or not key.startswith("sha256:"):
        return key
    for tenant in (definition.default_tenant, *sim.store.tenants(provider)):
        if fingerprint(tenant) == key:
            return tenant
    return None


def _notice() -> dict[str, str] | None:
    key = request.args.get("notice")
    if not key:
        return None
    found = _sim().store.take_value(_NOTICES, key, _WALL.now())
    return found if isinstance(found, dict) else None


def _sim() -> Simulator:
    sim: Simulator = g.dashboard_sim
    return sim


def back_to(target: str | None, text: str, *, error: bool = False) -> BaseResponse:
    """POST/redirect/GET: go back to a dashboard page (303), carrying a one-time notice."""
    key = secrets.token_urlsafe(12)
    notice = {"kind": "error" if error else "ok", "text": text}
    # Read on the wall clock, but the store collects expired values by the simulated clocks:
    # an expiry past both keeps a notice for its whole life on the wall clock.
    expires = max(_WALL.now(), _sim().clock.now()) + _NOTICE_LIFE
    _sim().store.put_value(_NOTICES, key, notice, expires)
    parts = urlsplit(safe_next(target))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "notice"] + [("notice", key)]
    return redirect(urlunsplit(("", "", parts.path, urlencode(query), "")), code=303)


def render(template: str, active: str, *, code: int = 200, **context: Any) -> BaseResponse:
    """A dashboard page: the template inside the nav bar, with a CSRF token for its forms."""
    html = render_template(
        f"ui/{template}",
        nav=[(key, label, f"{PREFIX}{path or '/'}") for key, label, path in NAV],
        active=active,
        csrf=g.get("dashboard_csrf", ""),
        here=context.pop("here", None) or request.full_path.rstrip("?"),
        prefix=PREFIX,
        notice=_notice(),
        can_logout=g.get("dashboard_session", "open") not in ("open", "bearer", "anonymous"),
        **context,
    )
    return BaseResponse(html, code, content_type="text/html; charset=utf-8")
