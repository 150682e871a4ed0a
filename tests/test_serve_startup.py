"""How `mockserver serve` starts: one build per worker at most, the heap frozen once built."""

from __future__ import annotations

import gc
import multiprocessing
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from granian import Granian

from mockserver import cli
from mockserver.rsgi import WsgiOnRsgi
from mockserver.testing import free_port, running_server
from mockserver.wsgi import app_from_env, collector_paused, settings_to_env

ROOT = Path(__file__).parents[1]


@pytest.fixture(autouse=True)
def unfrozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """These tests freeze the test process's heap and set the serve settings: undo both."""
    monkeypatch.setenv("MOCKSERVER_SERVE_SETTINGS", "{}")
    yield
    gc.unfreeze()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run `serve` in this process up to granian's serve(), which records what it was given."""
    seen: dict[str, Any] = {}

    def fake_serve(
        self: Any, spawn_target: Any = None, target_loader: Any = None, **_: Any
    ) -> None:
        seen.update(server=self, loader=target_loader, frozen=gc.get_freeze_count())
        seen["collecting"] = gc.isenabled()

    monkeypatch.setattr(Granian, "serve", fake_serve)
    return seen


def test_collector_paused_turns_collection_back_on_even_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        assert not gc.isenabled()
        raise ValueError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_the_worker_factory_freezes_the_built_and_seeded_heap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "MOCKSERVER_SERVE_SETTINGS",
        settings_to_env({"providers": ["api1"], "fixtures": str(ROOT / "fixtures")})[
            "MOCKSERVER_SERVE_SETTINGS"
        ],
    )
    gc.unfreeze()
    app = app_from_env()
    assert app.extensions["mockserver"].store.count() > 0  # seeded before the freeze
    assert gc.get_freeze_count() > 0 and gc.isenabled()


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="fork only")
def test_the_forked_worker_serves_the_app_the_parent_built(served: dict[str, Any]) -> None:
    assert cli.main(["serve", "--provider", "api1", "--port", str(free_port())]) == 0
    loader: Callable[[str], WsgiOnRsgi] = served["loader"]
    assert loader is not None
    target = loader("mockserver.wsgi:rsgi_from_env")
    assert loader("again") is target  # no second build
    app = target.app  # the Flask app, served on granian's RSGI interface
    assert isinstance(app, Flask)
    assert app.extensions["mockserver"].store.count() > 0  # the fixtures, seeded in the parent
    assert served["frozen"] > 0 and served["collecting"]  # frozen before the fork, GC back on


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="fork only")
def test_forked_workers_share_the_parents_app_with_its_store_detached(
    served: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "shared.sqlite"
    argv = ["serve", "--provider", "api1", "--port", str(free_port()), "--store", f"sqlite:{path}"]
    assert cli.main([*argv, "--workers", "2"]) == 0
    loader: Callable[[str], WsgiOnRsgi] = served["loader"]
    target = loader("mockserver.wsgi:rsgi_from_env")
    assert loader("again") is target and served["frozen"] > 0 and served["collecting"]
    app = target.app
    assert isinstance(app, Flask)
    store = app.extensions["mockserver"].store
    assert store._connections == []  # detached: no connection crosses the fork
    assert store.count() == 5  # seeded once, in the parent; a worker connects on first use
    store.close()


def test_spawned_workers_build_their_own_app_on_the_store_seeded_once(
    served: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(multiprocessing, "get_start_method", lambda *a, **k: "spawn")
    path = tmp_path / "shared.sqlite"
    argv = ["serve", "--provider", "api1", "--port", str(free_port()), "--store", f"sqlite:{path}"]
    assert cli.main([*argv, "--workers", "2"]) == 0
    assert served["loader"] is None  # granian's factory: mockserver.wsgi:rsgi_from_env
    assert served["server"].target == "mockserver.wsgi:rsgi_from_env" and served["server"].factory
    assert served["collecting"]
    first = app_from_env().extensions["mockserver"].store  # what a worker does
    second = app_from_env().extensions["mockserver"].store  # the second worker
    assert first.count() == second.count() == 5  # not seeded again
    first.close()
    second.close()


def test_a_bad_fixture_fails_before_granian_is_started(
    served: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "api1.yaml").write_text("provider: api1\ntenants: []\n")
    code = cli.main(
        ["serve", "--provider", "api1", "--port", str(free_port()), "--fixtures", str(tmp_path)]
    )
    assert code == 2 and "server" not in served
    assert capsys.readouterr().err.count("\n") == 1
    assert gc.isenabled()


def test_serve_does_not_import_the_drift_checker() -> None:
    code = (
        "import sys\nfrom mockserver.cli import main\ntry:\n    main(['serve', '--help'])\n"
        "except SystemExit:\n    pass\nassert 'mockserver.drift' not in sys.modules\n"
        "main(['check', '--help'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "--max-examples" in result.stdout  # `check` still has its arguments


@pytest.mark.slow
def test_two_workers_on_sqlite_serve_the_fixtures_seeded_once(tmp_path: Path) -> None:
    args = ["--provider", "api1", "--workers", "2", "--store", f"sqlite:{tmp_path / 's.sqlite'}"]
    headers = {"x-api-key": "sandbox-api1-key"}
    with running_server(args) as server:
        for _ in range(6):  # new connections: either worker may answer
            listed = httpx.get(
                f"{server.url('api1')}/api/v1/consents",
                headers={**headers, "x-correlation-id": str(uuid.uuid4()), "Connection": "close"},
            )
            assert listed.status_code == 200
            assert listed.json()["meta"]["totalCount"] == 5


def test_jsonschema_is_imported_only_when_a_request_needs_its_validator() -> None:
    """Start-up and valid requests run without jsonschema (its import and the validators'
    construction were a fifth of start-up); the first invalid request loads it and gets the
    same violation report as before."""
    script = """
import sys
from mockserver import create_app
app = create_app(["api1"], fixtures=None)
client = app.test_client()
headers = {"x-api-key": "k", "x-correlation-id": "4b3c2f0e-8d7a-4f4e-9a51-2d6f0b1c9e77"}
ok = client.get("/api1/api/v1/consents?Status=ACCEPTED", headers=headers)
print(ok.status_code, "jsonschema" in sys.modules)
bad = client.get("/api1/api/v1/consents?Status=NOPE", headers=headers)
print(bad.status_code, "jsonschema" in sys.modules, "Status" in bad.get_data(as_text=True))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split("\n")[:2] == ["200 False", "400 True True"], done.stdout
