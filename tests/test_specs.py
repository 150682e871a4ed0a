"""Every spec in specs/ is valid OpenAPI 3.1 and follows the conventions the engine relies on."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from mockserver import spec as spec_module
from mockserver.spec import load_spec

SPECS = sorted((Path(__file__).parents[1] / "specs").glob("*.yaml"))


def test_there_are_specs() -> None:
    assert {p.stem for p in SPECS} >= {"api1"}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_is_valid_openapi_31(path: Path) -> None:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    assert document["openapi"].startswith("3.1")
    validate(document)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_loads_into_the_engine(path: Path) -> None:
    spec = load_spec(path.stem, path)
    assert spec.operations
    for op in spec.operations.values():
        assert op.summary, f"{op.operation_id} has no summary"
        created = op.responses.get("201")
        if created is not None and "location" in created.headers:
            assert created.headers["location"][0], f"{op.operation_id}: Location must be required"


def _no_yaml(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("parsed the YAML again")


def test_a_spec_read_before_comes_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "cache"))
    first = load_spec("api1", SPECS[0])
    assert len(list((tmp_path / "cache").glob("spec-*.json"))) == 1
    monkeypatch.setattr(yaml, "load", _no_yaml)
    again = load_spec("api1", SPECS[0])
    assert again.document == first.document and again.operations.keys() == first.operations.keys()


def test_a_changed_spec_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "api1.yaml"
    text = SPECS[0].read_text()
    path.write_text(text)
    load_spec("api1", path)
    path.write_text(text.replace("title:", "title: Changed", 1))
    changed = load_spec("api1", path)
    assert changed.document["info"]["title"].startswith("Changed")
    assert len(list((tmp_path / "cache").glob("spec-*.json"))) == 2


def test_the_cache_keeps_the_most_recently_used_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spec edited often leaves one document per version: old ones are deleted on write."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(cache))
    load_spec("api1", SPECS[0])  # read often: kept however old its file was written
    (used,) = cache.glob("spec-*.json")
    cache.joinpath("spec-left-behind.1-2.tmp").write_text("{")
    for n in range(40):  # earlier versions of edited specs, each older than the last
        old = cache / f"spec-{n:064x}.json"
        old.write_text("{}")
        os.utime(old, (1_000_000 - n, 1_000_000 - n))
    for name in ("spec-left-behind.1-2.tmp", used.name):
        os.utime(cache / name, (1_000_000 - 100, 1_000_000 - 100))
    load_spec("api1", SPECS[0])  # a hit: marks it used now
    path = tmp_path / "api1.yaml"
    path.write_text(SPECS[0].read_text().replace("title:", "title: Edited", 1))
    load_spec("api1", path)  # a new document: the write prunes
    left = {entry.name for entry in cache.glob("spec-*")}
    assert len(left) == spec_module._CACHE_KEEP
    assert used.name in left and "spec-left-behind.1-2.tmp" not in left
    assert f"spec-{0:064x}.json" in left and f"spec-{39:064x}.json" not in left


def test_a_broken_or_unwritable_cache_is_passed_by(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(blocked))
    assert load_spec("api1", SPECS[0]).operations  # cannot write there: parsed, no error
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "cache"))
    expected = load_spec("api1", SPECS[0]).document
    for entry in (tmp_path / "cache").glob("spec-*.json"):
        entry.write_text('{"openapi": "3.1.0", "paths": {')  # cut short
    assert load_spec("api1", SPECS[0]).document == expected


def test_a_document_json_cannot_hold_is_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "dated.yaml"
    path.write_text(
        "openapi: 3.1.0\ninfo: {title: t, version: 2026-01-01}\npaths: {}\nx-codes: {200: ok}\n"
    )
    loaded = load_spec("dated", path)
    assert loaded.document["info"]["version"] == date(2026, 1, 1)
    assert loaded.document["x-codes"] == {200: "ok"}
    assert not list((tmp_path / "cache").glob("spec-*.json"))
