"""`mockserver check`: the drift report finds what a target does that the spec does not say."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mockserver.cli import main
from mockserver.testing import RunningServer, free_port, running_server

ROOT = Path(__file__).resolve().parents[1]
LIVE_VARIABLES = ("API1_BASE_URL", "API1_API_KEY")
FAST = ["--max-examples", "3"]


@pytest.fixture(autouse=True)
def sandbox_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check signs in with live credentials when they are set; these tests want a sandbox."""
    for name in LIVE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server(
        ["--provider", "api1", "--fixtures", "none", "--credentials", "registered"]
    ) as running:
        yield running


def check(url: str, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", "--provider", "api1", "--url", url, *FAST, *extra])
    return code, capsys.readouterr().out


def section(report: str, heading: str) -> str:
    """The lines the report gives under one operation's heading."""
    assert f"\n{heading}\n" in report, report
    return report.split(f"\n{heading}\n", 1)[1].split("\n\n", 1)[0]


def test_a_simulator_that_keeps_its_spec_has_no_drift(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check(server.url("api1"), capsys=capsys)
    assert code == 0, out
    assert "No drift" in out
    assert "6 operations" in out


def test_a_fault_that_breaks_the_contract_is_reported_per_operation(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fault = server.admin.fault("api1", "getConsent", status=418, everyone=True)
    try:
        code, out = check(server.url("api1"), "--phases", "examples,fuzzing", capsys=capsys)
    finally:
        server.admin.call("DELETE", f"/faults/{fault}")
    assert code == 1
    assert "DRIFT in 2 of 6 operations" in out
    get_section = section(out, "GET /api/v1/consents/{consentId} (getConsent)")
    assert "status: received 418; documented 200, 304, 400, 401, 403, 404" in get_section
    # ... and a created consent's Location no longer resolves (our own check)
    create_section = section(out, "POST /api/v1/consents (createConsent)")
    assert (
        "check location_resolves: Custom check failed: `location_resolves`: Location does not "
        "resolve: GET " in create_section
    )
    assert "Received: 418 / Expected: 200" in create_section


def _altered_specs(tmp_path: Path) -> Path:
    """API.1's spec with two deliberate changes the real contract does not allow."""
    folder = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", folder)
    path = folder / "api1.yaml"
    spec = yaml.safe_load(path.read_text())
    # 1. GET no longer declares its ETag, so the simulator stops sending one.
    del spec["paths"]["/api/v1/consents/{consentId}"]["get"]["responses"]["200"]["headers"]
    # 2. Count may go up to 1000, so the simulator serves pages the real schema forbids.
    for parameter in spec["paths"]["/api/v1/consents"]["get"]["parameters"]:
        if parameter.get("name") == "Count":
            parameter["schema"]["maximum"] = 1000
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def test_a_simulator_with_an_altered_spec_drifts_in_headers_and_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"MOCKSERVER_SPEC_DIR": str(_altered_specs(tmp_path))}
    with running_server(
        ["--provider", "api1", "--fixtures", "none", "--credentials", "registered"], env=env
    ) as altered:
        code, out = check(altered.url("api1"), capsys=capsys)
    assert code == 1, out
    assert "header: missing required ETag" in section(
        out, "GET /api/v1/consents/{consentId} (getConsent)"
    )
    list_section = section(out, "GET /api/v1/consents (listConsents)")
    assert (
        "schema: /meta/pageSize: 101 is greater than the maximum of 100 (schema path: "
        "#/components/schemas/ConsentDtoPagedResultDto/properties/meta/properties/pageSize/"
        "maximum)" in list_section
    )
    assert "check negative_data_rejection:" in list_section  # Count=101 was accepted


def test_read_only_and_operation_select_what_is_sent(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(server.admin.requests(provider="api1"))
    code, out = check(server.url("api1"), "--read-only", "--phases", "examples", capsys=capsys)
    assert code == 0, out
    assert "2 operations" in out  # listConsents and getConsent: no writes against a live provider
    sent = {e["method"] for e in server.admin.requests(provider="api1")[before:]}
    assert sent <= {"GET"}
    code, out = check(server.url("api1"), "--operation", "listConsents", capsys=capsys)
    assert code == 0 and "1 operations" in out


def test_an_unreachable_url_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nothing listens on it
    url = f"http://127.0.0.1:{port}/api1"
    code = main(["check", "--provider", "api1", "--url", url, *FAST])
    captured = capsys.readouterr()
    assert code == 2  # not "drift": nothing was compared
    assert captured.err == (
        f"mockserver: --url {url} is unreachable: 127.0.0.1:{port}: Connection refused\n"
    )
    assert captured.out == ""  # no report of operations that were never tried


def test_a_url_that_is_not_http_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--provider", "api1", "--url", "127.0.0.1:4010/api1", *FAST])
    assert code == 2
    assert capsys.readouterr().err == (
        "mockserver: --url 127.0.0.1:4010/api1 is not an http:// or https:// URL\n"
    )


def test_an_unknown_operation_exits_2_naming_the_known_ones(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["check", "--provider", "api1", "--url", server.url("api1"), *FAST]
    code = main([*argv, "--operation", "listConsents", "--operation", "listConsent"])
    err = capsys.readouterr().err
    assert code == 2  # was: "0 operations ... no drift", exit 0
    assert err.startswith("mockserver: --operation listConsent: no such operation in api1.yaml")
    assert "known: createConsent, listConsents, getConsent" in err and err.count("\n") == 1


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--provider", "api1", "--url", "http://127.0.0.1:9", "--phases", "x"])
    assert code == 2
    assert "unknown phase 'x'" in capsys.readouterr().err
