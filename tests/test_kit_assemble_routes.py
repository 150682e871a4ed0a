"""kit.assemble: a module's `ROUTES` (an AdminRoutes) gives the provider its admin routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mockserver import kit

_PARTS = """\
from mockserver import kit

STATES = kit.States({"A": ()})
handlers = identify = render_error = render = transition = admin_create = print
"""
_ROUTES = """\
from mockserver import kit

ROUTES = kit.AdminRoutes()


@ROUTES.route("/things", "get", "things", "Things", responses={"200": kit.answer("Things.")})
def things(site):
    return None
"""


def _assemble(tmp_path: Path, monkeypatch: Any, name: str, routes: str) -> kit.ProviderDef:
    package = tmp_path / name / "routed"  # a provider is named by its package's last name
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "parts.py").write_text(_PARTS)
    (package / "admin_api.py").write_text(routes)
    monkeypatch.syspath_prepend(str(tmp_path))
    return kit.assemble(f"{name}.routed", "Routed", default_tenant="t", credentials_doc="none")


def test_routes_give_admin_and_admin_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = _assemble(tmp_path, monkeypatch, "declared", _ROUTES)
    assert list(provider.admin_paths or {}) == ["/things"]
    assert getattr(provider.admin, "__name__", "") == "mount"  # the routes' own mount


def test_admin_defined_by_the_module_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = _ROUTES + "\n\ndef admin(site):\n    return None\n\n\nadmin_paths = {}\n"
    provider = _assemble(tmp_path, monkeypatch, "own_routes", own)
    assert provider.admin_paths == {} and getattr(provider.admin, "__name__", "") == "admin"
