"""Scale: GET-by-id and a filtered list page as the store grows to 1k, 100k and 1M consents.

Usage::

    python bench/scale.py [--sizes 1000,100000,1000000] [--stores memory,sqlite]
                          [--duration 5] [--output bench/results/scale.md]

For each store and size the consents are written straight through the Store (in-process, see
`bench/scale_app.py`), then served on a free 127.0.0.1 port:

- memory: granian, 1 worker, 1 thread, on `bench.scale_app:app_from_env`, which builds the app
  `mockserver serve --provider api1 --fixtures none` builds and seeds it in the worker;
- sqlite: the file is filled first, then `mockserver serve --store sqlite:PATH --workers 2
  --threads 1` starts on it.

Shape `spread` (every size): 100 consents per tenant, as in a sandbox shared by many tests;
the load's tenant holds 100. Shape `one` (1k and 100k): every consent in the load's tenant,
the worst case for a list (before the store's index, the list handler read all of a tenant's
consents; now it reads one page and the consents whose expiry has come). `wrk -t1 -c16`
drives GET one consent and `?Status=ACCEPTED&Count=10` (p50, p99). The peak RSS of the server
tree after seeding gives the memory per 100k consents (against the 1k figure).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scale_app import consent_id, seed_sqlite
from wsgi_servers import RssSampler, free_port, stop_server

from bench import BASE_HEADERS, OPERATIONS, lua_script, run_wrk, wait_first_200  # bench.py

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "scale.md"
GET, LIST = OPERATIONS[0], OPERATIONS[1]
LIST_TARGET_MS = 20.0


def _python() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


@dataclass
class Row:
    store: str
    size: int
    shape: str
    seed_s: float = 0.0
    startup_s: float = 0.0
    rss_mb: float = 0.0
    disk_mb: float = 0.0  # the SQLite file after seeding
    results: dict[str, tuple[float, float, float, int]] = field(default_factory=dict)
    alone: dict[str, tuple[float, float, int]] = field(default_factory=dict)  # p50, max, n
    error: str | None = None


def one_at_a_time(port: int, path: str, budget_s: float = 30.0) -> tuple[float, float, int]:
    """Latency of requests sent one after another on one connection: p50, max (ms), count.
    Up to 50 requests, fewer when each takes long (at least 3)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    took: list[float] = []
    deadline = time.perf_counter() + budget_s
    try:
        while len(took) < 50 and (len(took) < 3 or time.perf_counter() < deadline):
            t0 = time.perf_counter()
            conn.request("GET", path, headers=dict(BASE_HEADERS))
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path} answered {response.status}")
            took.append((time.perf_counter() - t0) * 1000)
    finally:
        conn.close()
    return statistics.median(took), max(took), len(took)


def run_one(store: str, size: int, shape: str, args: argparse.Namespace, tmp: Path) -> Row:
    row = Row(store, size, shape)
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(SCALE_SIZE=str(size), SCALE_SHAPE=shape, SCALE_STORE="memory")
    t0 = time.perf_counter()
    if store == "sqlite":
        path = tmp / f"scale-{size}-{shape}.sqlite"
        seed_sqlite(str(path), size, shape)
        row.seed_s = time.perf_counter() - t0
        row.disk_mb = sum(
            Path(f"{path}{suffix}").stat().st_size
            for suffix in ("", "-wal")
            if Path(f"{path}{suffix}").exists()
        ) / (1024 * 1024)
        argv = [
            _python(), "-m", "mockserver.cli", "serve", "--provider", "api1",
            "--fixtures", "none", "--host", HOST, "--port", str(port),
            "--store", f"sqlite:{path}", "--workers", "2", "--threads", "1",
        ]  # fmt: skip
    else:
        argv = [
            _python(), "-m", "granian", "--interface", "wsgi", "--factory", "--host", HOST,
            "--port", str(port), "--workers", "1", "--blocking-threads", "1",
            "--no-access-log", "bench.scale_app:app_from_env",
        ]  # fmt: skip
    print(f"== {store}, {size:,} consents, shape {shape}", flush=True)
    log_path = tmp / f"{store}-{size}-{shape}.log"
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        sampler = RssSampler(proc.pid)
        sampler.start()
        try:
            get_path = f"/api1/api/v1/consents/{consent_id(1)}"  # ACCEPTED, in bench-key
            # the memory store is seeded in the worker's start-up: a million takes a while
            ready = wait_first_200(proc, port, get_path, started, timeout_s=300)
            if store == "memory":
                row.seed_s = ready  # seeding happens inside the worker's start-up
            else:
                row.startup_s = ready
            sampler.sample()
            row.rss_mb = sampler.peak_kb / 1024
            print(
                f"  seeded in {row.seed_s:.1f} s, serving after {ready:.1f} s, "
                f"RSS {row.rss_mb:.0f} MB",
                flush=True,
            )
            for op, url_path in ((GET, get_path), (LIST, "/api1" + LIST.path)):
                p50, worst, count = one_at_a_time(port, url_path)
                row.alone[op.name] = (p50, worst, count)
                print(
                    f"  {op.name:<14} one at a time: p50 {p50:8.2f} ms, max {worst:8.2f} ms "
                    f"({count} requests)",
                    flush=True,
                )
                if p50 > 200:  # 16 connections would only time out: say so instead
                    continue
                script = lua_script(op, tmp)
                run_wrk(port, url_path, script, 1)
                r = run_wrk(port, url_path, script, args.duration)
                row.results[op.name] = (r.rps, r.p50_ms, r.p99_ms, r.errors)
                print(
                    f"  {op.name:<14} 16 connections: {r.rps:>8,.0f} req/s  p50 {r.p50_ms:7.2f} "
                    f"ms  p99 {r.p99_ms:7.2f} ms  non-2xx {r.errors}",
                    flush=True,
                )
        except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
            row.error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            print(f"  ! failed: {exc}\n{log_path.read_text(errors='replace')[-1500:]}", flush=True)
        finally:
            sampler.stop()
            stop_server(proc)
    if store == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp / f'scale-{size}-{shape}.sqlite'}{suffix}").unlink(missing_ok=True)
    return row


def render(rows: list[Row]) -> list[str]:
    lines = [
        "| store | consents | tenants | seed s | RSS MB | GET alone p50 ms | GET 16 conn "
        "req/s | GET p50 ms | GET p99 ms | list alone p50 (max) ms | list 16 conn req/s "
        "| list p50 ms | list p99 ms | non-2xx |",
        "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        tenants = "1 (all in the load's)" if r.shape == "one" else f"{max(1, r.size // 100):,}"
        if r.error:
            lines.append(f"| {r.store} | {r.size:,} | {tenants} | failed: {r.error} |")
            continue
        cells = [r.store, f"{r.size:,}", tenants, f"{r.seed_s:.1f}", f"{r.rss_mb:.0f}"]
        errors = 0
        for op in (GET, LIST):
            alone = r.alone.get(op.name)
            if alone is None:
                cells.append("–")
            elif op is LIST:
                cells.append(f"{alone[0]:.2f} ({alone[1]:.0f})")
            else:
                cells.append(f"{alone[0]:.2f}")
            loaded = r.results.get(op.name)
            if loaded is None:
                cells += ["not run: too slow for 16 connections", "", ""]
            else:
                cells += [f"{loaded[0]:,.0f}", f"{loaded[1]:.2f}", f"{loaded[2]:.2f}"]
                errors += loaded[3]
        cells.append(str(errors))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def memory_per_100k(rows: list[Row]) -> list[str]:
    out = []
    for store in ("memory", "sqlite"):
        measure = "rss_mb" if store == "memory" else "disk_mb"
        spread = {
            r.size: getattr(r, measure)
            for r in rows
            if r.store == store and r.shape == "spread" and not r.error
        }
        if len(spread) < 2:
            continue
        small, large = min(spread), max(spread)
        per = (spread[large] - spread[small]) / ((large - small) / 100_000)
        where = (
            "RSS of the server process tree"
            if store == "memory"
            else "size of the SQLite file (the workers' RSS stays flat: the rows stay on disk "
            "and in the OS page cache)"
        )
        out.append(
            f"- {store}: {per:.0f} MB per 100k consents ({where}, at {large:,} minus at {small:,})"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--stores", default="memory,sqlite")
    parser.add_argument("--one-tenant-up-to", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[Row] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="mockserver-scale-") as tmp:
        for store in args.stores.split(","):
            for size in sizes:
                rows.append(run_one(store, size, "spread", args, Path(tmp)))
            for size in sizes:
                if size <= args.one_tenant_up_to:
                    rows.append(run_one(store, size, "one", args, Path(tmp)))
    at_100k = [r for r in rows if r.size == 100_000 and LIST.name in r.alone]
    verdict = []
    for r in at_100k:
        alone = r.alone[LIST.name][0]
        loaded = r.results.get(LIST.name)
        shape = "one tenant holds them all" if r.shape == "one" else "100 per tenant"
        verdict.append(
            f"- list page at 100k consents, {r.store}, {shape}: p50 {alone:.2f} ms one at a "
            f"time: **{'met' if alone <= LIST_TARGET_MS else 'NOT met'}**"
            + (
                f"; {loaded[1]:.2f} ms at 16 connections: "
                f"**{'met' if loaded[1] <= LIST_TARGET_MS else 'NOT met'}**"
                if loaded
                else ""
            )
            + f" (target ≤ {LIST_TARGET_MS:.0f} ms)"
        )
    report = "\n".join(
        [
            "# Scale: GET-by-id and a filtered list as the store grows",
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; {os.cpu_count()} CPUs shared by "
            "wrk and the server; load average before: "
            + " ".join(f"{x:.2f}" for x in load_before)
            + ", after: "
            + " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "- GET one ACCEPTED consent of the load's tenant; list `?Status=ACCEPTED&Count=10`. "
            "'alone': up to 50 requests one after another on one connection (the time one "
            f"request takes); '16 conn': `wrk -t1 -c16 -d{args.duration}s --latency` after a "
            "1 s warm-up (skipped when one request alone takes over 200 ms)",
            "- memory: granian 1 worker, 1 thread; sqlite: `mockserver serve --workers 2 "
            "--threads 1`; strict off, journal on",
            "- seed s: memory, from spawning the server to its first 200 (seeding runs in the "
            "worker's start-up); sqlite, filling the file before the server starts",
            "",
            *render(rows),
            "",
            *memory_per_100k(rows),
            *verdict,
            "",
        ]
    )
    print()
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(f"written to {args.output}")
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
