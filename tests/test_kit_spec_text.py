"""kit.spec_enum_descriptions and kit.spec_error_messages: the spec's words read as tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver import kit

_SPEC = """\
openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /things/{thingId}:
    parameters:
      - name: thingId
        in: path
        required: true
        schema: {type: string, format: uuid}
        x-errorMessage: {format: thingId must be a uuid}
    get:
      parameters:
        - name: Order
          in: query
          schema: {type: string, pattern: '^a$'}
          x-errorMessage: {pattern: Order must be a.}
        - name: plain
          in: query
          schema: {type: string}
          x-note: none
      responses: {'200': {description: ok}}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: x-key}
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
    Body:
      type: object
      properties:
        grant:
          type: string
          enum: [x]
          x-errorMessage: {enum: grant must be x, minLength: grant is short}
        nested:
          type: object
          properties:
            deep: {type: integer, x-errorMessage: {type: deep must be a number}}
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


def test_error_messages_of_parameters_and_properties_at_any_depth(spec: str) -> None:
    assert kit.spec_error_messages(spec) == {
        ("thingId", "format"): "thingId must be a uuid",
        ("Order", "pattern"): "Order must be a.",
        ("grant", "enum"): "grant must be x",
        ("grant", "minLength"): "grant is short",
        ("deep", "type"): "deep must be a number",
    }


def test_one_field_given_two_messages_for_one_keyword_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    twice = _SPEC.replace("x-note: none", "x-errorMessage: {format: other}")
    twice = twice.replace("name: plain", "name: thingId")
    name = f"twice-{tmp_path.name}.yaml"
    (tmp_path / name).write_text(twice)
    monkeypatch.setenv("MOCKSERVER_SPEC_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="thingId has two x-errorMessage for format"):
        kit.spec_error_messages(name)
