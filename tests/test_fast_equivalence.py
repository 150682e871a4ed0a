"""The engine's shortcuts give what the werkzeug calls they replace give, on generated input."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import EnvironHeaders
from werkzeug.wrappers import Request

from mockserver import jsoncodec
from mockserver.engine.exchange import header, mimetype
from mockserver.engine.journaling import journal_headers
from mockserver.journal import mask_headers
from mockserver.providers import KNOWN
from mockserver.spec import load_spec
from mockserver.validation import violations_of

SPECS = Path(__file__).resolve().parent.parent / "specs"

_NAMES = st.sampled_from(
    [
        "Authorization",
        "Cookie",
        "X-Api-Key",
        "x-api-key",
        "X-Correlation-Id",
        "If-Match",
        "Content-Type",
        "Content-Length",
        "Proxy-Authorization",
        "Consent",
    ]
) | st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,12}", fullmatch=True)
_VALUES = st.sampled_from(["", "Basic dXNlcjpwdw==", "Bearer abc", "Basic !!", "x"]) | st.text(
    max_size=12
)
_KEYS = st.sampled_from(
    ["CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "PATH_INFO"]
) | _NAMES.map(lambda name: "HTTP_" + name.upper().replace("-", "_"))
_SECRETS = st.frozensets(st.sampled_from(["consent", "x-api-key", "cookie", "content-type"]))


@settings(max_examples=400)
@given(st.dictionaries(_KEYS, _VALUES, max_size=8), _SECRETS, _SECRETS)
def test_journal_headers_are_mask_headers_of_werkzeugs_items(
    environ: dict[str, str], secret: frozenset[str], other: frozenset[str]
) -> None:
    expected = mask_headers(EnvironHeaders(environ).items(), secret)
    assert journal_headers(environ, secret) == expected
    assert list(journal_headers(environ, secret)) == list(expected)  # the same order
    assert journal_headers(environ, other) == mask_headers(EnvironHeaders(environ).items(), other)


@settings(max_examples=400)
@given(st.dictionaries(_KEYS, _VALUES, max_size=8), _NAMES)
def test_header_is_what_werkzeug_headers_get_answers(environ: dict[str, str], name: str) -> None:
    request = cast(Request, SimpleNamespace(environ=environ))  # header() reads only this
    assert header(request, name) == EnvironHeaders(environ).get(name)


def _outcome(parse: Callable[[Any], Any], raw: Any) -> str:
    try:
        return repr(parse(raw))
    except (ValueError, RecursionError) as exc:
        return f"{type(exc).__name__}: {exc}"


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
).map(json.dumps)


@settings(max_examples=400)
@given(
    _JSONISH
    | st.text(alphabet='{}[]",:0123456789.eE+-ntrufalsNI\\ufeff ', max_size=16)
    | st.binary(max_size=16),
    st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "utf-32", "text"]),
)
def test_loads_parses_and_refuses_as_json_loads_did(text: str | bytes, encoding: str) -> None:
    raw: str | bytes = text
    if isinstance(text, str) and encoding != "text":
        raw = text.encode(encoding, "surrogatepass")
    before = _outcome(lambda r: json.loads(r, parse_constant=jsoncodec._refuse_constant), raw)
    assert _outcome(jsoncodec.loads, raw) == before


_VALUES_ANY = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 300)
    | st.floats(allow_nan=False)
    | st.sampled_from(["", "a", "Acme AB", "2024-01-02", "2024-01-02T03:04:05Z", str(uuid4())])
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["name", "status", "id", "x", "redirectUrl"]), inner)
    ),
    max_leaves=6,
)


def _quick_checks() -> list[tuple[str, Callable[[Any], bool], Any]]:
    """Every quick check of the five specs, with the validator it stands in for."""
    found = []
    for provider in KNOWN:
        spec = load_spec(provider, SPECS / f"{provider}.yaml")
        for op in spec.operations.values():
            for media, quick in op.body_quick.items():
                if quick is not None:
                    found.append((f"{op.operation_id} body", quick, op.body_media[media]))
            for param in op.params:
                if param.quick is not None:
                    found.append((f"{op.operation_id} {param.name}", param.quick, param.validator))
    return found


QUICK = _quick_checks()


@settings(max_examples=300)
@given(st.sampled_from(QUICK), _VALUES_ANY)
def test_a_quick_check_passes_only_what_its_validator_passes(
    check: tuple[str, Callable[[Any], bool], Any], value: Any
) -> None:
    where, quick, validator = check
    if quick(value):
        assert violations_of(validator, value, "body") == [], where


@settings(max_examples=300)
@given(
    st.sampled_from(["application/json", "Application/JSON; charset=utf-8", "text/plain;a=b", ""])
    | st.text(max_size=20)
)
def test_mimetype_is_werkzeugs(content_type: str) -> None:
    for _ in range(2):  # parsed, then remembered
        request = Request({"CONTENT_TYPE": content_type, "REQUEST_METHOD": "POST"})
        assert mimetype(request) == (request.mimetype or "")


@settings(max_examples=300)
@given(_VALUES_ANY)
def test_copy_json_equals_deepcopy_and_shares_no_container(value: Any) -> None:
    copied = jsoncodec.copy_json(value)
    assert copied == copy.deepcopy(value)
    originals = {id(c) for c in _containers(value)}
    assert not originals & {id(c) for c in _containers(copied)}


def _containers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value, *(c for item in value.values() for c in _containers(item))]
    if isinstance(value, list):
        return [value, *(c for item in value for c in _containers(item))]
    return []
