"""The kit's shapes: what a consent shows, and what a recorded fixture leaves out."""

from __future__ import annotations

from mockserver import kit


def test_public_hides_the_bookkeeping_fields() -> None:
    data = {"id": "a", "_secret": "s", "status": "LIVE", "x_": 1}
    assert kit.public(data) == {"id": "a", "status": "LIVE", "x_": 1}
    assert "_secret" in data  # the record itself is left as it was


def test_a_projection_shows_its_fields_in_order_missing_ones_as_null() -> None:
    render = kit.projection(iter(("status", "id", "name")))  # read once, used many times
    shown = render({"id": "a", "status": "LIVE", "_x": 1, "other": 2})
    assert list(shown.items()) == [("status", "LIVE"), ("id", "a"), ("name", None)]
    assert render({"id": "b"}) == {"status": None, "id": "b", "name": None}


def test_a_projection_may_leave_out_null_and_missing_fields() -> None:
    render = kit.projection(("b", "a", "c"), omit_null=True)
    assert list(render({"a": 1, "b": 0, "c": None, "d": 4}).items()) == [("b", 0), ("a", 1)]


def test_without_drops_the_names_given_and_keeps_the_order() -> None:
    strip = kit.without("token", "missing")
    assert list(strip({"b": 1, "token": "t", "a": 2})) == ["b", "a"]


def test_renamed_gives_fields_their_new_names_in_place() -> None:
    rename = kit.renamed(consentStatus="status", missing="gone")
    data = {"id": "a", "consentStatus": "Active", "end": None}
    assert list(rename(data).items()) == [("id", "a"), ("status", "Active"), ("end", None)]
    assert "consentStatus" in data  # the record itself is left as it was
