"""Schema validators compiled once, string coercion for parameters, and violation reports."""

from __future__ import annotations

import functools
import operator
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker

__all__ = ["Validator", "Violation", "coerce", "compile_schema", "conforms", "violations_of"]

# The formats checked, each with the exceptions that mean "does not conform". jsonschema itself
# is imported only when a value first needs its validator (an invalid or complex one): the
# import and the validators' construction were a fifth of `mockserver serve`'s start-up.
_FORMAT_CHECKS: dict[str, tuple[Callable[[object], bool], tuple[type[Exception], ...]]] = {}


def _format(
    name: str, raises: tuple[type[Exception], ...] = ()
) -> Callable[[Callable[[object], bool]], Callable[[object], bool]]:
    def register(check: Callable[[object], bool]) -> Callable[[object], bool]:
        _FORMAT_CHECKS[name] = (check, raises)
        return check

    return register


def conforms(value: object, fmt: str) -> bool:
    """What jsonschema's format check with our formats answers; other formats always hold
    (an annotation only, as JSON Schema 2020-12 has it by default)."""
    found = _FORMAT_CHECKS.get(fmt)
    if found is None:
        return True
    check, raises = found
    try:
        return check(value)
    except raises:
        return False


@functools.cache
def format_checker() -> FormatChecker:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, (check, raises) in _FORMAT_CHECKS.items():
        checker.checks(name, raises=raises)(check)
    return checker


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _well_formed(
    value: object, shaped: Callable[[str], object], parse: Callable[[str], object]
) -> bool:
    """A format a regular expression outlines and a parser confirms. A non-string holds (the
    format says nothing of it); a string must have the shape, then parse: what the parser
    raises is the format's `raises`, so a string of the right shape but no real value (a
    13th month) does not conform."""
    if not isinstance(value, str):
        return True
    if not shaped(value):
        return False
    parse(value)
    return True


@_format("uuid")
def _is_uuid(value: object) -> bool:
    return _well_formed(value, _UUID.fullmatch, uuid.UUID)


@_format("date", raises=(ValueError,))
def _is_date(value: object) -> bool:
    return _well_formed(value, _DATE.match, date.fromisoformat)


def _parse_date_time(text: str) -> datetime:
    # RFC 3339 allows a leap second, which Python's datetime cannot hold.
    upper = text.upper()
    return datetime.fromisoformat(upper.replace(":60", ":59", 1) if text[17:19] == "60" else upper)


@_format("date-time", raises=(ValueError,))
def _is_date_time(value: object) -> bool:
    return _well_formed(value, _DATE_TIME.match, _parse_date_time)


# RFC 3339 Appendix A, as JSON Schema 2020-12 (and so Schemathesis) reads `format: duration`:
# whole numbers only, e.g. PT2159H59M55S; a fraction such as 55.921S is not a duration.
_DURATION = re.compile(
    r"^P(?:\d+W"
    r"|(?:\d+D|\d+M(?:\d+D)?|\d+Y(?:\d+M(?:\d+D)?)?)(?:T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S))?"
    r"|T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S))$"
)


@_format("duration")
def _is_duration(value: object) -> bool:
    return not isinstance(value, str) or bool(_DURATION.match(value))


@_format("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


@_format("int32")
def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@_format("int64")
def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


@dataclass(slots=True, frozen=True)
class Violation:
    """One way a request or response broke the contract."""

    location: str  # path | query | header | body | status | response-header | response-body
    name: str
    message: str
    schema_path: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "in": self.location,
            "name": self.name,
            "message": self.message,
            "schemaPath": self.schema_path,
        }

    def __str__(self) -> str:
        where = f"{self.location} {self.name}".strip()
        return f"{where}: {self.message}"


class Validator:
    """A JSON Schema 2020-12 validator with our formats, built on its first use."""

    __slots__ = ("_built", "schema")

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self._built: Draft202012Validator | None = None

    def iter_errors(self, instance: Any) -> Iterator[Any]:
        built = self._built
        if built is None:
            from jsonschema import Draft202012Validator

            built = self._built = Draft202012Validator(self.schema, format_checker=format_checker())
        return built.iter_errors(instance)


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A validator for the schema, which must already have its $refs resolved."""
    return Validator(schema)


def violations_of(
    validator: Validator, instance: Any, location: str, name: str = ""
) -> list[Violation]:
    """Every way an instance breaks a schema, as violations sorted by path."""
    found: list[Violation] = []
    for error in validator.iter_errors(instance):
        pointer = "/".join(str(part) for part in error.absolute_path)
        label = f"{name}/{pointer}" if name and pointer else (name or pointer)
        found.append(
            Violation(
                location,
                label,
                error.message,
                "/".join(str(part) for part in error.absolute_schema_path),
            )
        )
    found.sort(key=lambda v: v.name)
    return found


# Keywords that never make an instance invalid.
_ANNOTATIONS = frozenset(
    {"description", "default", "example", "examples", "title", "deprecated", "$comment"}
    | {"readOnly", "writeOnly"}
)
_QUICK_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
_QUICK_KEYWORDS = frozenset(
    {"type", "format", "enum", "const", "pattern", "allOf"}
    | {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"}
    | {"properties", "required", "additionalProperties"}
)
# Values compared by type and value: jsonschema's equality tells True from 1, as this does.
_PLAIN = (str, int, bool, type(None))


def quick_check(schema: Any) -> Callable[[Any], bool] | None:
    """A plain-Python test for a simple schema (types, format, enum, const, bounds, lengths,
    pattern, and objects of such properties) that answers True only where the validator
    would find nothing wrong. False means "ask the validator", which then names the
    violations; None: a keyword it does not know (the validator always runs).
    Running jsonschema on every valid parameter and body was a tenth of a request's CPU.
    """
    if schema is True or schema == {}:
        return _always
    if not isinstance(schema, dict) or set(schema) - _ANNOTATIONS - _QUICK_KEYWORDS:
        return None
    checks: list[Callable[[Any], bool]] = []
    kind = schema.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else kind
        if not isinstance(kinds, list) or not kinds or not all(k in _QUICK_TYPES for k in kinds):
            return None
        of_type = [_QUICK_TYPES[k] for k in kinds]
        checks.append(of_type[0] if len(of_type) == 1 else lambda v: any(t(v) for t in of_type))
    if "format" in schema:
        fmt = str(schema["format"])
        checks.append(_QUICK_FORMATS.get(fmt) or (lambda v: conforms(v, fmt)))
    for keyword in ("enum", "const"):
        if keyword in schema:
            values = schema["enum"] if keyword == "enum" else [schema["const"]]
            if not isinstance(values, list) or not all(type(e) in _PLAIN for e in values):
                return None
            allowed = frozenset((type(e), e) for e in values)
            checks.append(functools.partial(_one_of, allowed=allowed))
    for keyword, holds in _BOUNDS.items():
        if keyword not in schema:
            continue
        bound = schema[keyword]
        if not isinstance(bound, int | float) or isinstance(bound, bool):
            return None
        if keyword.endswith("Length"):
            checks.append(functools.partial(_long_enough, bound=bound, holds=holds))
        else:
            checks.append(functools.partial(_within, bound=bound, holds=holds))
    if "pattern" in schema:
        try:
            compiled = re.compile(str(schema["pattern"]))
        except re.error:
            return None
        checks.append(lambda v: not isinstance(v, str) or compiled.search(v) is not None)
    all_of = schema.get("allOf", [])
    if not isinstance(all_of, list):
        return None
    for sub in all_of:
        quick = quick_check(sub)
        if quick is None:
            return None
        checks.append(quick)
    members = _quick_members(schema)
    if members is None:
        return None
    checks.extend(members)
    return _every(checks)


def _every(checks: list[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    """One check that holds where all hold, tried in order. A loop, not all() over a
    generator: the quick checks run on every parameter and body, nested per property."""
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    listed = tuple(checks)

    def every(value: Any) -> bool:
        for check in listed:
            if not check(value):
                return False
        return True

    return every


def _quick_members(schema: dict[str, Any]) -> list[Callable[[Any], bool]] | None:
    """Checks for properties, required and additionalProperties (objects only)."""
    checks: list[Callable[[Any], bool]] = []
    props = schema.get("properties", {})
    if not isinstance(props, dict):
        return None
    subs: dict[str, Callable[[Any], bool]] = {}
    for name, sub in props.items():
        quick = quick_check(sub)
        if quick is None:
            return None
        subs[name] = quick
    if subs:
        checks.append(functools.partial(_properties_hold, subs=tuple(subs.items())))
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
        return None
    if required:
        checks.append(lambda v: not isinstance(v, dict) or all(n in v for n in required))
    extra = schema.get("additionalProperties", True)
    if extra is False:
        checks.append(lambda v: not isinstance(v, dict) or all(k in props for k in v))
    elif extra is not True:
        quick_extra = quick_check(extra)
        if quick_extra is None:
            return None
        checks.append(
            lambda v: (
                not isinstance(v, dict)
                or all(quick_extra(x) for k, x in v.items() if k not in props)
            )
        )
    return checks


def _always(value: Any) -> bool:
    return True


def _properties_hold(value: Any, *, subs: tuple[tuple[str, Callable[[Any], bool]], ...]) -> bool:
    if not isinstance(value, dict):
        return True
    for name, quick in subs:
        if name in value and not quick(value[name]):
            return False
    return True


def _one_of(value: Any, *, allowed: frozenset[tuple[type, Any]]) -> bool:
    return type(value) in _PLAIN and (type(value), value) in allowed


_QUICK_FORMATS: dict[str, Callable[[Any], bool]] = {
    # What _is_uuid accepts, in one regex call (a full match always parses as a UUID).
    "uuid": lambda v: not isinstance(v, str) or _UUID.fullmatch(v) is not None,
}
_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": operator.ge,
    "maximum": operator.le,
    "exclusiveMinimum": operator.gt,
    "exclusiveMaximum": operator.lt,
    "minLength": operator.ge,
    "maxLength": operator.le,
}


def _within(value: Any, *, bound: float, holds: Callable[[Any, Any], bool]) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return holds(value, bound)
    return value is None or isinstance(value, str | bool)  # bounds ignore non-numbers


def _long_enough(value: Any, *, bound: float, holds: Callable[[Any, Any], bool]) -> bool:
    return not isinstance(value, str) or holds(len(value), bound)


class CoercionError(ValueError):
    """A parameter's text cannot be read as the type its schema names."""


def schema_kind(schema: dict[str, Any]) -> str:
    """The primary JSON type of a schema (the first non-null one of a type list)."""
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return str(kind)


_INTEGER = re.compile(r"^[+-]?\d+$")


def coerce(text: str, kind: str) -> Any:
    """Read one parameter value as the type its schema names (OpenAPI `simple`/`form` style)."""
    if kind == "integer":
        if not _INTEGER.match(text.strip()):
            raise CoercionError(f"{text!r} is not an integer")
        return int(text)
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise CoercionError(f"{text!r} is not a number") from None
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered not in {"true", "false"}:
            raise CoercionError(f"{text!r} is not a boolean (true or false)")
        return lowered == "true"
    return text
