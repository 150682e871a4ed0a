"""Who may use the dashboard: a login cookie (or the admin Bearer token), and CSRF checks on
every form that changes state."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Request

from ..clock import SystemClock

if TYPE_CHECKING:
    from ..runtime import Simulation as Simulator

__all__ = ["COOKIE", "PREFIX", "SESSION", "Gate", "safe_next"]

PREFIX = "/__admin/ui"
COOKIE = "mockserver_ui"
SESSION = timedelta(hours=12)
_WALL = SystemClock()  # a login's age is real time, whatever the simulated clock says
_SECRET = ("dashboard", "csrf-secret")  # the store value that keys CSRF tokens without a token


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def safe_next(target: str | None) -> str:
    """Where a login or a form may send the browser back to: a path under the dashboard only
    (never another site, nor another part of the server)."""
    if not target:
        return f"{PREFIX}/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//") or "\\" in target:
        return f"{PREFIX}/"
    if parts.path != PREFIX and not parts.path.startswith(f"{PREFIX}/"):
        return f"{PREFIX}/"
    return target


class Gate:
    """The dashboard's authentication and CSRF rules.

    With an admin token configured, a browser logs in once with it and gets an HttpOnly,
    SameSite=Strict cookie scoped to /__admin/ui holding a login time and an HMAC of it keyed
    by the token: the token itself never leaves the login form, the cookie is good for 12
    hours, and changing the token logs every browser out. A client that sends
    `Authorization: Bearer <token>` (as the rest of /__admin takes) needs no cookie. Without
    a token (the loopback default) every page is open, as the rest of /__admin is.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    @property
    def required(self) -> bool:
        return self.sim.admin_token is not None

    def _token(self) -> bytes:
        return (self.sim.admin_token or "").encode()

    def token_matches(self, offered: str) -> bool:
        return self.required and hmac.compare_digest(offered.strip().encode(), self._token())

    def new_cookie(self) -> str:
        issued = str(int(_WALL.now().timestamp()))
        return f"{issued}.{_mac(self._token(), f'session|{issued}')}"

    def session(self, request: Request) -> str | None:
        """The caller's session name, or None when it must log in first."""
        if not self.required:
            return "open"
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token_matches(token):
            return "bearer"
        cookie = request.cookies.get(COOKIE, "")
        issued, _, mac = cookie.partition(".")
        if not issued.isdigit() or not hmac.compare_digest(
            mac.encode(), _mac(self._token(), f"session|{issued}").encode()
        ):
            return None
        age = _WALL.now().timestamp() - int(issued)
        return cookie if -60 <= age <= SESSION.total_seconds() else None

    def _csrf_key(self) -> bytes:
        if self.required:
            return self._token()
        # No token to key it with: a random secret kept in the store, so every worker process
        # (and every server sharing the store) makes and accepts the same tokens.
        store, now = self.sim.store, _WALL.now()
        value = store.get_value(*_SECRET, now)
        if not isinstance(value, str):
            value = store.claim_value(*_SECRET, secrets.token_hex(32), now)
        return str(value).encode()

    def csrf_token(self, session: str) -> str:
        return _mac(self._csrf_key(), f"csrf|{session}")

    def cross_site(self, request: Request) -> bool:
        """A request another site made the browser send: its Origin names another host, or
        the browser says so (Sec-Fetch-Site). Checked on every POST, the login's included."""
        origin = request.headers.get("Origin")
        if origin is not None and (origin == "null" or urlsplit(origin).netloc != request.host):
            return True
        return request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")

    def form_refused(self, request: Request, session: str) -> str | None:
        """Why a state-changing form must be refused (None: it may proceed)."""
        if self.cross_site(request):
            return "a form posted from another site was refused"
        offered = request.form.get("csrf", "")
        if not hmac.compare_digest(offered.encode(), self.csrf_token(session).encode()):
            return "the form is stale or forged (no valid CSRF token); reload the page and retry"
        return None
