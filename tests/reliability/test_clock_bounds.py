"""A clock move no date can hold is refused before it is saved; health reports a broken clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from mockserver import SimClock, create_app
from mockserver.app import Simulator
from mockserver.clock import EARLIEST, LATEST, ClockRangeError

from conftest import T0, FixedSource, api1_headers
from tests_helpers import json_of


def _consents(client: FlaskClient) -> int:
    return client.get("/api1/api/v1/consents", headers=api1_headers()).status_code


@pytest.mark.parametrize(
    "body",
    [
        {"advance": "P9999999D"},  # the probe's request: beyond year 9999
        {"advance": "P99999999999D"},  # beyond what a timedelta holds
        {"advance": "-P999999D"},  # before year 1
        {"advance": "P3000000D", "tenant": "tenant-a"},
        {"set": "0001-01-01T00:00:00Z"},
        {"set": "9999-12-31T23:59:59Z", "freeze": True},
        {"set": "1969-12-31T23:59:59Z", "tenant": "tenant-a"},
    ],
)
def test_an_impossible_clock_move_is_refused_and_changes_nothing(
    client: FlaskClient, sim: Simulator, body: dict[str, object]
) -> None:
    before = sim.clock.describe("tenant-a")
    answer = client.post("/__admin/clock", json=body)
    assert answer.status_code == 400
    assert answer.json is not None and answer.json["error"] == "bad_request"
    assert "nothing was changed" in answer.json["message"] or "longer" in answer.json["message"]
    assert sim.clock.describe("tenant-a") == before
    assert _consents(client) == 200  # every provider still serves
    assert client.get("/__admin/health").status_code == 200


def test_the_range_is_open_up_to_its_edges(client: FlaskClient, sim: Simulator) -> None:
    inside = LATEST - timedelta(days=1)
    answer = client.post("/__admin/clock", json={"set": inside.isoformat(), "freeze": True})
    assert answer.status_code == 200
    assert sim.clock.now() == inside
    assert client.post("/__admin/clock", json={"advance": "P2D"}).status_code == 400
    assert sim.clock.now() == inside
    assert _consents(client) == 200


def test_a_frozen_clock_refuses_a_move_past_the_edge() -> None:
    clock = SimClock(source=FixedSource(T0))
    clock.set(EARLIEST + timedelta(hours=1), freeze=True)
    with pytest.raises(ClockRangeError):
        clock.advance(-timedelta(hours=2))
    assert clock.now() == EARLIEST + timedelta(hours=1)


def test_health_reports_a_clock_that_cannot_serve(client: FlaskClient, sim: Simulator) -> None:
    # Settings saved by an older version (or written to a shared store by hand).
    sim.clock.backing.write_doc("clock", {"offset": 1e15, "frozen": None, "tenants": {}})
    health = client.get("/__admin/health")
    assert health.status_code == 503
    assert health.json is not None and health.json["status"] == "unavailable"
    assert any(p.startswith("clock:") for p in health.json["problems"])
    assert client.post("/__admin/clock", json={"reset": True}).status_code == 200
    repaired = client.get("/__admin/health")
    assert repaired.status_code == 200 and json_of(repaired)["problems"] == []


def test_a_tenant_clock_out_of_range_is_reported_too(client: FlaskClient, sim: Simulator) -> None:
    sim.clock.backing.write_doc(
        "clock", {"offset": 0.0, "frozen": None, "tenants": {"tenant-a": -1e11}}
    )
    health = client.get("/__admin/health")
    assert health.status_code == 503
    assert "tenant 'tenant-a'" in " ".join(health.json["problems"] if health.json else [])


def test_a_refused_move_is_not_saved_in_a_persistent_store(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    app = create_app(["api1"], store=f"sqlite:{path}", clock=SimClock(source=FixedSource(T0)))
    client = app.test_client()
    assert client.post("/__admin/clock", json={"advance": "P9999999D"}).status_code == 400
    app.extensions["mockserver"].store.close()
    again = create_app(["api1"], store=f"sqlite:{path}")  # a restart on the same file
    restarted = again.test_client()
    assert restarted.get("/__admin/health").status_code == 200
    assert _consents(restarted) == 200
    now = again.extensions["mockserver"].clock.now()
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)
    again.extensions["mockserver"].store.close()
