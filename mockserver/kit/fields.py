"""Checks for fields the admin API and the fixtures give: instants, uuids, text, a schema."""

from __future__ import annotations

import copy
import functools
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from ..clock import format_instant, parse_instant
from ..spec import read_yaml
from ..validation import conforms

__all__ = [
    "AdminFields",
    "body_problem",
    "check_fields",
    "check_uuid",
    "instant_field",
    "optional_text",
    "refuse_options",
    "refuse_unknown",
    "spec_bodies",
    "spec_enum",
    "spec_error_operations",
    "spec_fields",
    "spec_schema",
    "text",
]

JsonDict = dict[str, Any]
_PACKAGE = Path(__file__).resolve().parents[1]
# A wheel holds the specs as package data (mockserver/_specs), a checkout at its top.
_OWN_SPECS = next(
    (p for p in (_PACKAGE / "_specs", _PACKAGE.parent / "specs") if p.is_dir()), _PACKAGE / "_specs"
)


def instant_field(
    value: Any, default: datetime, name: str, parse: Callable[[str], datetime] = parse_instant
) -> datetime:
    """An RFC 3339 date-time field, or `default` when it is absent (None)."""
    if value is None:
        return default
    try:
        return parse(str(value))
    except ValueError:
        raise ValueError(f"{name} must be an RFC 3339 date-time, got {value!r}") from None


def check_uuid(value: Any, name: str) -> str:
    """A uuid field, in its canonical lower-case form."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"{name} must be a uuid, got {value!r}") from None


def text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def optional_text(value: Any, name: str) -> str | None:
    return None if value is None else text(value, name)


def refuse_unknown(
    fields: Iterable[str], allowed: str, what: str = "unknown consent fields"
) -> None:
    """Refuse the fields left over once every known one was taken, saying which are allowed."""
    left = sorted(fields)
    if left:
        raise ValueError(f"{what}: {', '.join(left)}; allowed: {allowed}")


def refuse_options(options: Iterable[str], **known: str) -> None:
    """Refuse the transition options that are not `known` (name → what it does, as the error
    says it): the admin API's and the sandbox's moves take only these."""
    allowed = ", ".join(f"{name} ({what})" for name, what in known.items()) or "none"
    refuse_unknown(set(options) - set(known), allowed, "unknown transition options")


def body_problem(body: Mapping[str, Any], allowed: Iterable[str], tenant: str) -> str | None:
    """What is wrong with the JSON object an admin route is given, in words (None: nothing
    of these): a field not `allowed`, or no `tenant`, a non-empty string (`tenant` says what
    it names)."""
    allowed = list(allowed)
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        return f"unknown fields: {', '.join(unknown)}; allowed: {', '.join(allowed)}"
    if not isinstance(body.get("tenant"), str) or not body["tenant"]:
        return f"tenant ({tenant}) must be a non-empty string"
    return None


def _kinds(schema: JsonDict) -> tuple[set[str], bool]:
    declared = schema.get("type", "string")
    kinds = {declared} if isinstance(declared, str) else set(declared)
    return kinds - {"null"}, "null" in kinds or None in schema.get("enum", ())


def _checked(name: str, schema: JsonDict, value: Any) -> Any:
    """One value against a (flat) JSON Schema, normalised as stored; ValueError in words."""
    kinds, nullable = _kinds(schema)
    if value is None:
        if nullable:
            return None
        raise ValueError(f"{name} must not be null")
    choices = [c for c in schema.get("enum", ()) if c is not None]
    if choices:
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value
    fmt = schema.get("format")
    if fmt == "uuid":
        return check_uuid(value, name)
    if fmt == "date-time":
        return format_instant(instant_field(value, datetime.min, name))
    if "integer" in kinds:
        if isinstance(value, bool) or not isinstance(value, int) or not conforms(value, fmt or ""):
            size = {"int32": "a 32-bit integer", "int64": "a 64-bit integer"}.get(fmt or "")
            raise ValueError(f"{name} must be {size or 'an integer'}, got {value!r}")
        return value
    if "array" in kinds:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name} must be a list of strings or null")
        return list(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string or null, got {value!r}")
    return value


def check_fields(fields: Mapping[str, Any], properties: Mapping[str, JsonDict]) -> JsonDict:
    """Every given field checked against its schema in `properties` (the admin API's fields)."""
    return {name: _checked(name, properties[name], value) for name, value in fields.items()}


def spec_dir() -> Path:
    """Where the specs are, as for the app: MOCKSERVER_SPEC_DIR, else the package's own."""
    return Path(os.environ.get("MOCKSERVER_SPEC_DIR") or _OWN_SPECS)


@functools.cache
def spec_document(spec_file: str) -> JsonDict:
    """A provider's spec as read, cached: the kit's spec readers share it, none changes it."""
    path = spec_dir() / spec_file
    if not path.exists():  # a spec folder of other providers (tests): the package's own spec
        path = _OWN_SPECS / spec_file
    document: JsonDict = read_yaml(path)
    return document


def _schemas(spec_file: str) -> JsonDict:
    schemas: JsonDict = spec_document(spec_file)["components"]["schemas"]
    return schemas


def spec_schema(spec_file: str, schema: str) -> JsonDict:
    """The schema the spec states in `components/schemas/<schema>` (its `$ref`s unresolved)."""
    found: JsonDict = _schemas(spec_file)[schema]
    return found


def spec_enum(spec_file: str, schema: str, field: str | None = None) -> tuple[str, ...]:
    """The values of an enum the spec states in `components/schemas/<schema>` (or in that
    schema's property `field`: an enum stated inline, or a `$ref` to one)."""
    found = _schemas(spec_file)[schema]
    if field is not None:
        found = found["properties"][field]
        if "$ref" in found:
            found = _schemas(spec_file)[found["$ref"].rsplit("/", 1)[1]]
    return tuple(str(value) for value in found["enum"])


def spec_fields(spec_file: str, schema: str) -> tuple[str, ...]:
    """The property names of `components/schemas/<schema>`, in the spec's order."""
    return tuple(_schemas(spec_file)[schema]["properties"])


def spec_example(spec_file: str, example: str) -> Any:
    """A copy of the value of the example the spec states in `components/examples/<example>`."""
    return copy.deepcopy(spec_document(spec_file)["components"]["examples"][example]["value"])


def spec_bodies(spec_file: str) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """operationId → the fields of its JSON body as the spec states them (a `$ref` to a
    component schema): the required ones in the spec's order, and the optional ones."""
    found: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for item in spec_document(spec_file)["paths"].values():
        for operation in (o for o in item.values() if isinstance(o, dict)):  # not `parameters`
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            ref = (body or {}).get("schema", {}).get("$ref")
            if ref is not None:
                schema = _schemas(spec_file)[ref.rsplit("/", 1)[1]]
                required = tuple(schema.get("required", ()))
                optional = tuple(n for n in schema.get("properties", {}) if n not in required)
                found[operation["operationId"]] = (required, optional)
    return found


def spec_error_operations(spec_file: str, schema: str) -> frozenset[str]:
    """The operationIds whose `default` response (a `$ref` to a component response followed)
    is a JSON body of `components/schemas/<schema>`: the operations answering errors so."""
    document, found = spec_document(spec_file), set()
    wanted = f"#/components/schemas/{schema}"
    for item in document["paths"].values():
        for operation in (o for o in item.values() if isinstance(o, dict)):  # not `parameters`
            response = operation.get("responses", {}).get("default", {})
            if "$ref" in response:
                response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            body = response.get("content", {}).get("application/json", {})
            if body.get("schema", {}).get("$ref") == wanted:
                found.add(operation["operationId"])
    return frozenset(found)


class AdminFields:
    """The fields `admin_create` is given (the admin API's, a fixture's consent), taken one by
    one with their checks: `status` at once; what is left at the end is refused (`done`)."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.left = dict(fields)
        self.status: str = self.left.pop("status")

    def __contains__(self, name: str) -> bool:
        return name in self.left

    def pop(self, name: str, default: Any = None) -> Any:
        return self.left.pop(name, default)

    def uuid(self, name: str) -> str:
        """A uuid field as given (a new one when absent), checked."""
        value = str(self.left.pop(name, None) or uuid.uuid4())
        check_uuid(value, name)
        return value

    def instant(self, name: str, default: datetime) -> datetime:
        return instant_field(self.left.pop(name, None), default, name)

    def text(self, name: str) -> str | None:
        """An optional non-empty string field."""
        return optional_text(self.left.pop(name, None), name)

    def texts(self, *names: str) -> JsonDict:
        """The fields of `names` that were given, each an optional non-empty string (`text`)."""
        return {name: self.text(name) for name in names if name in self.left}

    def instants(self, *names: str) -> dict[str, datetime]:
        """The fields of `names` given a value, each an RFC 3339 date-time; a null one is left
        (for `done` to refuse)."""
        return {n: self.instant(n, datetime.min) for n in names if self.left.get(n) is not None}

    def checked(self, checks: Mapping[str, Callable[[Any], bool]], refused: str) -> JsonDict:
        """The fields of `checks` that were given, each one passing its check; else a
        ValueError, `refused` formatted with the field's `name` and `value` (its repr)."""
        taken: JsonDict = {}
        for name, check in checks.items():
            if name in self.left:
                value = self.left.pop(name)
                if not check(value):
                    raise ValueError(refused.format(name=name, value=repr(value)))
                taken[name] = value
        return taken

    def against(self, properties: Mapping[str, JsonDict], named: str) -> JsonDict:
        """Every field left, checked against its schema in `properties` (`check_fields`); any
        other is refused, the allowed ones said as `named` (taken before) and `properties`."""
        refuse_unknown(set(self.left) - set(properties), ", ".join((named, *properties)))
        return check_fields(self.left, properties)

    def done(self, allowed: str, what: str = "unknown consent fields") -> None:
        """Refuse the fields no check took, saying which are `allowed`."""
        refuse_unknown(self.left, allowed, what)
