"""A consent's shape as the API shows it, declared: a spec's fields in order, bookkeeping hidden."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["public", "projection", "without", "renamed"]

JsonDict = dict[str, Any]


def public(data: JsonDict) -> JsonDict:
    """The fields a record shows: its bookkeeping (names starting with `_`) removed."""
    return {key: value for key, value in data.items() if not key.startswith("_")}


def projection(fields: Iterable[str], *, omit_null: bool = False) -> Callable[[JsonDict], JsonDict]:
    """A `render` showing exactly `fields` (a spec schema's, `spec_fields`), in their order,
    a field the record lacks as null (with `omit_null`, a null or missing one not at all)."""
    shown = tuple(fields)
    if omit_null:
        return lambda data: {key: data[key] for key in shown if data.get(key) is not None}
    return lambda data: {key: data.get(key) for key in shown}


def without(*names: str) -> Callable[[JsonDict], JsonDict]:
    """A copy without `names` (a `Recording`'s `to_fixture`: what the replay gives itself)."""
    dropped = frozenset(names)
    return lambda data: {key: value for key, value in data.items() if key not in dropped}


def renamed(**names: str) -> Callable[[JsonDict], JsonDict]:
    """A copy with the fields `names` names given their new names, in place (a `Recording`'s
    `to_fixture`: a field the API shows under another name than `admin_create` takes)."""
    return lambda data: {names.get(key, key): value for key, value in data.items()}
