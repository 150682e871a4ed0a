"""A provider's own admin routes declared once: the view, its document entry, its input checks."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from .admin_doc import admin_operation
from .dialect import status_name
from .fields import body_problem
from .journey import Site
from .pages import PageRefused

__all__ = ["AdminRoutes", "admin_body"]

JsonDict = dict[str, Any]
View = Callable[..., Any]


def _value_problem(name: str, schema: JsonDict, value: Any) -> str | None:
    """What is wrong with one field's value against its (flat) schema, in words."""
    if "enum" in schema and value not in schema["enum"]:
        return f"{name} must be one of: {', '.join(map(str, schema['enum']))}"
    if schema.get("type") == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{name} must be an integer from {low} to {high}"
        if (low is not None and value < low) or (high is not None and value > high):
            return f"{name} must be an integer from {low} to {high}"
    return None


def admin_body(body: Any, schema: JsonDict, tenant: str) -> JsonDict:
    """The JSON object an admin route is given, checked against the object schema it declares
    (`json_object`): a JSON object, no field it does not name, a `tenant` (`tenant` says what
    it names), then each required or given field's value; else a ValueError (the admin 400)."""
    properties: Mapping[str, JsonDict] = schema["properties"]
    if not isinstance(body, dict):
        raise ValueError(f"the body must be a JSON object {{{', '.join(properties)}}}")
    problem = body_problem(body, properties, tenant)
    required = schema.get("required", ())
    for name, field in properties.items():
        if problem is None and name != "tenant" and (name in body or name in required):
            problem = _value_problem(name, field, body.get(name))
    if problem is not None:
        raise ValueError(problem)
    return body


class AdminRoutes:
    """Routes under /__admin/<provider>: each declared once with `route`, which gives the
    admin API's document its entry (`paths`, the provider's `admin_paths`) and `mount` (the
    provider's `admin`) the view, called with the site, the checked JSON body when the route
    declares one (`admin_body`) and the rule's path parameters. A required query parameter
    that is missing or empty is refused first. A ValueError from a view is the admin 400; a
    `PageRefused` (a journey step's refusal) answers its status with the admin API's error
    body, `{error: the status's name in lower case, message}`."""

    def __init__(self, tenant: str = "the tenant") -> None:
        self.tenant = tenant  # what a `tenant` field names, as the refusals say it
        self.paths: dict[str, dict[str, Any]] = {}
        self._views: list[tuple[str, str, JsonDict, View]] = []

    def route(
        self, rule: str, method: str, operation_id: str, summary: str, **doc: Any
    ) -> Callable[[View], View]:
        """Declare the view at `rule` (OpenAPI's `{name}` for a path parameter) for `method`;
        `doc`: `responses`, and `body`, `parameters` as `admin_operation` takes them."""

        def register(view: View) -> View:
            operation = admin_operation(operation_id, summary, **doc)
            self.paths.setdefault(rule, {})[method] = operation
            self._views.append((rule, method, operation, view))
            return view

        return register

    def shared(self, rule: str, parameters: list[JsonDict]) -> None:
        """Parameters every method of `rule` takes (the path item's own `parameters`)."""
        self.paths.setdefault(rule, {})["parameters"] = parameters

    def mount(self, site: Site) -> None:
        """Add every declared view to the site, in the order declared."""
        for rule, method, operation, view in self._views:
            flask_rule = re.sub(r"\{(\w+)\}", r"<\1>", rule)
            site.route(flask_rule, methods=(method.upper(),))(self._checked(site, operation, view))

    def _checked(self, site: Site, operation: JsonDict, view: View) -> View:
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json")
        query = operation.get("parameters", ())
        wanted = [p["name"] for p in query if p["in"] == "query" and p.get("required")]

        @functools.wraps(view)
        def checked(**path: Any) -> Any:
            for name in wanted:
                if not site.args().get(name):
                    raise ValueError(f"{name} is required")
            try:
                if schema is None:
                    return view(site, **path)
                body = admin_body(site.json_body(), schema["schema"], self.tenant)
                return view(site, body, **path)
            except PageRefused as refused:
                error = {"error": status_name(refused.status).lower(), "message": refused.message}
                return site.json(error, refused.status)

        return checked
