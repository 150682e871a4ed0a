"""The simulator against Prism, WireMock and a bare Flask handler, on one spec, in one run.

Usage::

    python bench/bench.py [--duration 8] [--warmup 1] [--rounds 1] [--only SUBSTR]...
                          [--no-peers] [--output bench/results/bench.md]

One target at a time, each on a free 127.0.0.1 port in its own process group:

- the simulator (`mockserver serve --provider api1 --fixtures none`, strict mode off, request
  validation, state and journal on) in the configurations that keep state consistent: one
  worker with the memory store, two workers sharing `--store sqlite:PATH`; each with the
  default flags (`--threads 1` is the default since RSGI serving, so it is not run twice);
- Prism (`@stoplight/prism-cli`, a static mock of the same spec), with default logging and
  with `-v error`; installed by this script into `bench/node_modules/prism` if absent;
- WireMock (the standalone jar of the `wiremock` npm package, installed into
  `bench/node_modules/wiremock` if absent; `java -jar`), with equivalent stubs from a mappings
  folder, with its default request journal and with `--no-request-journal`;
- a bare Flask handler (`bench/bare_app.py`: GET one, PATCH and create, no validation, state
  or journal) under the simulator's own server (granian RSGI and `mockserver.rsgi`'s adapter)
  with the same worker count as each simulator configuration: the physical limit.

For each target: start-up time until the first 200, then `wrk -t1 -c16 --latency` on
loopback for GET one consent, list with a filter, conditional PATCH (the simulator gets
`If-Match: *`, which always matches the current ETag, so every PATCH is a real 204 write)
and create (POST), where the peer serves them; the peak RSS of the server's process tree
(sampled from /proc every 0.2 s for the target's whole life). It prints one table with ratios
to each peer's best setting and to the bare handler, and writes it to `--output`.
Every server is stopped in a `finally` (SIGTERM, then SIGKILL of its process group).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from mixed import CYCLE, MIXED, mixed_script
from wsgi_servers import (
    RssSampler,
    WrkResult,
    free_port,
    machine_busy_s,
    own_cpu_s,
    parse_wrk,
    stop_server,
    tree_cpu_s,
)

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "bench.md"
NODE_DIR = BENCH_DIR / "node_modules"
PRISM_DIR = NODE_DIR / "prism"
WIREMOCK_DIR = NODE_DIR / "wiremock"
SPEC = REPO_ROOT / "specs" / "api1.yaml"
STARTUP_TIMEOUT_S = 60.0
WRK_THREADS = 1
WRK_CONNECTIONS = 16

KEY = "bench-key"
CORRELATION_ID = "4b3c2f0e-8d7a-4f4e-9a51-2d6f0b1c9e77"
CONSENT_ID = "11111111-2222-4333-8444-555555555555"
SETTINGS_ID = "74cd4e7b-1fe6-4ab8-ba5a-90283c194a31"
SEED_CONSENTS = 40  # besides CONSENT_ID, in one tenant: the list filter has work to do
# PATCH rotates over these, in a tenant of their own: 16 connections never race for one
# consent (a write that loses a race for a consent answers 412, as it should).
PATCH_KEY = "bench-patch-key"
PATCH_IDS = [f"22222222-2222-4333-8444-{n:012d}" for n in range(256)]
BASE_HEADERS = {"x-api-key": KEY, "x-correlation-id": CORRELATION_ID}
CONSENT = {
    "id": CONSENT_ID,
    "name": "Acme AB",
    "status": 1,
    "source": "fortnox",
    "systemSettingsId": SETTINGS_ID,
    "systemSettings": {"fortnox": SETTINGS_ID},
    "createdOn": "2026-11-22T20:28:43Z",
    "updatedOn": "2026-11-22T20:28:43Z",
}
ETAG = '"1-999cf352"'


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str  # after the target's prefix; {id} takes each of `ids` in turn
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    ids: tuple[str, ...] = ()
    wrk_threads: int = WRK_THREADS  # the mixed cycle: one thread, i.e. one user, a connection


OPERATIONS = [
    Operation("GET one", "GET", f"/api/v1/consents/{CONSENT_ID}"),
    Operation("list filtered", "GET", "/api/v1/consents?Status=ACCEPTED&Count=10"),
    Operation(
        "PATCH If-Match",
        "PATCH",
        "/api/v1/consents/{id}",
        '{"name":"Acme AB"}',
        {"Content-Type": "application/json", "If-Match": "*", "x-api-key": PATCH_KEY},
        tuple(PATCH_IDS),
    ),
    Operation(
        "create",
        "POST",
        "/api/v1/consents",
        '{"name":"Acme AB"}',
        {"Content-Type": "application/json"},
    ),
    # Create, GET, PATCH If-Match (the GET's ETag), list, DELETE per virtual user: bench/mixed.py
    Operation(MIXED, "POST", "/api/v1/consents", wrk_threads=WRK_CONNECTIONS),
]
GET_ONE = OPERATIONS[0].name
LIST_QUERY = "?Status=ACCEPTED&Count=10"


def lua_script(op: Operation, folder: Path, prefix: str = "") -> Path:
    """A wrk script that sends the operation's method, headers and body (and takes the ids
    in turn, if it has several; the mixed cycle's own script for MIXED)."""
    path = folder / (re.sub(r"\W+", "_", op.name) + ".lua")
    if op.name == MIXED:
        path.write_text(mixed_script(prefix, BASE_HEADERS, CONSENT_ID, LIST_QUERY))
        return path
    lines = [f'wrk.method = "{op.method}"']
    if op.body is not None:
        lines.append(f"wrk.body = '{op.body}'")
    for name, value in {**BASE_HEADERS, **op.headers}.items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    if op.ids:
        head, _, tail = (prefix + op.path).partition("{id}")
        lines += [
            "ids = {" + ", ".join(f'"{i}"' for i in op.ids) + "}",
            "n = 0",
            "request = function()",
            "  n = n + 1",
            f'  return wrk.format(nil, "{head}" .. ids[(n % #ids) + 1] .. "{tail}")',
            "end",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- targets


@dataclass
class Target:
    name: str
    family: str  # simulator | Prism | WireMock | bare
    argv: Callable[[int, Path], list[str]]
    prefix: str  # where the spec's paths are mounted
    operations: list[str]
    workers: int = 1
    threads: int = 1
    setup: Callable[[int], None] | None = None
    note: str = ""


def _python() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


# What `mockserver serve` runs without --threads (mockserver/cli.py): labels say it as it is.
DEFAULT_THREADS = 1


def simulator(store: str, workers: int, threads: int | None) -> Target:
    def argv(port: int, tmp: Path) -> list[str]:
        spec = "memory" if store == "memory" else f"sqlite:{tmp / 'bench.sqlite'}"
        extra = ["--threads", str(threads)] if threads is not None else []
        return [
            _python(), "-m", "mockserver.cli", "serve", "--provider", "api1",
            "--fixtures", "none", "--host", HOST, "--port", str(port), "--store", spec,
            "--workers", str(workers), *extra,
        ]  # fmt: skip

    label = (
        f"--threads {threads}" if threads is not None else f"default threads ({DEFAULT_THREADS})"
    )
    return Target(
        f"simulator {store}, {workers} worker{'s' if workers > 1 else ''}, {label}",
        "simulator",
        argv,
        "/api1",
        [op.name for op in OPERATIONS],
        workers,
        threads or DEFAULT_THREADS,
        setup=seed_simulator,
    )


def bare(workers: int) -> Target:
    def argv(port: int, tmp: Path) -> list[str]:
        return [
            _python(), "-m", "granian", "--interface", "rsgi", "--host", HOST,
            "--port", str(port), "--workers", str(workers), "--no-access-log",
            "bench.bare_app:rsgi",
        ]  # fmt: skip

    return Target(
        f"bare Flask handler, granian RSGI {workers} worker{'s' if workers > 1 else ''}",
        "bare",
        argv,
        "/api1",
        [GET_ONE, "PATCH If-Match", "create"],
        workers,
        DEFAULT_THREADS,
    )


def prism(quiet: bool) -> Target:
    def argv(port: int, tmp: Path) -> list[str]:
        binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
        extra = ["-v", "error"] if quiet else []
        return [str(binary), "mock", "-h", HOST, "-p", str(port), *extra, str(SPEC)]

    return Target(
        "Prism static mock" + (", -v error" if quiet else ", default logging"),
        "Prism",
        argv,
        "",
        [op.name for op in OPERATIONS],
        note="static: no state; PATCH checks If-Match is present, not the ETag; in the "
        "mixed cycle its GET answers `ETag: string` (not the spec's quoted pattern), which its "
        "own PATCH then refuses (400): a fifth of the cycle's requests are non-2xx",
    )


def wiremock(journal: bool) -> Target:
    def argv(port: int, tmp: Path) -> list[str]:
        root = tmp / "wiremock"
        write_wiremock_stubs(root)
        extra = [] if journal else ["--no-request-journal"]
        return [
            "java", "-jar", str(wiremock_jar()), "--port", str(port), "--bind-address", HOST,
            "--disable-banner", "--root-dir", str(root), *extra,
        ]  # fmt: skip

    return Target(
        "WireMock stubs" + (", default journal" if journal else ", --no-request-journal"),
        "WireMock",
        argv,
        "/api1",
        [op.name for op in OPERATIONS],
        note="static stubs: no state; PATCH matches any If-Match",
    )


def all_targets() -> list[Target]:
    # Each simulator configuration right before its bare handler, so that the two meet the
    # same background load as nearly as one run allows.
    return [
        simulator("memory", 1, None),
        bare(1),
        simulator("sqlite", 2, None),
        bare(2),
        prism(False),
        prism(True),
        wiremock(True),
        wiremock(False),
    ]


# --------------------------------------------------------------------------- peers' set-up


def ensure_node_package(folder: Path, spec: str, marker: Path) -> None:
    """`npm install --prefix folder spec` unless it is there already."""
    if marker.exists():
        return
    if shutil.which("npm") is None:
        raise RuntimeError("npm not found: install Node.js to benchmark Prism and WireMock")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"installing {spec} into {folder.relative_to(REPO_ROOT)} ...", flush=True)
    # cwd elsewhere: npm would take a folder named like the package for a local path
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder), spec],
        cwd=tempfile.gettempdir(),
        check=True,
        timeout=600,
        stdout=subprocess.DEVNULL,
    )


def wiremock_jar() -> Path:
    jars = sorted((WIREMOCK_DIR / "node_modules" / "wiremock").glob("**/wiremock-standalone-*.jar"))
    if not jars:
        raise RuntimeError("no wiremock-standalone jar in the wiremock npm package")
    return jars[-1]


def write_wiremock_stubs(root: Path) -> None:
    """Stubs equivalent to the simulator's answers for the four operations."""
    mappings = root / "mappings"
    mappings.mkdir(parents=True, exist_ok=True)
    headers = {
        "x-api-key": {"matches": ".+"},
        "x-correlation-id": {"matches": "[0-9a-fA-F-]{36}"},
    }
    page = {
        "data": [CONSENT] * 10,
        "meta": {"currentPage": 1, "pageSize": 10, "totalCount": 11, "totalPages": 2},
    }
    stubs = {
        "get": {
            "request": {
                "method": "GET",
                "urlPath": f"/api1/api/v1/consents/{CONSENT_ID}",
                "headers": headers,
            },
            "response": {
                "status": 200,
                "jsonBody": CONSENT,
                "headers": {"Content-Type": "application/json", "ETag": ETAG},
            },
        },
        "list": {
            "request": {
                "method": "GET",
                "urlPath": "/api1/api/v1/consents",
                "queryParameters": {"Status": {"equalTo": "ACCEPTED"}},
                "headers": headers,
            },
            "response": {
                "status": 200,
                "jsonBody": page,
                "headers": {"Content-Type": "application/json"},
            },
        },
        "patch": {
            "request": {
                "method": "PATCH",
                "urlPathPattern": "/api1/api/v1/consents/[0-9a-f-]{36}",
                "headers": {**headers, "If-Match": {"matches": ".+"}},
                "bodyPatterns": [{"matchesJsonPath": "$.name"}],
            },
            "response": {"status": 204, "headers": {"ETag": '"2-999cf352"'}},
        },
        "delete": {
            "request": {
                "method": "DELETE",
                "urlPathPattern": "/api1/api/v1/consents/[0-9a-f-]{36}",
                "headers": headers,
            },
            "response": {"status": 204},
        },
        "create": {
            "request": {
                "method": "POST",
                "urlPath": "/api1/api/v1/consents",
                "headers": headers,
                "bodyPatterns": [{"matchesJsonPath": "$.name"}],
            },
            "response": {
                "status": 201,
                "jsonBody": {**CONSENT, "status": 0},
                "headers": {
                    "Content-Type": "application/json",
                    "ETag": ETAG,
                    "Location": f"http://{HOST}/api1/api/v1/consents/{CONSENT_ID}",
                },
            },
        },
    }
    for name, stub in stubs.items():
        (mappings / f"{name}.json").write_text(json.dumps(stub))


# --------------------------------------------------------------------------- HTTP helpers


def status_of(port: int, method: str, path: str, body: str | None = None) -> int | None:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        headers = dict(BASE_HEADERS)
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        conn.close()


def wait_first_200(
    proc: subprocess.Popen[bytes],
    port: int,
    path: str,
    t0: float,
    timeout_s: float = STARTUP_TIMEOUT_S,
) -> float:
    deadline = t0 + timeout_s
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        if status_of(port, "GET", path) == 200:
            return time.perf_counter() - t0
        time.sleep(0.01)
    raise RuntimeError(f"no 200 on {path} within {timeout_s:.0f}s")


def seed_simulator(port: int) -> None:
    """The consent every GET and PATCH reads, plus others in the same tenant, via /__admin."""
    statuses = ["CREATED", "ACCEPTED", "REVOKED", "INACTIVE"]
    documents = (
        [
            {"tenant": KEY, "status": "ACCEPTED", "name": "Acme AB", "source": "fortnox"}
            | {"id": CONSENT_ID, "systemSettingsId": SETTINGS_ID}
        ]
        + [
            {"tenant": KEY, "status": statuses[n % 4], "name": f"Company {n}", "source": "xero"}
            for n in range(SEED_CONSENTS)
        ]
        + [
            {"tenant": PATCH_KEY, "status": "ACCEPTED", "id": cid, "source": "fortnox"}
            for cid in PATCH_IDS
        ]
    )
    for document in documents:
        got = http_json(port, "POST", "/__admin/api1/consents", document)
        if got != 201:
            raise RuntimeError(f"seeding the simulator answered {got}")


def http_json(port: int, method: str, path: str, document: object) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(
            method, path, json.dumps(document), headers={"Content-Type": "application/json"}
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def run_wrk(
    port: int, url_path: str, script: Path, duration: int, threads: int = WRK_THREADS
) -> WrkResult:
    cmd = [
        "wrk", f"-t{threads}", f"-c{WRK_CONNECTIONS}", f"-d{duration}s", "--timeout", "5s",
        "--latency", "-s", str(script), f"http://{HOST}:{port}{url_path}",
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=True)
    return parse_wrk(out.stdout)


# --------------------------------------------------------------------------- one target


@dataclass
class Measured:
    operation: str
    rounds: list[WrkResult]

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.rounds)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.rounds)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def other_cpu_pct(self) -> float:
        return max(r.other_cpu_pct for r in self.rounds)


@dataclass
class TargetResult:
    target: Target
    startup_s: float | None = None
    peak_rss_mb: float | None = None
    peak_procs: int = 0
    measured: dict[str, Measured] = field(default_factory=dict)
    error: str | None = None


def spawn(argv: list[str], env: dict[str, str], log: IO[bytes] | None) -> subprocess.Popen[bytes]:
    """Start a server in its own process group, its output to `log` (or nowhere)."""
    return subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log if log is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
        start_new_session=True,
    )


def time_startup(target: Target, env: dict[str, str], probe: str, folder: Path) -> float:
    """One spawn of the target: seconds to its first 200, then it is stopped."""
    folder.mkdir()
    port = free_port()
    t0 = time.perf_counter()
    proc = spawn(target.argv(port, folder), env, None)
    try:
        return wait_first_200(proc, port, probe, t0)
    finally:
        stop_server(proc)


def bench_target(target: Target, args: argparse.Namespace, tmp: Path) -> TargetResult:
    result = TargetResult(target)
    port = free_port()
    folder = tmp / re.sub(r"\W+", "_", target.name)
    folder.mkdir()
    argv = target.argv(port, folder)
    log_path = folder / "server.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("MOCKSERVER_ADMIN_TOKEN", None)
    probe = target.prefix + (
        OPERATIONS[0].path if target.family == "bare" else "/api/v1/consents?Status=ACCEPTED"
    )
    print(f"== {target.name}", flush=True)
    # Start-up is one spawn's figure, and one spawn is noisy on a shared machine: the median
    # of --startups spawns (each on a fresh folder and port) counts, the load's own included.
    startups = [
        time_startup(target, env, probe, folder / f"startup-{n}") for n in range(args.startups - 1)
    ]
    with log_path.open("wb") as log:
        t0 = time.perf_counter()
        proc = spawn(argv, env, log)
        sampler = RssSampler(proc.pid)
        sampler.start()
        try:
            startups.append(wait_first_200(proc, port, probe, t0))
            result.startup_s = statistics.median(startups)
            print(
                f"  start-up to first 200: {result.startup_s:.2f} s (median of "
                f"{', '.join(f'{t:.2f}' for t in startups)})",
                flush=True,
            )
            if target.setup is not None:
                target.setup(port)
            for op in OPERATIONS:
                if op.name not in target.operations or op.name not in args.ops.split(","):
                    continue
                script = lua_script(op, folder, target.prefix)
                url_path = target.prefix + op.path.replace("{id}", op.ids[0] if op.ids else "")
                if args.warmup:
                    run_wrk(port, url_path, script, args.warmup, op.wrk_threads)
                rounds = []
                for _ in range(args.rounds):
                    before = (time.monotonic(), machine_busy_s(), tree_cpu_s(proc.pid), own_cpu_s())
                    r = run_wrk(port, url_path, script, args.duration, op.wrk_threads)
                    after = (time.monotonic(), machine_busy_s(), tree_cpu_s(proc.pid), own_cpu_s())
                    wall, busy, server_cpu, own = (
                        a - b for a, b in zip(after, before, strict=True)
                    )
                    other = max(0.0, busy - server_cpu - own)
                    r.other_cpu_pct = 100 * other / (wall * (os.cpu_count() or 1))
                    rounds.append(r)
                m = Measured(op.name, rounds)
                result.measured[op.name] = m
                print(
                    f"  {op.name:<15} {m.rps:>9,.0f} req/s  p50 {m.p50_ms:6.2f} ms  "
                    f"p99 {m.p99_ms:6.2f} ms  non-2xx/errors {m.errors}  "
                    f"other CPU {m.other_cpu_pct:.0f}%",
                    flush=True,
                )
            sampler.sample()
        except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
            result.error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            tail = log_path.read_text(errors="replace")[-2000:]
            print(f"  ! failed: {exc}\n  --- server log tail ---\n{tail}", flush=True)
        finally:
            sampler.stop()
            stop_server(proc)
    result.peak_rss_mb = sampler.peak_kb / 1024
    result.peak_procs = sampler.peak_procs
    print(f"  peak RSS {result.peak_rss_mb:.0f} MB ({result.peak_procs} processes)", flush=True)
    return result


# --------------------------------------------------------------------------- create_app()

_CREATE_APP_CODE = """
import json, time
t0 = time.perf_counter()
from mockserver import create_app
from mockserver.providers import KNOWN
t1 = time.perf_counter()
create_app(fixtures=None)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "create_app": t2 - t1, "providers": len(KNOWN)}))
"""


def measure_create_app(runs: int = 5) -> dict[str, float]:
    """create_app() for every provider in a fresh interpreter: the fastest of `runs`, with
    the spec cache of a run before (as every start after the first), and with an empty one
    (the first start after installing or editing a spec)."""

    def once(cache: str) -> dict[str, float]:
        out = subprocess.run(
            [_python(), "-c", _CREATE_APP_CODE],
            cwd=REPO_ROOT,
            env={**os.environ, "MOCKSERVER_CACHE_DIR": cache},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        found: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
        return found

    with tempfile.TemporaryDirectory(prefix="mockserver-spec-cache-") as folder:
        cold = [once(str(Path(folder) / f"empty-{n}")) for n in range(runs)]
        once(folder)  # fills it
        warm = [once(folder) for _ in range(runs)]
    return {
        "import": min(f["import"] for f in warm),
        "create_app": min(f["create_app"] for f in warm),
        "create_app_median": statistics.median(f["create_app"] for f in warm),
        "create_app_cold": min(f["create_app"] for f in cold),
        "providers": warm[0]["providers"],
    }


# --------------------------------------------------------------------------- report


def _f(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def best_of(results: list[TargetResult], family: str, operation: str) -> float | None:
    rates = [
        r.measured[operation].rps
        for r in results
        if r.target.family == family and operation in r.measured
    ]
    return max(rates) if rates else None


def bare_for(results: list[TargetResult], target: Target) -> TargetResult | None:
    for r in results:
        if (
            r.target.family == "bare"
            and r.target.workers == target.workers
            and GET_ONE in r.measured
        ):
            return r
    return None


def render_table(results: list[TargetResult]) -> str:
    lines = [
        "| target | operation | start-up s | req/s | p50 ms | p99 ms | peak RSS MB "
        "| × Prism best | × WireMock best | × bare (same server) | non-2xx | other CPU % |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        if r.error and not r.measured:
            lines.append(f"| {r.target.name} | – | {_f(r.startup_s, '.2f')} | failed: {r.error} |")
            continue
        first = True
        for op_name, m in r.measured.items():
            prism_best = best_of(results, "Prism", op_name)
            wm_best = best_of(results, "WireMock", op_name)
            limit = bare_for(results, r.target) if r.target.family == "simulator" else None
            to_bare = (
                m.rps / limit.measured[op_name].rps
                if limit is not None and op_name in limit.measured
                else None
            )
            lines.append(
                f"| {r.target.name if first else ''} | {op_name} "
                f"| {_f(r.startup_s, '.2f') if first else ''} | {m.rps:,.0f} "
                f"| {m.p50_ms:.2f} | {m.p99_ms:.2f} "
                f"| {_f(r.peak_rss_mb, '.0f') if first else ''} "
                f"| {_f(m.rps / prism_best if prism_best else None, '.2f')} "
                f"| {_f(m.rps / wm_best if wm_best else None, '.2f')} "
                f"| {_f(to_bare, '.2f')} | {m.errors} | {m.other_cpu_pct:.0f} |"
            )
            first = False
    return "\n".join(lines)


def verdicts(results: list[TargetResult], create: dict[str, float] | None) -> list[str]:
    """The targets of issue 9 point 5, for each simulator configuration (all keep state
    consistent), plus create_app()."""
    sims = [r for r in results if r.target.family == "simulator" and GET_ONE in r.measured]
    peers = {fam: best_of(results, fam, GET_ONE) for fam in ("Prism", "WireMock")}

    def mark(ok: bool | None, value: str) -> str:
        return f"{value} " + ("–" if ok is None else ("met" if ok else "**NOT met**"))

    lines = [
        "Targets (issue 9, point 5), GET one consent, for each simulator configuration:",
        "",
        f"| configuration | GET req/s > Prism's best ({_f(peers['Prism'], ',.0f')}) "
        f"| > WireMock's best ({_f(peers['WireMock'], ',.0f')}) | p99 ≤ 10 ms "
        "| peak RSS ≤ 250 MB | start-up ≤ 0.5 s | ≥ 70% of the bare handler |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sims:
        get = r.measured[GET_ONE]
        limit = bare_for(results, r.target)
        ratio = get.rps / limit.measured[GET_ONE].rps if limit is not None else None
        cells = [
            mark(None if peers["Prism"] is None else get.rps > peers["Prism"], f"{get.rps:,.0f}"),
            mark(
                None if peers["WireMock"] is None else get.rps > peers["WireMock"],
                f"{get.rps:,.0f}",
            ),
            mark(get.p99_ms <= 10, f"{get.p99_ms:.1f} ms"),
            mark(
                None if r.peak_rss_mb is None else r.peak_rss_mb <= 250,
                f"{_f(r.peak_rss_mb, '.0f')} MB",
            ),
            mark(
                None if r.startup_s is None else r.startup_s <= 0.5, f"{_f(r.startup_s, '.2f')} s"
            ),
            mark(None if ratio is None else ratio >= 0.7, _f(ratio, ".0%")),
        ]
        lines.append(f"| {r.target.name} | " + " | ".join(cells) + " |")
    if create is not None:
        ok = "met" if create["create_app"] <= 0.2 else "**NOT met**"
        lines += [
            "",
            f"`create_app()` for all {create['providers']:.0f} providers, in-process, fresh "
            f"interpreter: {create['create_app']:.3f} s (fastest of 5; median "
            f"{create['create_app_median']:.3f} s; specs from the cache of an earlier start), "
            f"target ≤ 0.2 s: {ok}. With an empty spec cache (the first start after installing "
            f"or editing a spec): {create['create_app_cold']:.3f} s. The imports before it "
            f"(Flask, PyYAML, the engine) took {create['import']:.3f} s.",
        ]
    return lines


def environment_notes(args: argparse.Namespace) -> list[str]:
    def run(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        except OSError:
            return "missing"
        return (
            (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""
        )

    code = (
        "import importlib.metadata as m, platform\n"
        "print('Python ' + platform.python_version() + ', ' + ', '.join(\n"
        "    f'{p} {m.version(p)}' for p in ('flask', 'werkzeug', 'jsonschema', 'granian')))\n"
    )
    prism_pkg = PRISM_DIR / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    prism_version = (
        json.loads(prism_pkg.read_text())["version"] if prism_pkg.exists() else "not installed"
    )
    jar = "not installed"
    with contextlib.suppress(RuntimeError):
        jar = wiremock_jar().name
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        f"- machine: {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}; "
        "load generator and servers share these CPUs",
        f"- load average before the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- {run([_python(), '-c', code])}; Prism {prism_version} (Node {run(['node', '-v'])}); "
        f"WireMock {jar} ({run(['java', '-version'])})",
        f"- load: `wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{args.duration}s --latency` "
        f"({run(['wrk', '-v'])}), {args.rounds} round(s) after a {args.warmup}s warm-up "
        "(median of the rounds), on 127.0.0.1; headers `x-api-key` and `x-correlation-id` "
        "(a fixed uuid) on every request",
        f"- spec: `specs/api1.yaml`; the simulator is seeded through `/__admin` with "
        f"{SEED_CONSENTS + 1} consents in the load's tenant; PATCH sends `If-Match: *` "
        "(matches the current ETag: each PATCH is a real conditional write, answered 204) "
        f"to {len(PATCH_IDS)} consents of another tenant in turn, so that concurrent PATCHes "
        "do not race for one consent",
        f"- {MIXED}: each of {WRK_CONNECTIONS} virtual users (`wrk -t{WRK_CONNECTIONS} "
        f"-c{WRK_CONNECTIONS}`, a Lua state each) creates a consent, GETs it, PATCHes it with "
        f"`If-Match` set to that GET's ETag, lists `{LIST_QUERY}` and deletes it, over and over; "
        f"req/s counts requests ({CYCLE} a cycle), p50/p99 are over all of them",
        "- start-up: from spawning the process to the first 200 on a list request "
        f"(GET one consent for the bare handler); the median of {args.startups} spawns",
        "- peak RSS: the largest sum of VmRSS over the server's process tree, sampled from "
        "/proc every 0.2 s over the target's whole life (all operations, creates included)",
        "- other CPU %: share of the machine's CPU used by processes other than the server, "
        "wrk and this script during the round: a high figure means other work skewed it",
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk round")
    parser.add_argument("--warmup", type=int, default=1, help="discarded seconds before each")
    parser.add_argument("--rounds", type=int, default=1, help="wrk rounds per operation")
    parser.add_argument(
        "--only", action="append", default=[], metavar="SUBSTR", help="targets to run"
    )
    parser.add_argument("--no-peers", action="store_true", help="skip Prism and WireMock")
    parser.add_argument(
        "--startups", type=int, default=5, help="spawns per target; start-up is their median"
    )
    parser.add_argument(
        "--ops",
        default=",".join(op.name for op in OPERATIONS),
        help="comma-separated operations to drive (default: all five)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 120 or not 1 <= args.rounds <= 10 or not 0 <= args.warmup <= 30:
        parser.error("--duration 1..120, --rounds 1..10, --warmup 0..30")
    known = [op.name for op in OPERATIONS]
    unknown = [name for name in args.ops.split(",") if name not in known]
    if unknown:
        parser.error(f"--ops: unknown {', '.join(unknown)}; choose from {', '.join(known)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    targets = [
        t
        for t in all_targets()
        if (not args.only or any(s in t.name for s in args.only))
        and not (args.no_peers and t.family in ("Prism", "WireMock"))
    ]
    # Bytecode for the simulator, as `./dev` and a regular install write it (this machine sets
    # PYTHONDONTWRITEBYTECODE): start-up is measured without recompiling our own modules.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO_ROOT / "mockserver")],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    families = {t.family for t in targets}
    if "Prism" in families:
        ensure_node_package(
            PRISM_DIR,
            "@stoplight/prism-cli@5",
            PRISM_DIR / "node_modules" / ".bin" / "prism",
        )
    if "WireMock" in families:
        if shutil.which("java") is None:
            print("java not found: WireMock needs Java 11 or later", file=sys.stderr)
            return 2
        ensure_node_package(
            WIREMOCK_DIR, "wiremock@3", WIREMOCK_DIR / "node_modules" / "wiremock" / "package.json"
        )
    notes = environment_notes(args)
    create = measure_create_app() if "simulator" in families else None
    results: list[TargetResult] = []
    with tempfile.TemporaryDirectory(prefix="mockserver-bench-") as tmp:
        for target in targets:
            results.append(bench_target(target, args, Path(tmp)))
    notes.append("- load average after the run: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    peers_notes = [f"- {t.target.name}: {t.target.note}" for t in results if t.target.note]
    report = "\n".join(
        [
            "# Benchmark: the simulator, Prism, WireMock and a bare handler",
            "",
            *notes,
            "",
            render_table(results),
            "",
            *verdicts(results, create),
            "",
            "Peers' limits: " if peers_notes else "",
            *peers_notes,
            "",
        ]
    )
    print()
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(f"written to {args.output}")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
