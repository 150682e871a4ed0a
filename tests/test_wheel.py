"""The project as a user meets it: the wheel in a fresh virtualenv, used from empty folders.

One test walks the whole path (build, install, serve, the plugin) so that pytest-xdist never
builds the wheel twice; the README's example command has a test of its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "node_modules", ".*_cache"
)

pytestmark = pytest.mark.slow


def user_env() -> dict[str, str]:
    """This process's environment without what points at the checkout or this pytest run."""
    dropped = ("PYTHONPATH", "VIRTUAL_ENV", "MOCKSERVER_SPEC_DIR", "MOCKSERVER_FIXTURE_DIR")
    return {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith("PYTEST_")
    }


def run(command: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=user_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


# What pip says when it cannot reach the package index (CI may have no network but loopback).
OFFLINE = re.compile(
    r"NewConnectionError|Network is unreachable|Temporary failure in name resolution|"
    r"Name or service not known|No matching distribution found|Could not find a version|"
    r"ConnectTimeout|Read timed out|Failed to establish a new connection"
)


def pip_online(arguments: list[str]) -> bool:
    """Run `pip ARGUMENTS` with the package index; False when the index cannot be reached (the
    caller then takes the offline path), a failure for any other reason fails the test."""
    command = [sys.executable, "-m", "pip", *arguments, "--timeout", "15", "--retries", "1"]
    done = subprocess.run(command, env=user_env(), capture_output=True, text=True, timeout=300)
    if done.returncode == 0:
        return True
    assert OFFLINE.search(done.stderr + done.stdout), f"{command}:\n{done.stdout}{done.stderr}"
    return False


STALE = "build/lib/mockserver/deleted_since.py"  # what an earlier build left behind


def documented_build() -> str:
    """docs/installing.md's command that builds the wheel in a clone."""
    text = (ROOT / "docs" / "installing.md").read_text()
    (line,) = [line for line in text.splitlines() if "pip wheel ." in line]
    return line.split("  #")[0].strip()


def build_wheel(tmp: Path) -> Path:
    """The wheel as docs/installing.md builds it, in a copy whose build/ holds a module an
    earlier build copied and the tree has since lost (setuptools would pack it again)."""
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=SCRATCH)
    (source / STALE).parent.mkdir(parents=True)
    (source / STALE).write_text('raise ImportError("a module deleted from the tree")\n')
    for extra in ("", "--no-build-isolation"):  # the second when no index serves the build
        shim = f'pip() {{ "{sys.executable}" -m pip "$@" -q --timeout 15 --retries 1 {extra}; }}'
        done = subprocess.run(
            ["bash", "-c", f"{shim}; {documented_build()}"],
            cwd=source,
            env=user_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode == 0 or not OFFLINE.search(done.stderr + done.stdout):
            break
    assert done.returncode == 0, f"{documented_build()}:\n{done.stdout}{done.stderr}"
    (wheel,) = (source / "dist").glob("consent_mockserver-*.whl")
    return wheel


def check_wheel_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (record,) = [n for n in names if n.endswith(".dist-info/RECORD")]
        recorded = [line.split(",")[0] for line in archive.read(record).decode().splitlines()]
    assert set(recorded) == names
    assert {name.split("/")[0] for name in names if ".dist-info/" not in name} == {"mockserver"}
    expected = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "mockserver").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    for folder in ("specs", "fixtures"):
        expected |= {f"mockserver/_{folder}/{p.name}" for p in (ROOT / folder).glob("*.yaml")}
    assert expected - names == set(), "files missing from the wheel"
    shipped = {name for name in names if ".dist-info/" not in name}
    assert shipped - expected == set(), "files in the wheel that the tree does not have"
    assert not list((ROOT / "fixtures").rglob("*.py")), "fixtures/ holds data only"


def make_venv(home: Path, wheel: Path) -> Path:
    """A virtualenv with the wheel, its dependencies and pytest: pip's cache keeps it quick.
    Without a package index, the wheel goes in alone and the dependencies are read from this
    test run's environment (a .pth line: its own .pth files, our editable install among them,
    are not run, so `mockserver` is the wheel's)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
    python = home / "bin" / "python"
    pip = ["--python", str(python), "install", "-q"]
    if not pip_online([*pip, str(wheel), "pytest"]):
        run([sys.executable, "-m", "pip", *pip, "--no-deps", "--no-index", str(wheel)])
        site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
        ours = sysconfig.get_paths()["purelib"]
        (Path(site.strip()) / "zz-test-dependencies.pth").write_text(ours + "\n")
    return python


def check_installed_files(python: Path) -> None:
    """What pip installed from the wheel: the `mockserver` package and its console script."""
    code = "import importlib.metadata as m; print(*m.distribution('consent-mockserver').files)"
    files = run([str(python), "-c", code], cwd=python.parent).split()
    tops = {f.split("/")[0] for f in files if ".dist-info/" not in f and not f.startswith("..")}
    assert tops == {"mockserver"}
    assert [f for f in files if f.startswith("..")] == ["../../../bin/mockserver"]
    where = "import mockserver.app as a; print(a.__file__, a.default_spec_dir())"
    module, specs = run([str(python), "-c", where], cwd=python.parent).split()
    site = python.parents[1]
    assert Path(module).is_relative_to(site) and Path(specs).is_relative_to(site)


@contextmanager
def serving(python: Path, cwd: Path) -> Iterator[str]:
    """`<venv>/bin/mockserver serve` on a free port, run from `cwd`; yields its base URL."""
    port = free_port()
    command = [str(python.parent / "mockserver"), "serve", "--port", str(port)]
    with subprocess.Popen(
        command, cwd=cwd, env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as process:
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, process.communicate()[0].decode()
                try:
                    httpx.get(f"{url}/__admin/health", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "mockserver serve did not answer"
                    time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.communicate(timeout=10)


def check_default_sandboxes(url: str) -> None:
    """Every provider answers its seeded consents to the README's default sandbox credentials."""
    with httpx.Client(base_url=url, timeout=10) as http:
        api1 = http.get(
            "/api1/api/v1/consents",
            headers={"x-api-key": "sandbox-api1-key", "x-correlation-id": str(uuid.uuid4())},
        )
        assert len(ok(api1)["data"]) == 5
        finqware = http.post(
            "/finqware/v1/consents/get",
            json={
                "client_id": "sandbox-finqware-client",
                "client_secret": "sandbox-finqware-secret",
                "credentials_id": "0f3b2c1a-6d4e-4f5a-9b8c-7d6e5f4a3b01",
                "access_token": "sandbox-access-token-rzb-active",
            },
        )
        assert ok(finqware)["result"]["status"] == "ACTIVE"
        yapily = http.get(
            "/yapily/consents?limit=100", auth=("sandbox-yapily-app", "sandbox-yapily-secret")
        )
        assert ok(yapily)["meta"]["pagination"]["totalCount"] == 18
        form = {"grant_type": "client_credentials", "scope": "api:consent"}
        form |= {"client_id": "sandbox-atto-client", "client_secret": "sandbox-atto-secret"}
        atto = bearer(ok(http.post("/atto/v1/oauth2/token", data=form)))
        assert len(ok(http.get("/atto/consents/v1", headers=atto))) == 7
        keys = {"Api-Key": "sandbox-fliqa-key", "Api-Secret": "sandbox-fliqa-secret"}
        fliqa = bearer(ok(http.get("/fliqa/service/auth/token/sandbox/sandbox", headers=keys)))
        assert ok(http.get("/fliqa/service/consent", headers=fliqa))["metadata"]["total"] == 10


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"{response.request.url}: {response.text}"
    return response.json()


def bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['accessToken']}"}


USER_TEST = """
    import json
    import urllib.request
    import uuid


    def list_consents(url, api_key):
        headers = {"x-api-key": api_key, "x-correlation-id": str(uuid.uuid4())}
        request = urllib.request.Request(url + "/api/v1/consents", headers=headers)
        with urllib.request.urlopen(request) as response:
            return json.load(response)["data"]


    def test_my_client_sees_my_consent(mockserver):
        assert list_consents(mockserver.url("api1"), mockserver.tenant) == []
        made = mockserver.admin.create_consent("api1", status="ACCEPTED", name="Acme AB")
        listed = list_consents(mockserver.url("api1"), mockserver.tenant)
        assert [consent["id"] for consent in listed] == [made["id"]]
        assert mockserver.violations() == []
"""


def run_user_tests(python: Path, folder: Path) -> None:
    """A user's own repository: one test file, no conftest; the fixture comes from the plugin."""
    (folder / "test_my_client.py").write_text(textwrap.dedent(USER_TEST))
    args = ["-m", "pytest", "-p", "no:cacheprovider", "-W", "error", "--mockserver-contract"]
    args += ["--mockserver-arg=--provider", "--mockserver-arg=api1"]
    output = run([str(python), *args], folder)
    assert "1 passed" in output


def test_the_wheel_installs_serves_and_plugs_into_a_users_tests(tmp_path: Path) -> None:
    started = time.monotonic()
    wheel = build_wheel(tmp_path / "dist")
    check_wheel_contents(wheel)
    python = make_venv(tmp_path / "venv", wheel)
    check_installed_files(python)
    (tmp_path / "anywhere").mkdir()
    with serving(python, tmp_path / "anywhere") as url:
        check_default_sandboxes(url)
    (tmp_path / "my-repo").mkdir()
    run_user_tests(python, tmp_path / "my-repo")
    assert time.monotonic() - started < 120  # ~20 s on a quiet machine with pip's cache warm


def test_the_examples_pass_as_the_readme_runs_them() -> None:
    """`pytest examples/ --mockserver-contract` from the repository root, under its settings."""
    script = Path(sys.executable).with_name("pytest")
    pytest_command = [str(script)] if script.exists() else [sys.executable, "-m", "pytest"]
    command = [*pytest_command, "examples/", "--mockserver-contract", "-p", "no:cacheprovider"]
    output = run(command, cwd=ROOT)
    # Every example passes; the two that show a contract break are strict xfails.
    summary = output.strip().splitlines()[-1]
    assert re.search(r"\b\d+ passed, 2 xfailed\b", summary), summary
    assert "failed" not in summary.replace("xfailed", ""), summary
