"""The end user's journey under /__sandbox/<provider>/: server-rendered pages, no JavaScript."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from .behaviour import Context
from .kit import Pages, Site, with_params
from .lifecycle import admin_context, find_consent, move_consent
from .runtime import Simulation
from .store import Record

__all__ = ["Kit", "sandbox_blueprint"]


class Kit:
    """The `kit.Site` a provider's extra pages and routes get (sandbox or admin): routes under
    the provider's prefix, the request's inputs, the consents through the lifecycle, answers."""

    def __init__(self, sim: Simulation, blueprint: Blueprint, provider: str) -> None:
        # Routes land at <blueprint prefix>/<provider><rule>: /__sandbox/p/... or /__admin/p/...
        self._sim = sim
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

    def context(self, tenant: str) -> Context:
        return admin_context(self._sim, self.provider, tenant, request.host_url.rstrip("/"))

    def find(self, record_id: str) -> Record | None:
        return find_consent(self._sim, self.provider, record_id)

    def move(self, record_id: str, status: str, **options: Any) -> Record | None:
        return move_consent(self._sim, self.provider, record_id, status, **options)

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
    def html(text: str, status: int = 200) -> Response:
        return Response(text, status, mimetype="text/html")

    @staticmethod
    def json(body: Any, status: int = 200) -> Response:
        response = jsonify(body)
        response.status_code = status
        return response

    @staticmethod
    def redirect_to(url: str, params: Mapping[str, str]) -> BaseResponse:
        """A 303 to the caller's URL with parameters added to its query."""
        return redirect(with_params(url, params), code=303)


def sandbox_blueprint(sim: Simulation) -> Blueprint:
    bp = Blueprint("sandbox", __name__, url_prefix="/__sandbox")
    for name, runtime in sim.runtimes.items():
        if runtime.definition.sandbox is not None:
            runtime.definition.sandbox(Kit(sim, bp, name))
    page = Pages().env.get_template("kit/index.html")

    @bp.get("/")
    def index() -> Response:
        served = [
            (name, rt.definition.title)
            for name, rt in sim.runtimes.items()
            if rt.definition.sandbox is not None
        ]
        return Response(page.render(providers=served), mimetype="text/html")

    return bp


_SITE: type[Site] = Kit  # Kit is a kit.Site (checked by mypy)
