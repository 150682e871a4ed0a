"""Publish the served contracts: each provider's spec, and the admin API's own OpenAPI document."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Flask, Response, request
from werkzeug.wrappers import Response as BaseResponse

from .clock import EARLIEST, LATEST
from .runtime import ProviderRuntime, Simulation
from .spec import read_yaml

__all__ = [
    "ADMIN_SPEC",
    "FORMATS",
    "admin_document",
    "admin_query_names",
    "provider_document",
    "publish_admin",
    "publish_specs",
    "shadowed",
]

ADMIN_SPEC = Path(__file__).with_name("admin-openapi.yaml")
# File name under a mount → (format, media type). YAML's media type is RFC 9512's.
FORMATS: dict[str, tuple[str, str]] = {
    "openapi.json": ("json", "application/json"),
    "openapi.yaml": ("yaml", "application/yaml"),
}
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _PlainDumper(_DUMPER):  # type: ignore[misc]
    """No `&id001` anchors for a mapping used twice: readers expect the document as written."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _json_default(value: Any) -> Any:
    if isinstance(value, date):  # an unquoted date in a YAML example: JSON has only strings
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(document: Any, fmt: str) -> bytes:
    if fmt == "json":
        text = json.dumps(document, indent=2, ensure_ascii=False, default=_json_default)
        return (text + "\n").encode()
    dumped: str = yaml.dump(
        document, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=100
    )
    return dumped.encode()


class _Rendered:
    """Encoded documents by (what, base URL, format). The base URL comes from the client's Host
    header, so the memo is bounded; the documents themselves never change while serving."""

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self.lock = threading.Lock()
        self.memo: dict[tuple[str, str, str], bytes] = {}

    def get(self, key: tuple[str, str, str], build: Callable[[], Any]) -> bytes:
        found = self.memo.get(key)
        if found is None:
            found = encode(build(), key[2])
            with self.lock:
                if len(self.memo) >= self.limit:
                    self.memo.clear()
                self.memo[key] = found
        return found


def base_url() -> str:
    """The URL root the client used (scheme, Host, and any SCRIPT_NAME), without a slash.

    X-Forwarded-* headers are not trusted by default (any client could send them); behind a
    proxy, wrap the app in werkzeug's ProxyFix, which rewrites the environ this reads."""
    return request.root_url.rstrip("/")


def answer(body: bytes, media_type: str) -> BaseResponse:
    """The document with a strong ETag; If-None-Match that matches → 304; HEAD has no body."""
    response = Response(body, mimetype=media_type)
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.headers["Cache-Control"] = "no-cache"  # revalidate: cheap, and a 304 when unchanged
    return response.make_conditional(request)


# -- the providers' specs --------------------------------------------------------------------------
def provider_document(runtime: ProviderRuntime, root: str) -> dict[str, Any]:
    """The spec as written ($refs and components kept), its `servers` this simulator's mount."""
    server = {
        "url": f"{root}/{runtime.name}",
        "description": f"consent-mockserver simulating {runtime.definition.title}",
    }
    source = runtime.spec.source
    document: dict[str, Any] = {}
    for key, value in source.items():
        document[key] = [server] if key == "servers" else value
        if key == "info" and "servers" not in source:
            document["servers"] = [server]
    document.setdefault("servers", [server])
    return document


def shadowed(runtime: ProviderRuntime, filename: str) -> bool:
    """True when one of the provider's own GET operations answers at /<filename>: the
    simulator's first job is to be the provider, so that operation keeps the path."""
    path = f"/{filename}"
    return any(
        op.method in ("GET", "HEAD") and op.path_regex.match(path)
        for op in runtime.spec.operations.values()
    )


def publish_specs(app: Flask, sim: Simulation) -> None:
    """GET /<provider>/openapi.json and .yaml for every served provider (unless shadowed)."""
    rendered = _Rendered()
    for name, runtime in sim.runtimes.items():
        for filename, (fmt, media_type) in FORMATS.items():
            if shadowed(runtime, filename):
                continue
            app.add_url_rule(
                f"/{name}/{filename}",
                endpoint=f"published.{name}.{fmt}",
                view_func=_spec_view(rendered, runtime, fmt, media_type),
                methods=["GET"],
            )


def _spec_view(
    rendered: _Rendered, runtime: ProviderRuntime, fmt: str, media_type: str
) -> Callable[[], BaseResponse]:
    def view() -> BaseResponse:
        root = base_url()
        body = rendered.get((runtime.name, root, fmt), lambda: provider_document(runtime, root))
        return answer(body, media_type)

    view.__name__ = f"published_{runtime.name}_{fmt}"
    return view


# -- the admin API's own document ----------------------------------------------------------------
def admin_document(sim: Simulation, root: str) -> dict[str, Any]:
    """mockserver/admin-openapi.yaml for this server: its URL, the providers it serves (the
    `provider` enums: path parameter, fault, fixture, webhook registration), their own admin
    routes, and the admin token if it has one."""
    document: dict[str, Any] = copy.deepcopy(read_yaml(ADMIN_SPEC))
    document["servers"] = [{"url": root, "description": "this consent-mockserver"}]
    components = document["components"]
    served = list(sim.runtimes)
    components["parameters"]["provider"]["schema"]["enum"] = served
    fault = components["schemas"]["FaultRequest"]["properties"]
    fault["provider"]["enum"] = [*served, None]  # null: any provider
    fault["operation"]["enum"] = [
        *sorted({op for ops in sim.operations().values() for op in ops}),
        None,
    ]
    components["schemas"]["FixtureDocument"]["properties"]["provider"]["enum"] = served
    register = document["paths"]["/__admin/webhooks"]["post"]["requestBody"]
    register["content"]["application/json"]["schema"]["properties"]["provider"]["enum"] = served
    move_clock = document["paths"]["/__admin/clock"]["post"]
    move_clock["description"] = (
        move_clock["description"]
        .replace("EARLIEST", f"{EARLIEST:%Y-%m-%d}")
        .replace("LATEST", f"{LATEST:%Y-%m-%d}")
    )
    paths: dict[str, Any] = document["paths"]
    for name, runtime in sim.runtimes.items():
        for rule, item in (runtime.definition.admin_paths or {}).items():
            paths[f"/__admin/{name}{rule}"] = copy.deepcopy(dict(item))
    if sim.admin_token is None:
        document.pop("security", None)
    for item in paths.values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            # Any admin request: an unknown query parameter is refused (control.py's guard).
            responses.setdefault("400", {"$ref": "#/components/responses/BadRequest"})
            if sim.admin_token is not None:
                responses.setdefault("401", {"$ref": "#/components/responses/Unauthorized"})
    return document


def admin_query_names(sim: Simulation) -> Callable[[str, str], frozenset[str] | None]:
    """For a method and an admin path, the query parameters the admin document declares there
    (None: no documented operation), so the control plane refuses a misspelt filter rather
    than ignoring it and answering everything."""
    document = admin_document(sim, "")
    table: list[tuple[re.Pattern[str], str, frozenset[str]]] = []
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        pattern = re.compile(re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(path)))
        for method, operation in item.items():
            if method == "parameters":
                continue
            names = frozenset(
                p["name"]
                for p in (*shared, *operation.get("parameters", []))
                for p in [_deref(document, p)]
                if p.get("in") == "query"
            )
            table.append((pattern, method.upper(), names))
    # Literal paths first: /__admin/requests/unmatched before a templated path it also matches.
    table.sort(key=lambda row: row[0].pattern.count("[^/]+"))

    def names_for(method: str, path: str) -> frozenset[str] | None:
        wanted = "GET" if method == "HEAD" else method
        for pattern, verb, names in table:
            if verb == wanted and pattern.fullmatch(path):
                return names
        return None

    return names_for


def _deref(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return dict(target)


def publish_admin(bp: Blueprint, sim: Simulation, check_provider: Callable[[str], None]) -> None:
    """On the admin blueprint (so behind its token): /openapi.json|yaml for the admin API, and
    /<provider>/openapi.json|yaml, each provider's spec even when an operation shadows its own."""
    rendered = _Rendered()

    def admin_view(fmt: str, media_type: str) -> Callable[[], BaseResponse]:
        def view() -> BaseResponse:
            root = base_url()
            body = rendered.get(("__admin", root, fmt), lambda: admin_document(sim, root))
            return answer(body, media_type)

        view.__name__ = f"admin_openapi_{fmt}"
        return view

    def provider_view(fmt: str, media_type: str) -> Callable[[str], BaseResponse]:
        def view(provider: str) -> BaseResponse:
            check_provider(provider)
            runtime = sim.runtimes[provider]
            root = base_url()
            body = rendered.get((provider, root, fmt), lambda: provider_document(runtime, root))
            return answer(body, media_type)

        view.__name__ = f"admin_provider_openapi_{fmt}"
        return view

    for filename, (fmt, media_type) in FORMATS.items():
        bp.add_url_rule(f"/{filename}", view_func=admin_view(fmt, media_type), methods=["GET"])
        bp.add_url_rule(
            f"/<provider>/{filename}", view_func=provider_view(fmt, media_type), methods=["GET"]
        )
