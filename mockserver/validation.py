"""Schema validators compiled once, string coercion for parameters, and violation reports."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

__all__ = ["FORMATS", "Violation", "coerce", "compile_schema", "violations_of"]

FORMATS = FormatChecker(formats=())
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@FORMATS.checks("uuid")
def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _UUID.match(value):
        return False
    uuid.UUID(value)
    return True


@FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE.match(value):
        return False
    date.fromisoformat(value)
    return True


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    # RFC 3339 allows a leap second, which Python's datetime cannot hold.
    text = value.upper().replace(":60", ":59", 1) if value[17:19] == "60" else value.upper()
    datetime.fromisoformat(text)
    return True


@FORMATS.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


@FORMATS.checks("int32")
def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@FORMATS.checks("int64")
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


def compile_schema(schema: dict[str, Any]) -> Draft202012Validator:
    """Build a validator once; the schema must already have its $refs resolved."""
    return Draft202012Validator(schema, format_checker=FORMATS)


def violations_of(
    validator: Draft202012Validator, instance: Any, location: str, name: str = ""
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
