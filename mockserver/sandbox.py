"""The end user's journey under /__sandbox/<provider>/: server-rendered pages, no JavaScript."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, redirect, request
from markupsafe import Markup, escape
from werkzeug.wrappers import Response as BaseResponse

from .behaviour import Context
from .lifecycle import admin_context, find_consent, move_consent
from .runtime import Simulation
from .store import Record

__all__ = ["Kit", "sandbox_blueprint"]

_STYLE = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d9dee7;
        --accent: #2457d6; --bad: #b3261e; --bg: #f5f7fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--ink); background: var(--bg); }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 14px 24px;
         display: flex; justify-content: space-between; align-items: center; }
header .brand { font-weight: 700; letter-spacing: .2px; }
header .tag { font-size: 12px; color: var(--muted); border: 1px solid var(--line);
              border-radius: 999px; padding: 2px 10px; }
main { max-width: 560px; margin: 40px auto; background: #fff; border: 1px solid var(--line);
       border-radius: 12px; padding: 28px 32px; box-shadow: 0 2px 12px rgba(20, 30, 60, .06); }
h1 { font-size: 22px; margin: 0 0 8px; }
p.lead { color: var(--muted); margin: 0 0 20px; }
fieldset { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px;
           margin: 0 0 20px; }
legend { font-weight: 600; padding: 0 6px; }
label.option { display: flex; gap: 10px; align-items: center; padding: 6px 0; cursor: pointer; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 20px; }
dt { color: var(--muted); } dd { margin: 0; word-break: break-all; }
.actions { display: flex; gap: 12px; }
button { font: inherit; border-radius: 8px; padding: 10px 18px; cursor: pointer;
         border: 1px solid var(--accent); }
button.primary { background: var(--accent); color: #fff; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
.notice { border-left: 4px solid var(--bad); background: #fdf2f1; padding: 10px 14px; }
footer { text-align: center; color: var(--muted); font-size: 13px; margin-bottom: 40px; }
"""


class Kit:
    """What a provider's extra pages get (sandbox or admin): routes, pages, the lifecycle."""

    def __init__(self, sim: Simulation, blueprint: Blueprint, provider: str) -> None:
        # Routes land at <blueprint prefix>/<provider><rule>: /__sandbox/p/... or /__admin/p/...
        self.sim = sim
        self.blueprint = blueprint
        self.provider = provider
        self.title = sim.runtimes[provider].definition.title

    def route(self, rule: str, methods: Iterable[str] = ("GET",)) -> Callable[[Any], Any]:
        """Register a view at <prefix>/<provider><rule>."""

        def register(view: Callable[..., Response]) -> Callable[..., Response]:
            self.blueprint.add_url_rule(
                f"/{self.provider}{rule}",
                endpoint=f"{self.provider}_{view.__name__}",
                view_func=view,
                methods=list(methods),
            )
            return view

        return register

    def page(
        self, heading: str, body: Markup | str, status: int = 200, head: Markup | str = ""
    ) -> Response:
        """A complete HTML page in the sandbox's look; `body` must already be escaped markup."""
        html = Markup(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>{title} · {heading}</title>{head}<style>{style}</style></head><body>"
            "<header><span class='brand'>{title}</span><span class='tag'>sandbox</span></header>"
            "<main><h1>{heading}</h1>{body}</main>"
            "<footer>consent-mockserver sandbox · no real bank or accounting system is contacted"
            "</footer></body></html>"
        ).format(
            title=self.title,
            heading=heading,
            head=Markup(head),
            style=Markup(_STYLE),
            body=Markup(body),
        )
        return Response(str(html), status, mimetype="text/html")

    def error_page(self, heading: str, message: str, status: int) -> Response:
        return self.page(heading, Markup("<p class='notice'>{}</p>").format(message), status)

    def context(self, tenant: str) -> Context:
        return admin_context(self.sim, self.provider, tenant, request.host_url.rstrip("/"))

    def find(self, record_id: str) -> Record | None:
        return find_consent(self.sim, self.provider, record_id)

    def move(self, record_id: str, status: str, **options: Any) -> Record | None:
        return move_consent(self.sim, self.provider, record_id, status, **options)

    @staticmethod
    def json_body() -> Any:
        return request.get_json(silent=True)

    @staticmethod
    def form() -> Mapping[str, str]:
        return request.form

    @staticmethod
    def args() -> Mapping[str, str]:
        return request.args

    @staticmethod
    def redirect_to(url: str, params: Mapping[str, str], *, fragment: bool = False) -> BaseResponse:
        """A 303 to the caller's URL with parameters added to its query (or its fragment)."""
        return redirect(with_params(url, params, fragment=fragment), code=303)

    @staticmethod
    def escape(value: object) -> Markup:
        return escape(value)


def with_params(url: str, params: Mapping[str, str], *, fragment: bool = False) -> str:
    parts = urlsplit(url)
    if fragment:
        merged = urlencode([*parse_qsl(parts.fragment), *params.items()])
        return urlunsplit(parts._replace(fragment=merged))
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def sandbox_blueprint(sim: Simulation) -> Blueprint:
    bp = Blueprint("sandbox", __name__, url_prefix="/__sandbox")
    for name, runtime in sim.runtimes.items():
        if runtime.definition.sandbox is not None:
            runtime.definition.sandbox(Kit(sim, bp, name))

    @bp.get("/")
    def index() -> Response:
        kit_title = "consent-mockserver"
        items = Markup("").join(
            Markup("<li><b>{}</b>: <code>/__sandbox/{}/…</code></li>").format(
                rt.definition.title, name
            )
            for name, rt in sim.runtimes.items()
            if rt.definition.sandbox is not None
        )
        html = Markup("<!doctype html><title>{t}</title><h1>{t} sandbox</h1><ul>{i}</ul>").format(
            t=kit_title, i=items
        )
        return Response(str(html), mimetype="text/html")

    return bp
