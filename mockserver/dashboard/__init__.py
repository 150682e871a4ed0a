"""The dashboard at /__admin/ui: server-rendered pages over the simulator's state (providers,
tenants, consents and their lifecycle, journal, faults, clock, webhooks), no JavaScript."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from flask import Blueprint, g, redirect, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from .auth import COOKIE, PREFIX, SESSION, Gate, safe_next
from .common import render
from .consents import register_consent_views
from .tools import register_tool_views

if TYPE_CHECKING:
    from ..runtime import Simulation as Simulator

__all__ = ["PREFIX", "dashboard_blueprint"]

# No script may run, no other site may frame a page (clickjacking a lifecycle button) or take
# a form's target; styles are inline in the page.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_OPEN = frozenset({"dashboard.login_form", "dashboard.login"})


def dashboard_blueprint(sim: Simulator) -> Blueprint:
    """The dashboard's pages, each behind the admin token when one is configured."""
    bp = Blueprint("dashboard", __name__, url_prefix=PREFIX, template_folder="templates")
    gate = Gate(sim)

    @bp.before_request
    def _guard() -> BaseResponse | None:
        g.dashboard_sim = sim
        session = gate.session(request)
        g.dashboard_session = session or "anonymous"
        g.dashboard_csrf = gate.csrf_token(session) if session else ""
        if session is None and request.endpoint not in _OPEN:
            if request.method in ("GET", "HEAD"):
                return redirect(
                    f"{PREFIX}/login?next={quote(request.full_path.rstrip('?'))}", code=303
                )
            return _problem(401, "Log in first", "This form needs a login: reload the page.")
        if session is not None and request.method == "POST" and request.endpoint not in _OPEN:
            refused = gate.form_refused(request, session)
            if refused:
                return _problem(403, "Form refused", refused)
        return None

    @bp.after_request
    def _secure(response: BaseResponse) -> BaseResponse:
        response.headers.update(_HEADERS)
        return response

    def _http(exc: HTTPException) -> BaseResponse:
        return _problem(exc.code or 500, exc.name, exc.description or exc.name)

    # By code as well: the app's own 404 and 405 handlers (JSON) would otherwise come first.
    for code in (404, 405):
        bp.register_error_handler(code, _http)
    bp.register_error_handler(HTTPException, _http)

    @bp.errorhandler(ValueError)
    def _bad(exc: ValueError) -> BaseResponse:
        return _problem(400, "Bad request", str(exc))

    @bp.get("/login")
    def login_form() -> BaseResponse:
        if not gate.required or g.dashboard_session != "anonymous":
            return redirect(safe_next(request.args.get("next")), code=303)
        return _login_page(request.args.get("next", ""), None, 200)

    @bp.post("/login")
    def login() -> BaseResponse:
        target = safe_next(request.form.get("next"))
        if not gate.required:
            return redirect(target, code=303)
        if gate.cross_site(request):
            return _problem(403, "Form refused", "a form posted from another site was refused")
        if not gate.token_matches(request.form.get("token", "")):
            return _login_page(target, "That is not the admin token.", 401)
        response = redirect(target, code=303)
        response.set_cookie(
            COOKIE,
            gate.new_cookie(),
            max_age=int(SESSION.total_seconds()),
            path=PREFIX,
            secure=request.is_secure,
            httponly=True,
            samesite="Strict",
        )
        return response

    @bp.post("/logout")
    def logout() -> BaseResponse:
        response = redirect(f"{PREFIX}/login", code=303)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="Strict")
        return response

    register_consent_views(bp, sim)
    register_tool_views(bp, sim)
    return bp


def _login_page(target: str, error: str | None, status: int) -> BaseResponse:
    html = render_template(
        "ui/login.html",
        title="Log in",
        bare=True,
        prefix=PREFIX,
        next=target,
        error=error,
        notice=None,
    )
    return BaseResponse(html, status, content_type="text/html; charset=utf-8")


def _problem(status: int, title: str, message: str) -> BaseResponse:
    return render("error.html", "", code=status, title=title, message=message)
