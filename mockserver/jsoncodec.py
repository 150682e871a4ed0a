"""JSON encoding for the hot paths (response bodies, the journal, the stores' records):
orjson, with the standard library for what orjson refuses.

orjson encodes a journal entry in about a tenth of the time `json` takes (1 µs against 11 µs
here); on a GET that was about a tenth of the CPU. Its output
is what `json.dumps(value, separators=(",", ":"), ensure_ascii=False)` writes for the values
the simulator handles (tests/test_jsoncodec.py compares them on generated values), except:

- integers beyond 64 bits, dicts with keys that are not strings, and strings with lone
  surrogates: orjson refuses them, and the standard library writes them as before;
- NaN and infinities, which JSON does not have: orjson writes `null`, where the standard
  library wrote `NaN`, which no JSON parser reads. The API refuses them in request bodies
  (400, malformed body), so they can only come from elsewhere (an admin document);
- floats that need an exponent: `1e+16` is written `1e16` (the same number).

Decoding stays with the standard library: orjson reads an integer beyond 64 bits as a float,
which would change a stored or posted number. `loads` is the one parser for what clients send
(provider APIs, the control plane, the sandbox pages): it refuses, with a ValueError, what JSON
does not have (NaN, Infinity) and documents nested deeper than `MAX_DEPTH`, which would
otherwise overflow Python's recursion (the parser's, a validator's, a deep copy's, orjson's
255-level limit when the journal or a store writes the value) far from the request.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["MAX_DEPTH", "copy_json", "dumps", "dumps_bytes", "loads"]

MAX_DEPTH = 64  # nesting levels of a request body; no provider's documents come near it

_std_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# Datetimes and dataclasses go to `default` (or fail), as with the standard library, rather
# than orjson's own forms of them.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps_bytes(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact UTF-8 JSON; `default` as in json.dumps, for values JSON has no form for."""
    try:
        return orjson.dumps(value, default=default, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is one: see the module's docstring
        return _standard(value, default).encode()


def dumps(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """Compact JSON text (not ASCII-escaped)."""
    try:
        return orjson.dumps(value, default=default, option=_OPTIONS).decode()
    except TypeError:
        return _standard(value, default)


def _standard(value: Any, default: Callable[[Any], Any] | None) -> str:
    if default is None:
        return _std_dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=default)


def _refuse_constant(name: str) -> Any:
    """json.loads accepts NaN, Infinity and -Infinity, which JSON (RFC 8259) does not have."""
    raise ValueError(f"{name} is not a JSON value")


# json.loads(raw, parse_constant=...) builds a decoder and its scanner on every call (a third
# of a create's parsing); one is kept instead, as json.loads keeps its default one.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _as_text(raw: bytes | str) -> str:
    """What json.loads decodes: bytes in the encoding they are in; a str with a BOM refused."""
    if isinstance(raw, str):
        if raw.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
        return raw
    return raw.decode(json.detect_encoding(raw), "surrogatepass")


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON a client sent; ValueError (never RecursionError) for anything refused."""
    # Counting brackets is C-fast and bounds the depth from above: the walk below runs only
    # for a body with more than max_depth of them (a large list, or a hostile one).
    if isinstance(raw, bytes):
        opens = raw.count(b"[") + raw.count(b"{")
    else:
        opens = raw.count("[") + raw.count("{")
    try:
        value = _DECODER.decode(_as_text(raw))
    except RecursionError:
        raise ValueError(f"it is nested deeper than {max_depth} levels") from None
    if opens > max_depth and _deeper_than(value, max_depth):
        raise ValueError(f"it is nested deeper than {max_depth} levels")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


_ATOMS = frozenset((str, int, float, bool, type(None)))


def copy_json(value: Any) -> Any:
    """copy.deepcopy for JSON-shaped data (dicts, lists, scalars) in a fifth of its time;
    anything else goes to deepcopy. Every create and PATCH copies a consent on the way in,
    and a PATCH once more for its change. (Unlike deepcopy it does not keep a sub-document
    that occurs twice shared: a consent read from any store never has one.)"""
    kind = type(value)
    if kind is dict:
        # An atom is kept without a call: most of a consent's values are.
        return {
            key: item if type(item) in _ATOMS else copy_json(item) for key, item in value.items()
        }
    if kind is list:
        return [item if type(item) in _ATOMS else copy_json(item) for item in value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value)
