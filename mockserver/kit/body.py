"""A JSON body's fields checked before the tenant is known: credentials in the body."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..behaviour import ApiError, Context

__all__ = ["BodyFields"]

JsonDict = dict[str, Any]
# A field's own check: the code it refuses with, whether a value passes, and the message.
Rule = tuple[str, Callable[[Any], bool], str]


@dataclass(frozen=True, slots=True)
class BodyFields:
    """Each operation's JSON body checked as the spec declares it (`bodies`: `spec_bodies`),
    the first failure answering: not a JSON object, required fields missing (named in the
    spec's order), fields the operation does not take, each of `texts` (in its order) that is
    not a non-empty string, each of `rules` whose check fails. `refuse(code, message)` makes
    the provider's error; `codes` names the first three refusals' codes."""

    bodies: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]
    texts: Mapping[str, str]  # field → its code when it is not a non-empty string
    refuse: Callable[[str, str], ApiError]
    rules: Mapping[str, Rule] = field(default_factory=dict)
    codes: tuple[str, str, str] = ("invalid_body", "missing_fields", "unknown_fields")

    def check(self, ctx: Context) -> tuple[JsonDict, tuple[str, ...]]:
        """The body, and the fields its operation requires; else the first refusal."""
        body = ctx.body
        if not isinstance(body, dict):
            raise self.refuse(self.codes[0], "The request body must be a JSON object.")
        required, optional = self.bodies.get(ctx.operation_id, ((), ()))
        missing = [name for name in required if name not in body]
        if missing:
            raise self.refuse(self.codes[1], f"Missing fields: {', '.join(missing)}")
        unknown = sorted(set(body) - {*required, *optional})
        if unknown:
            raise self.refuse(self.codes[2], f"Unknown fields: {', '.join(unknown)}")
        for name, code in self.texts.items():
            if name in body and (not isinstance(body[name], str) or not body[name]):
                raise self.refuse(code, f"{name} must be a non-empty string")
        for name, (code, passes, message) in self.rules.items():
            if name in body and not passes(body[name]):
                raise self.refuse(code, message)
        return body, required

    def code_of(self, err: ApiError, default: str) -> str:
        """The code `check` would give the first of the engine's schema violations (a safety
        net: the engine's own check runs after `identify`); `default` for any other field."""
        for violation in err.violations:
            if violation.schema_path.endswith("required"):
                return self.codes[1]
            if "additionalProperties" in violation.schema_path:
                return self.codes[2]
            name = violation.name.split("/", 1)[0]
            if name in self.texts:
                return self.texts[name]
            if name in self.rules:
                return self.rules[name][0]
            if not name:
                return self.codes[0]
        return default
