"""The kit's per-tenant setting: its two admin routes, their document entries and checks."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from test_kit_admin_routes import FakeSite as RoutesSite

from mockserver import kit

_LEVEL = {"type": "integer", "minimum": 0, "maximum": 5}


class FakeSite(RoutesSite):
    """The parts of a `kit.Site` the setting's routes use: an admin route's, and a context."""

    @property
    def views(self) -> dict[str, Callable[..., Any]]:
        return {f"{rule} {' '.join(methods)}": view for rule, methods, view in self.rules}

    def context(self, tenant: str) -> Any:
        return SimpleNamespace(tenant=tenant)

    def json(self, body: Any, status: int = 200) -> Any:
        return (status, body)


def _declared(kept: dict[str, int]) -> kit.AdminRoutes:
    def write(ctx: kit.Context, value: Any) -> None:
        kept[ctx.tenant] = value

    setting = kit.TenantSetting("level", _LEVEL, lambda ctx: kept.get(ctx.tenant, 1), write)
    routes = kit.AdminRoutes(tenant="the client")
    setting.declare(
        routes, "/level", "The level.", get=("getLevel", "Read"), post=("setLevel", "Set")
    )
    return routes


def test_a_setting_declares_a_get_and_a_post_in_the_document() -> None:
    paths = _declared({}).paths
    assert list(paths) == ["/level"] and list(paths["/level"]) == ["get", "post"]
    get, post = paths["/level"]["get"], paths["/level"]["post"]
    assert (get["operationId"], get["summary"], post["operationId"]) == (
        "getLevel",
        "Read",
        "setLevel",
    )
    assert get["parameters"] == [kit.parameter("tenant", "query", kit.TENANT, required=True)]
    fields = {"tenant": kit.TENANT, "level": _LEVEL}
    assert post["requestBody"]["content"]["application/json"]["schema"] == kit.json_object(
        fields, closed=True
    )
    answered = get["responses"]["200"]
    assert answered == kit.answer("The level.", kit.json_object(fields))
    assert post["responses"] == get["responses"] and "400" in get["responses"]


def test_a_setting_is_read_and_written_per_tenant() -> None:
    kept: dict[str, int] = {}
    routes = _declared(kept)
    site = FakeSite({"tenant": "a"}, {"tenant": "b", "level": 4})
    routes.mount(site)  # type: ignore[arg-type]
    read, write = site.views["/level GET"], site.views["/level POST"]
    assert read.__name__ == "getLevel" and write.__name__ == "setLevel"
    assert read() == (200, {"tenant": "a", "level": 1})
    assert write() == (200, {"tenant": "b", "level": 4})
    assert kept == {"b": 4}
    site.query = {"tenant": "b"}
    assert read() == (200, {"tenant": "b", "level": 4})


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"tenant": "b", "level": 6}, "level must be an integer from 0 to 5"),
        ({"tenant": "b"}, "level must be an integer from 0 to 5"),
        ({"tenant": "b", "level": 1, "x": 1}, "unknown fields: x; allowed: tenant, level"),
        ({"level": 1}, "tenant (the client) must be a non-empty string"),
    ],
)
def test_a_setting_refuses_a_body_against_its_schema(body: Any, problem: str) -> None:
    kept: dict[str, int] = {}
    site = FakeSite({}, body)
    _declared(kept).mount(site)  # type: ignore[arg-type]
    with pytest.raises(ValueError) as refused:
        site.views["/level POST"]()
    assert str(refused.value) == problem and kept == {}
    with pytest.raises(ValueError, match="^tenant is required$"):
        site.views["/level GET"]()
