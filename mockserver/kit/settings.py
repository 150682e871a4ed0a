"""A per-tenant setting in the admin API: read with GET ?tenant=, set with POST, one field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..behaviour import Context
from .admin_doc import BAD_REQUEST, TENANT, answer, json_object, parameter
from .admin_routes import AdminRoutes
from .journey import Site

__all__ = ["TenantSetting"]

JsonDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class TenantSetting:
    """One setting of a tenant, `field` (its value's schema `schema`): `read(ctx)` gives it and
    `write(ctx, value)` keeps it. `declare` adds its two admin routes at a rule: GET with the
    `tenant` query parameter, and POST with the JSON body {tenant, <field>} (checked against
    the schema, no other field); both answer {tenant, <field>}, the value as `read` gives it."""

    field: str
    schema: JsonDict
    read: Callable[[Context], Any]
    write: Callable[[Context, Any], None]

    def shown(self, site: Site, ctx: Context) -> Any:
        """The answer of both routes: the tenant and its setting."""
        return site.json({"tenant": ctx.tenant, self.field: self.read(ctx)})

    def declare(
        self,
        routes: AdminRoutes,
        rule: str,
        answered: str,
        get: tuple[str, str],
        post: tuple[str, str],
    ) -> None:
        """The routes at `rule`; `answered` describes the answer, `get` and `post` are each
        route's (operationId, summary)."""
        fields = {"tenant": TENANT, self.field: self.schema}
        responses = {"200": answer(answered, json_object(fields)), "400": BAD_REQUEST}
        tenant = parameter("tenant", "query", TENANT, required=True)

        def read_setting(site: Site) -> Any:
            return self.shown(site, site.context(site.args()["tenant"]))

        def write_setting(site: Site, body: JsonDict) -> Any:
            ctx = site.context(body["tenant"])
            self.write(ctx, body[self.field])
            return self.shown(site, ctx)

        read_setting.__name__, write_setting.__name__ = get[0], post[0]  # the sites' endpoints
        routes.route(rule, "get", *get, responses=responses, parameters=[tenant])(read_setting)
        body = json_object(fields, closed=True)
        routes.route(rule, "post", *post, responses=responses, body=body)(write_setting)
