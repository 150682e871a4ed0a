"""The spec's words as tables: `x-enumDescriptions` (enum values), `x-errorMessage` (refusals)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .fields import spec_document, spec_schema

__all__ = ["spec_enum_descriptions", "spec_error_messages"]

JsonDict = dict[str, Any]


def spec_enum_descriptions(spec_file: str, schema: str, field: str | None = None) -> dict[str, str]:
    """Each value of an enum → the words the spec's `x-enumDescriptions` (a map beside the
    enum) gives it, in the enum's order: in `components/schemas/<schema>`, or in that schema's
    property `field` (inline, or a `$ref` to one). Every value must have words, and only those."""
    found = spec_schema(spec_file, schema)
    if field is not None:
        found = found["properties"][field]
        if "$ref" in found:
            found = spec_schema(spec_file, found["$ref"].rsplit("/", 1)[1])
    values, words = [str(v) for v in found["enum"]], found.get("x-enumDescriptions", {})
    if set(values) != set(words):
        raise ValueError(
            f"{spec_file} {schema}: x-enumDescriptions gives words for {sorted(words)}, "
            f"the enum has {sorted(values)}"
        )
    return {value: str(words[value]) for value in values}


def spec_error_messages(spec_file: str) -> dict[tuple[str, str], str]:
    """(field, the schema keyword it broke) → the words the spec gives that refusal: each
    `x-errorMessage` (keyword → words, as ajv-errors reads `errorMessage`) of a parameter
    (beside its `schema`) or in a schema's property, named by the parameter or the property
    (`kit.explain` takes the table). Two words for one field's keyword are a ValueError."""
    found: dict[tuple[str, str], str] = {}
    for name, schema in _named_schemas(spec_document(spec_file)):
        for keyword, words in schema.get("x-errorMessage", {}).items():
            if found.setdefault((name, keyword), str(words)) != words:
                raise ValueError(f"{spec_file}: {name} has two x-errorMessage for {keyword}")
    return found


def _named_schemas(node: Any) -> Iterator[tuple[str, JsonDict]]:
    """Every parameter (by its name) and every property's schema (by the property's name)."""
    if isinstance(node, list):
        for item in node:
            yield from _named_schemas(item)
    elif isinstance(node, dict):
        if "in" in node and isinstance(node.get("schema"), dict):  # a parameter: beside its schema
            yield str(node["name"]), node
        properties = node.get("properties")
        if isinstance(properties, dict):
            yield from ((str(k), v) for k, v in properties.items() if isinstance(v, dict))
        for value in node.values():
            yield from _named_schemas(value)
