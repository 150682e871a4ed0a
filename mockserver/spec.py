"""Load an OpenAPI 3.1 document once: resolve its $refs and compile every validator."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .validation import Validator, compile_schema, quick_check, schema_kind

__all__ = ["Operation", "Param", "ResponseSpec", "Spec", "SpecError", "load_spec", "read_yaml"]

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# libyaml's loader when PyYAML has it: the same documents, parsed 10-40x faster (the pure-Python
# parser was nine tenths of create_app() for all five providers).
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# Parsed specs are kept as JSON, named by a digest of the YAML text, so a spec read before is
# not parsed again: JSON loads some 40x faster than libyaml builds the same document, and the
# five specs' YAML was half of create_app(). See read_yaml (fixtures are read the same way).
_CACHE_FORMAT = f"1-{yaml.__version__}"
# Cached documents kept, the most recently used; older ones (specs since edited) are deleted
# when a new one is written.
_CACHE_KEEP = 32


def cache_dir() -> Path:
    """MOCKSERVER_CACHE_DIR, else $XDG_CACHE_HOME/consent-mockserver (~/.cache/...)."""
    configured = os.environ.get("MOCKSERVER_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "consent-mockserver"


def read_yaml(path: Path) -> Any:
    """The YAML document in the file (a spec or a fixture), from the cache when the same text
    was parsed before. A document JSON cannot hold exactly (a date, a non-string key) is not
    cached; a cache that cannot be read or written is passed by, never an error."""
    text = path.read_text(encoding="utf-8")
    digest = hashlib.sha256(f"{_CACHE_FORMAT}\n{text}".encode()).hexdigest()
    cached = cache_dir() / f"spec-{digest}.json"
    with contextlib.suppress(OSError, ValueError):
        document = json.loads(cached.read_text(encoding="utf-8"))
        with contextlib.suppress(OSError):
            os.utime(cached)  # used now: see _prune_cache
        return document
    document = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    with contextlib.suppress(OSError, TypeError, ValueError):
        encoded = json.dumps(document)
        if json.loads(encoded) == document:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
            partial.write_text(encoded, encoding="utf-8")
            partial.replace(cached)  # atomic: a reader sees the whole document or none
            _prune_cache(cached)
    return document


def _prune_cache(written: Path, keep: int = _CACHE_KEEP) -> None:
    """After `written` was stored: delete all but the `keep` most recently used documents (a
    spec edited often leaves one per version), and partial files a writer left behind over an
    hour before it (file times, not the simulated clock, which is only for the API)."""
    entries: list[tuple[float, Path]] = []
    stale = written.stat().st_mtime - 3600
    for entry in written.parent.glob("spec-*"):
        with contextlib.suppress(OSError):
            used = entry.stat().st_mtime
            if entry.suffix == ".json":
                entries.append((used, entry))
            elif entry.suffix == ".tmp" and used < stale:
                entry.unlink()
    entries.sort(reverse=True)
    for _, entry in entries[keep:]:
        with contextlib.suppress(OSError):  # another process may have deleted it first
            entry.unlink()


class SpecError(Exception):
    """The spec cannot drive the simulator; the message says where and how to fix it."""


@dataclass(slots=True)
class Param:
    name: str
    location: str
    required: bool
    kind: str
    item_kind: str | None
    explode: bool
    schema: dict[str, Any]
    validator: Validator
    quick: Callable[[Any], bool] | None = None  # True: valid, without running the validator


@dataclass(slots=True)
class ResponseSpec:
    status: str
    media: dict[str, Validator | None]
    headers: dict[str, tuple[bool, Validator]]

    @property
    def media_type(self) -> str | None:
        return next(iter(self.media), None)


@dataclass(slots=True)
class Operation:
    provider: str
    operation_id: str
    method: str
    path: str
    params: list[Param]
    body_required: bool
    body_media: dict[str, Validator]
    responses: dict[str, ResponseSpec]
    security: list[dict[str, list[str]]]
    if_match: bool = False
    if_none_match: bool = False
    handler_name: str = ""
    summary: str = ""
    path_regex: re.Pattern[str] = field(default_factory=lambda: re.compile(""))
    # Per body media type, a plain-Python check that spares the validator a valid body.
    body_quick: dict[str, Callable[[Any], bool] | None] = field(default_factory=dict)

    def response_for(self, status: int) -> ResponseSpec | None:
        """The response the spec declares for a status: exact, then `4XX`, then `default`."""
        return (
            self.responses.get(str(status))
            or self.responses.get(f"{str(status)[0]}XX")
            or self.responses.get("default")
        )

    @property
    def flask_rule(self) -> str:
        return re.sub(r"\{([^}/]+)\}", r"<\1>", self.path)

    @property
    def statuses(self) -> list[str]:
        return sorted(self.responses)


@dataclass(slots=True)
class Spec:
    """One provider's OpenAPI document (read from `path`), compiled: the document with every
    local `$ref` inlined, its operations by operationId, its security schemes by name."""

    provider: str
    path: Path
    document: dict[str, Any]
    operations: dict[str, Operation]
    security_schemes: dict[str, dict[str, Any]]
    # The document as written (its $refs kept), which the server publishes at openapi.json.
    source: dict[str, Any] = field(default_factory=dict)


def _resolve(
    node: Any,
    root: dict[str, Any],
    trail: tuple[str, ...] = (),
    memo: dict[str, Any] | None = None,
) -> Any:
    """Inline every local $ref, so no reference is followed while serving requests.

    Each target is resolved once per document (`memo`) and shared by every place that refers
    to it; nothing changes a resolved spec afterwards. A target that resolved once has no
    cycle, so sharing it cannot hide a recursive $ref.
    """
    memo = {} if memo is None else memo
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#/"):
                raise SpecError(f"only local $refs are supported, found {ref!r}")
            if ref in trail:
                raise SpecError(f"recursive $ref {' -> '.join((*trail, ref))}")
            if ref in memo:
                resolved = memo[ref]
            else:
                target: Any = root
                for part in ref[2:].split("/"):
                    part = part.replace("~1", "/").replace("~0", "~")
                    if not isinstance(target, dict) or part not in target:
                        raise SpecError(f"$ref {ref!r} points at nothing")
                    target = target[part]
                resolved = memo[ref] = _resolve(target, root, (*trail, ref), memo)
            siblings = {k: _resolve(v, root, trail, memo) for k, v in node.items() if k != "$ref"}
            return {**resolved, **siblings} if siblings else resolved
        return {key: _resolve(value, root, trail, memo) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, root, trail, memo) for item in node]
    return node


def _param(raw: dict[str, Any], where: str) -> Param:
    schema = raw.get("schema")
    if not isinstance(schema, dict):
        raise SpecError(f"{where}: parameter {raw.get('name')!r} has no schema")
    kind = schema_kind(schema)
    items = schema.get("items") if kind == "array" else None
    location = str(raw["in"])
    return Param(
        name=str(raw["name"]),
        location=location,
        required=bool(raw.get("required", location == "path")),
        kind=kind,
        item_kind=schema_kind(items) if isinstance(items, dict) else None,
        explode=bool(raw.get("explode", raw.get("style", "form") == "form")),
        schema=schema,
        validator=compile_schema(schema),
        quick=quick_check(schema),
    )


def _responses(raw: dict[str, Any]) -> dict[str, ResponseSpec]:
    out: dict[str, ResponseSpec] = {}
    for status, response in raw.items():
        media = {
            media_type: (compile_schema(body["schema"]) if "schema" in body else None)
            for media_type, body in (response.get("content") or {}).items()
        }
        headers = {
            name.lower(): (bool(h.get("required")), compile_schema(h.get("schema", {})))
            for name, h in (response.get("headers") or {}).items()
        }
        out[str(status)] = ResponseSpec(str(status), media, headers)
    return out


def _path_regex(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(path))
    return re.compile(f"^{pattern}/?$")


def _operation(
    provider: str, path: str, method: str, raw: dict[str, Any], shared: list[Any], doc: Any
) -> Operation:
    where = f"{method.upper()} {path}"
    op_id = raw.get("operationId")
    if not op_id:
        raise SpecError(f"{where} has no operationId; every operation needs one")
    merged = {(p["name"], p["in"]): p for p in shared}
    merged.update({(p["name"], p["in"]): p for p in raw.get("parameters", [])})
    params = [_param(p, where) for p in merged.values() if p["in"] != "cookie"]
    body = raw.get("requestBody") or {}
    body_media = {
        media_type: compile_schema(content.get("schema", {}))
        for media_type, content in (body.get("content") or {}).items()
    }
    responses = _responses(raw.get("responses") or {})
    if not responses:
        raise SpecError(f"{where} declares no responses")
    names = {p.name.lower() for p in params if p.location == "header"}
    return Operation(
        provider=provider,
        operation_id=str(op_id),
        method=method.upper(),
        path=path,
        params=params,
        body_required=bool(body.get("required")),
        body_media=body_media,
        responses=responses,
        security=raw.get("security", doc.get("security", [])),
        if_match="if-match" in names,
        if_none_match="if-none-match" in names and "304" in responses,
        handler_name=snake_case(str(op_id)),
        summary=str(raw.get("summary", "")),
        path_regex=_path_regex(path),
        body_quick={
            media_type: quick_check(content.get("schema", {}))
            for media_type, content in (body.get("content") or {}).items()
        },
    )


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def load_spec(provider: str, path: Path) -> Spec:
    """Read, resolve and compile one provider's spec; fail with the file and the reason."""
    try:
        raw = read_yaml(path)
    except OSError as exc:
        raise SpecError(f"cannot read spec {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"spec {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not str(raw.get("openapi", "")).startswith("3.1"):
        raise SpecError(f"spec {path} must be an OpenAPI 3.1 document ('openapi: 3.1.0')")
    try:
        doc = _resolve(raw, raw)
        operations: dict[str, Operation] = {}
        for spec_path, item in (doc.get("paths") or {}).items():
            shared = item.get("parameters", [])
            for method in _METHODS:
                if method in item:
                    op = _operation(provider, spec_path, method, item[method], shared, doc)
                    if op.operation_id in operations:
                        raise SpecError(f"operationId {op.operation_id!r} is used twice")
                    operations[op.operation_id] = op
    except SpecError as exc:
        raise SpecError(f"spec {path}: {exc}") from exc
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    return Spec(provider, path, doc, operations, schemes, source=raw)
