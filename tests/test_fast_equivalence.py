"""The engine's shortcuts give what the werkzeug calls they replace give, on generated input."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import EnvironHeaders
from werkzeug.wrappers import Request

from mockserver.engine.exchange import header
from mockserver.engine.journaling import journal_headers
from mockserver.journal import mask_headers

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
