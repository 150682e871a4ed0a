"""kit.trace_hex: a request's id as the tracing id an error body or metadata carries."""

from __future__ import annotations

import re

from mockserver import kit


def test_a_uuid_request_id_is_its_32_hex_digits() -> None:
    request_id = "0B0F873B-2114-4068-9F27-F52C449274D2"
    assert kit.trace_hex(request_id) == "0b0f873b211440689f27f52c449274d2"


def test_another_id_gets_a_fresh_random_tracing_id_each_time() -> None:
    first, second = kit.trace_hex("admin"), kit.trace_hex("admin")
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second
