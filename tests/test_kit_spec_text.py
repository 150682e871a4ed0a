"""kit.spec_enum_descriptions: an enum's words read from the spec's x-enumDescriptions."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver import kit

_SPEC = """\
openapi: 3.1.0
info: {title: t, version: '1'}
paths: {}
components:
  schemas:
    Code:
      type: string
      enum: [b_code, a_code]
      x-enumDescriptions: {a_code: The first., b_code: The second.}
    Error:
      type: object
      properties:
        code: {$ref: '#/components/schemas/Code'}
        kind:
          type: string
          enum: [only]
          x-enumDescriptions: {only: Inline words.}
        short:
          type: string
          enum: [one, two]
          x-enumDescriptions: {one: Words., three: Others.}
"""


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"words-{tmp_path.name}.yaml"  # the kit caches a spec by its file name
    (tmp_path / name).write_text(_SPEC)
    monkeypatch.setenv("MOCKSERVER_SPEC_DIR", str(tmp_path))
    return name


def test_the_words_follow_the_enum_s_order(spec: str) -> None:
    words = kit.spec_enum_descriptions(spec, "Code")
    assert list(words.items()) == [("b_code", "The second."), ("a_code", "The first.")]


def test_a_property_s_enum_inline_or_by_ref(spec: str) -> None:
    assert kit.spec_enum_descriptions(spec, "Error", "kind") == {"only": "Inline words."}
    assert kit.spec_enum_descriptions(spec, "Error", "code") == kit.spec_enum_descriptions(
        spec, "Code"
    )


def test_a_value_without_words_or_words_without_a_value_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=r"\['one', 'three'\].*\['one', 'two'\]"):
        kit.spec_enum_descriptions(spec, "Error", "short")


def test_atto_s_error_codes_all_have_their_description() -> None:
    words = kit.spec_enum_descriptions("atto.yaml", "Error", "code")
    assert tuple(words) == kit.spec_enum("atto.yaml", "Error", "code")
    assert words["consent_not_found"] == "Consent for the provided consent id was not found."
