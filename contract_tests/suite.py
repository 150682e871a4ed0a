"""The suite's machinery: targets, schemas, settings from pyproject.toml, stateful machines."""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hypothesis
import pytest
import schemathesis
from schemathesis import Response
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.filters import FilterSet
from schemathesis.specs.openapi.schemas import OpenApiSchema

from mockserver import ContractViolation
from mockserver.app import default_spec_dir

from .known import xfail_if_known
from .profiles import LIVE_WRITES_ENV, PROFILES, Profile

if TYPE_CHECKING:
    # Schemathesis's alias of its generic Case for an OpenAPI operation (for type checkers only)
    from schemathesis.specs.openapi.schemas import OpenApiCase as Case

ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = ROOT / "schemathesis.toml"
DEEP_ENV = "MOCKSERVER_DEEP"
TARGETS = ("wsgi", "http", "live")
WSGI_ORIGIN = "http://localhost"
SAFE_METHODS = ("options", "trace")


@dataclass(frozen=True, slots=True)
class Budget:
    """Example counts and the seed: `[tool.mockserver.contract]` in pyproject.toml."""

    seed: int
    max_examples: int
    stateful_max_examples: int
    stateful_max_steps: int
    min_requests: int  # per provider; 0 = no floor

    @classmethod
    def load(cls, *, deep: bool) -> Budget:
        table = tomllib.loads((ROOT / "pyproject.toml").read_text())
        settings = table["tool"]["mockserver"]["contract"]
        prefix = "deep-" if deep else ""
        return cls(
            seed=int(settings["seed"]),
            max_examples=int(settings[f"{prefix}max-examples"]),
            stateful_max_examples=int(settings[f"{prefix}stateful-max-examples"]),
            stateful_max_steps=int(settings[f"{prefix}stateful-max-steps"]),
            min_requests=int(settings["deep-min-requests"]) if deep else 0,
        )


@dataclass(slots=True)
class Target:
    """Where the suite sends its requests, and what it may do there."""

    kind: str
    budget: Budget
    app: Any = None  # the in-process Flask app for `wsgi`
    base_urls: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # provider → why it is not tested
    writes: bool = True
    requests: Counter[str] = field(default_factory=Counter)  # generated requests per provider
    journeys: Counter[tuple[str, str, int]] = field(default_factory=Counter)  # stateful answers

    def base_url(self, provider: str) -> str:
        return self.base_urls.get(provider) or f"{WSGI_ORIGIN}/{provider}"

    def skip_unless_ready(self, provider: str) -> None:
        if provider in self.skipped:
            pytest.skip(self.skipped[provider])

    def skip_unless_allowed(self, provider: str, operation_id: str) -> None:
        self.skip_unless_ready(provider)
        if not self.writes and operation_id not in PROFILES[provider].read_only:
            pytest.skip(
                f"{provider} {operation_id} writes: live runs are read-only unless "
                f"{LIVE_WRITES_ENV}=1"
            )


_TARGET: list[Target] = []


def current() -> Target:
    if not _TARGET:
        raise RuntimeError("the contract suite's conftest did not configure a target")
    return _TARGET[0]


def set_current(target: Target) -> None:
    _TARGET[:] = [target]


def load_schema(provider: str, target: Target) -> OpenApiSchema:
    """The provider's spec as a Schemathesis schema aimed at the target, budget applied."""
    profile = PROFILES[provider]
    config = SchemathesisConfig.from_path(str(CONFIG_FILE))
    config.update(seed=target.budget.seed, max_failures=None)
    schema = schemathesis.openapi.from_path(default_spec_dir() / profile.spec_file, config=config)
    schema.raw_schema["x-mockserver-provider"] = provider
    schema.app = target.app if target.kind == "wsgi" else None
    schema.config.update(base_url=target.base_url(provider))
    schema.config.generation.update(max_examples=target.budget.max_examples, database="none")
    if not target.writes:
        # unsupported_method probes paths with methods the spec does not declare there; on a
        # live provider without opt-in, only ones that cannot change anything.
        schema.config.phases.coverage.unexpected_methods = set(SAFE_METHODS)
    return schema


def only(schema: Any, keep: Callable[[Any], bool]) -> Any:
    """The schema restricted to the operations `keep` accepts.

    Not `schema.include(...)`: with `[[operations]]` in the config, Schemathesis 4.32 joins an
    include to the config's own filter with OR, which then selects every operation.
    """
    include = FilterSet().with_include(lambda ctx: bool(keep(ctx.operation)))
    return schema.clone(filter_set=schema.config.operations.filter_set_with(include=include))


def operation_id(case: Case) -> str:
    return str(case.operation.definition.raw.get("operationId", ""))


def provider_of(case: Case) -> str:
    return str(case.operation.schema.raw_schema["x-mockserver-provider"])


def call_and_validate(case: Case) -> Response:
    """Send one generated request to the target and run every enabled check on the answer."""
    target = current()
    provider = provider_of(case)
    target.skip_unless_allowed(provider, operation_id(case))
    target.requests[provider] += 1
    try:
        return case.call_and_validate()
    except (FailureGroup, ContractViolation, BaseExceptionGroup) as error:
        xfail_if_known(provider, operation_id(case), error)
        raise


def run_stateful(provider: str, target: Target) -> None:
    """Schemathesis's state machine for the provider's links, within the budget."""
    target.skip_unless_ready(provider)
    profile = PROFILES[provider]
    schema = load_schema(provider, target)
    if not target.writes:  # live without opt-in: journeys among read-only operations only
        schema = only(schema, lambda op: op.definition.raw.get("operationId") in profile.read_only)
    machine = state_machine(schema, target, profile)
    try:
        machine.run(settings=stateful_settings(target.budget))
    except (FailureGroup, ContractViolation, BaseExceptionGroup) as error:
        xfail_if_known(provider, None, error)
        raise


def _creates(operation: Any) -> bool:
    return operation.method.upper() == "POST" and "201" in operation.definition.raw.get(
        "responses", {}
    )


@contextmanager
def _creating_operations_are_roots() -> Iterator[None]:
    """Start journeys at every operation that answers 201 Created.

    Schemathesis 4 starts a journey only where its dependency analysis expects random data to
    succeed; it passes over a create whose body names ids that no operation of the spec produces
    (Yapily's institutionId and userUuid), which leaves that provider's lifecycle untested. A 201
    creates a resource: it is a root by definition.
    """
    from schemathesis.specs.openapi import stateful

    original = getattr(stateful, "is_likely_root_transition", None)
    if original is None:  # another Schemathesis: keep its own choice
        yield
        return

    def likely(operation: Any, node: Any, produced_anywhere: set[str]) -> bool:
        return _creates(operation) or bool(original(operation, node, produced_anywhere))

    stateful.is_likely_root_transition = likely
    try:
        yield
    finally:
        stateful.is_likely_root_transition = original


def state_machine(schema: OpenApiSchema, target: Target, profile: Profile) -> type[Any]:
    """Schemathesis's machine for the spec's links, counting the requests it sends."""
    with _creating_operations_are_roots():
        base = schema.as_state_machine()

    class ContractMachine(base):  # type: ignore[misc, valid-type]
        def before_call(self, case: Case) -> None:
            target.requests[profile.name] += 1

        def after_call(self, response: Response, case: Case) -> None:
            super().after_call(response, case)
            target.journeys[(profile.name, operation_id(case), response.status_code)] += 1

    return ContractMachine


def stateful_settings(budget: Budget) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=budget.stateful_max_examples,
        stateful_step_count=budget.stateful_max_steps,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
    )
