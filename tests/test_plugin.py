"""The pytest plugin, run on the examples: fixtures, per-test tenants, and the contract check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"

pytest_plugins = ["pytester"]


@pytest.fixture
def examples(pytester: pytest.Pytester) -> pytest.Pytester:
    for name in ("api1_client.py", "test_api1_client.py"):
        shutil.copy(EXAMPLES / name, pytester.path / name)
    return pytester


def test_examples_pass_and_catch_the_broken_client(examples: pytest.Pytester) -> None:
    result = examples.runpytest_subprocess(
        "--mockserver-contract",
        "-p",
        "no:cacheprovider",
        "--mockserver-arg=--provider",
        "--mockserver-arg=api1",
    )
    result.assert_outcomes(passed=2, xfailed=2)


def test_the_failure_names_the_violation(examples: pytest.Pytester) -> None:
    source = (examples.path / "test_api1_client.py").read_text()
    (examples.path / "test_api1_client.py").write_text(source.replace("@pytest.mark.xfail", "# "))
    result = examples.runpytest_subprocess(
        "--mockserver-contract",
        "-p",
        "no:cacheprovider",
        "--mockserver-arg=--provider",
        "--mockserver-arg=api1",
    )
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*ContractBroken: 1 request(s) broke the contract:*",
            "*GET /api1/api/v1/consents → 400: query Status: 'active' does not match*",
            "*POST /api1/api/v1/consents → 400: header x-correlation-id: is required*",
        ]
    )


def test_without_the_check_the_broken_client_passes(examples: pytest.Pytester) -> None:
    source = (examples.path / "test_api1_client.py").read_text()
    (examples.path / "test_api1_client.py").write_text(source.replace("@pytest.mark.xfail", "# "))
    result = examples.runpytest_subprocess(
        "-p", "no:cacheprovider", "--mockserver-arg=--provider", "--mockserver-arg=api1"
    )
    result.assert_outcomes(passed=4)


def test_the_marker_turns_the_check_on_for_one_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, pytest

        @pytest.mark.mockserver_contract
        def test_marked(mockserver):
            httpx.get(mockserver.url("api1") + "/api/v1/consents",
                      headers={"x-api-key": mockserver.tenant})

        def test_unmarked(mockserver):
            httpx.get(mockserver.url("api1") + "/api/v1/consents",
                      headers={"x-api-key": mockserver.tenant})
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--mockserver-arg=--provider", "--mockserver-arg=api1"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*FAILED*test_marked*"])


def test_tests_run_in_parallel_with_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import uuid, httpx, pytest

        @pytest.mark.parametrize("n", range(6))
        def test_isolated(mockserver, n):
            headers = {"x-api-key": mockserver.tenant, "x-correlation-id": str(uuid.uuid4())}
            url = mockserver.url("api1") + "/api/v1/consents"
            httpx.post(url, json={"name": f"n{n}"}, headers=headers)
            mockserver.admin.advance_clock("P30D")  # purges CREATED consents, for this tenant only
            assert httpx.get(url, headers=headers).json()["meta"]["totalCount"] == 0
            mockserver.admin.create_consent("api1", "ACCEPTED")
            assert httpx.get(url, headers=headers).json()["meta"]["totalCount"] == 1
        """
    )
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider", "--mockserver-arg=--provider", "--mockserver-arg=api1"
    )
    result.assert_outcomes(passed=6)


def test_the_webhook_example_passes(pytester: pytest.Pytester) -> None:
    shutil.copy(EXAMPLES / "test_webhook_receiver.py", pytester.path / "test_webhook_receiver.py")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--mockserver-arg=--provider", "--mockserver-arg=api1"
    )
    result.assert_outcomes(passed=3)
