"""Failures the suite found in providers this suite's author may not fix: reported, tracked here.

Each entry names the provider, the operation (or None for the stateful run) and evidence that
must appear in the failure. A test whose failures all match an entry is reported as xfail with
the reason; any other failure still fails. Remove an entry once its provider is fixed (the test
then passes as it should). Never add an entry for api1 or the generic engine: fix those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from schemathesis.core.failures import FailureGroup


@dataclass(frozen=True, slots=True)
class Known:
    provider: str
    operation: str | None  # None: the provider's stateful run; "*": any test of the provider
    title: str  # every failure has this title (or: the exception's class name)
    evidence: str  # a regex the failure report (with the response) must match
    reason: str


KNOWN: tuple[Known, ...] = ()


def xfail_if_known(provider: str, operation: str | None, error: BaseException) -> None:
    """Mark the running test xfail when every failure in `error` is a known, reported one.

    `error` is Schemathesis's FailureGroup, the ContractViolation strict mode raises when the
    in-process simulator is about to answer against its own spec, or a group of these (such as
    Hypothesis's FlakyFailure, when a time-dependent failure did not happen again).
    """
    for known in KNOWN:
        if known.provider == provider and known.operation in (operation, "*"):
            if _matches(known, error):
                pytest.xfail(known.reason)


def _matches(known: Known, error: BaseException) -> bool:
    if isinstance(error, FailureGroup):
        titles = {failure.title for failure in error.exceptions}
        return titles == {known.title} and bool(re.search(known.evidence, str(error)))
    if isinstance(error, BaseExceptionGroup):
        return all(_matches(known, inner) for inner in error.exceptions)
    return type(error).__name__ == known.title and bool(re.search(known.evidence, str(error)))
