"""The words a spec gives each value of an enum (`x-enumDescriptions`), read as a table."""

from __future__ import annotations

from .fields import spec_schema

__all__ = ["spec_enum_descriptions"]


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
