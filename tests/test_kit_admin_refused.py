"""kit.AdminRoutes: a journey step's refusal (`PageRefused`) in a view, in the admin's words."""

from __future__ import annotations

from typing import Any

import pytest
from test_kit_admin_routes import FakeSite

from mockserver import kit

_OK = {"200": kit.answer("Done.")}


class JsonSite(FakeSite):
    def json(self, body: Any, status: int = 200) -> tuple[Any, int]:
        return body, status


@pytest.mark.parametrize(
    ("status", "error"), [(404, "not_found"), (409, "conflict"), (403, "forbidden")]
)
def test_a_refusal_answers_its_status_named_in_lower_case(status: int, error: str) -> None:
    routes = kit.AdminRoutes()
    body = kit.json_object({"tenant": kit.TENANT}, ["tenant"])

    @routes.route("/things/{thing_id}", "post", "thing", "A thing", responses=_OK, body=body)
    def thing(site: kit.Site, given: kit.JsonDict, thing_id: str) -> Any:
        raise kit.PageRefused("Heading", f"No {thing_id} for {given['tenant']}.", status)

    @routes.route("/plain", "get", "plain", "Plain", responses=_OK)
    def plain(site: kit.Site) -> Any:
        raise kit.PageRefused("Heading", "Not now.", status)

    site = JsonSite(body={"tenant": "t"})
    routes.mount(site)  # type: ignore[arg-type]
    (_, _, posted), (_, _, got) = site.rules
    assert posted(thing_id="x") == ({"error": error, "message": "No x for t."}, status)
    assert got() == ({"error": error, "message": "Not now."}, status)


def test_a_value_error_is_still_the_admin_400_raised_for_the_blueprint() -> None:
    routes = kit.AdminRoutes()

    @routes.route("/plain", "get", "plain", "Plain", responses=_OK)
    def plain(site: kit.Site) -> Any:
        raise ValueError("bad")

    site = JsonSite()
    routes.mount(site)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bad"):
        site.rules[0][2]()
