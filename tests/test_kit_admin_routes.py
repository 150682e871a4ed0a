"""The kit's admin routes: one declaration gives the document entry, the view and its checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from mockserver import kit

_TENANT = {"type": "string", "minLength": 1}
_BODY = kit.json_object(
    {
        "tenant": _TENANT,
        "colour": {"enum": ["red", "blue"]},
        "days": {"type": "integer", "minimum": 0, "maximum": 9},
    },
    ["tenant", "days"],
    closed=True,
)


class FakeSite:
    """The parts of a `kit.Site` an admin route uses: routes, the query and the JSON body."""

    def __init__(self, query: dict[str, str] | None = None, body: Any = None) -> None:
        self.rules: list[tuple[str, tuple[str, ...], Callable[..., Any]]] = []
        self.query, self.body = query or {}, body

    def route(self, rule: str, methods: Iterable[str] = ("GET",)) -> Callable[[Any], Any]:
        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            self.rules.append((rule, tuple(methods), view))
            return view

        return register

    def args(self) -> dict[str, str]:
        return self.query

    def json_body(self) -> Any:
        return self.body


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "the body must be a JSON object {tenant, colour, days}"),
        ({"tenant": "t", "days": 1, "x": 1}, "unknown fields: x; allowed: tenant, colour, days"),
        ({"days": 1}, "tenant (the client) must be a non-empty string"),
        ({"tenant": "t", "days": 1, "colour": "green"}, "colour must be one of: red, blue"),
        ({"tenant": "t"}, "days must be an integer from 0 to 9"),  # required, missing
        ({"tenant": "t", "days": True}, "days must be an integer from 0 to 9"),
        ({"tenant": "t", "days": 10}, "days must be an integer from 0 to 9"),
        ({"tenant": "t", "days": -1}, "days must be an integer from 0 to 9"),
    ],
)
def test_an_admin_body_is_checked_against_its_declared_schema(body: Any, problem: str) -> None:
    with pytest.raises(ValueError) as refused:
        kit.admin_body(body, _BODY, "the client")
    assert str(refused.value) == problem


def test_an_admin_body_that_conforms_is_answered_as_given() -> None:
    body = {"tenant": "t", "days": 0}  # colour is optional
    assert kit.admin_body(body, _BODY, "the client") is body


def test_a_route_is_declared_once_for_the_document_and_the_site() -> None:
    routes = kit.AdminRoutes(tenant="the client")
    text = {"type": "string"}
    routes.shared("/things/{thing_id}", [kit.parameter("note", "query", text)])
    seen: list[Any] = []

    @routes.route(
        "/things/{thing_id}",
        "post",
        "setThing",
        "Set a thing",
        responses={"200": kit.answer("Set.")},
        body=_BODY,
        parameters=[kit.parameter("thing_id", "path", text, required=True)],
    )
    def set_thing(site: kit.Site, body: kit.JsonDict, thing_id: str) -> str:
        seen.append((body, thing_id))
        return "set"

    @routes.route(
        "/things",
        "get",
        "listThings",
        "List things",
        responses={"200": kit.answer("The things.")},
        parameters=[kit.parameter("tenant", "query", text, required=True)],
    )
    def list_things(site: kit.Site) -> str:
        return "listed " + site.args()["tenant"]

    assert list(routes.paths) == ["/things/{thing_id}", "/things"]
    assert list(routes.paths["/things/{thing_id}"]) == ["parameters", "post"]
    assert routes.paths["/things"]["get"]["operationId"] == "listThings"
    site = FakeSite({"tenant": "t"}, {"tenant": "t", "days": 3})
    routes.mount(site)  # type: ignore[arg-type]
    assert [(rule, methods) for rule, methods, _ in site.rules] == [
        ("/things/<thing_id>", ("POST",)),
        ("/things", ("GET",)),
    ]
    (_, _, post), (_, _, get) = site.rules
    assert post.__name__ == "set_thing" and post(thing_id="a") == "set"
    assert seen == [({"tenant": "t", "days": 3}, "a")]
    assert get() == "listed t"


def test_a_route_refuses_a_missing_query_parameter_or_body_before_its_view() -> None:
    routes = kit.AdminRoutes()
    called: list[str] = []
    tenant = kit.parameter("tenant", "query", {"type": "string"}, required=True)

    @routes.route("/a", "get", "a", "A", responses={}, parameters=[tenant])
    def a(site: kit.Site) -> None:
        called.append("a")

    @routes.route("/b", "post", "b", "B", responses={}, body=_BODY)
    def b(site: kit.Site, body: kit.JsonDict) -> None:
        called.append("b")

    site = FakeSite({"tenant": ""}, {"tenant": "t"})
    routes.mount(site)  # type: ignore[arg-type]
    (_, _, get), (_, _, post) = site.rules
    with pytest.raises(ValueError, match="^tenant is required$"):
        get()
    with pytest.raises(ValueError, match="^days must be an integer from 0 to 9$"):
        post()
    assert called == []
