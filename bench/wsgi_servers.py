"""Benchmark WSGI servers (gunicorn, waitress, granian) serving a Flask app.

Usage::

    python bench/wsgi_servers.py [--app MODULE:CALLABLE] [--path /ping]
                                 [--duration 10] [--rounds 3]

For every server configuration the script:

1. starts the server on a free 127.0.0.1 port (its own process group),
2. measures the start-up time until the first ``200`` on ``--path``,
3. runs a short discarded warm-up, then ``wrk -t1 -c16 -d<duration>s --latency``
   ``--rounds`` times,
4. samples the summed RSS of the server process tree from ``/proc`` the whole
   time and keeps the peak,
5. stops the server (SIGTERM, then SIGKILL of its process group after a
   timeout) in a ``finally`` block, so nothing is left behind.

It prints one markdown table and writes it to ``bench/results/wsgi_servers.md``.
Load only ever targets 127.0.0.1 and every step is time-bounded.
Needs ``wrk`` (``apt-get install -y wrk``) and gunicorn, waitress and granian
installed in the interpreter given by ``--python`` (default: the project venv).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "wsgi_servers.md"
DEFAULT_APP = "bench.bare_app:app"
DEFAULT_PATH = "/ping"
WRK_THREADS = 1
WRK_CONNECTIONS = 16
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
RSS_SAMPLE_INTERVAL_S = 0.2
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")

# argv builder: (python, app, port) -> command line
ArgvBuilder = Callable[[str, str, int], list[str]]


@dataclass(frozen=True)
class ServerConfig:
    name: str
    build_argv: ArgvBuilder


def _gunicorn(*extra: str) -> ArgvBuilder:
    def build(python: str, app: str, port: int) -> list[str]:
        return [python, "-m", "gunicorn", "--bind", f"{HOST}:{port}", *extra, app]

    return build


def _waitress(*extra: str) -> ArgvBuilder:
    def build(python: str, app: str, port: int) -> list[str]:
        return [python, "-m", "waitress", f"--listen={HOST}:{port}", *extra, app]

    return build


def _granian(*extra: str) -> ArgvBuilder:
    def build(python: str, app: str, port: int) -> list[str]:
        return [
            python, "-m", "granian", "--interface", "wsgi",
            "--host", HOST, "--port", str(port), *extra, app,
        ]  # fmt: skip

    return build


CONFIGS: list[ServerConfig] = [
    ServerConfig("gunicorn sync w2", _gunicorn("--worker-class", "sync", "--workers", "2")),
    ServerConfig(
        "gunicorn gthread w2x4",
        _gunicorn("--worker-class", "gthread", "--workers", "2", "--threads", "4"),
    ),
    ServerConfig("waitress t4", _waitress("--threads=4")),
    # granian 2.x WSGI default: blocking threads = backpressure // 2 (512 for one
    # worker, spawned on demand); we also try small explicit pools.
    ServerConfig("granian w1", _granian("--workers", "1")),
    ServerConfig("granian w1 bt1", _granian("--workers", "1", "--blocking-threads", "1")),
    ServerConfig("granian w1 bt4", _granian("--workers", "1", "--blocking-threads", "4")),
    ServerConfig("granian w2", _granian("--workers", "2")),
    ServerConfig("granian w2 bt1", _granian("--workers", "2", "--blocking-threads", "1")),
    ServerConfig("granian w2 bt4", _granian("--workers", "2", "--blocking-threads", "4")),
]


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    other_cpu_pct: float = 0.0  # CPU used by processes outside the benchmark


@dataclass
class ConfigResult:
    name: str
    startup_s: float | None = None
    rounds: list[WrkResult] = field(default_factory=list)
    peak_rss_mb: float | None = None
    peak_procs: int = 0
    error: str | None = None

    @property
    def rps(self) -> float | None:
        return statistics.median(r.rps for r in self.rounds) if self.rounds else None

    @property
    def p50_ms(self) -> float | None:
        return statistics.median(r.p50_ms for r in self.rounds) if self.rounds else None

    @property
    def p99_ms(self) -> float | None:
        return statistics.median(r.p99_ms for r in self.rounds) if self.rounds else None

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def other_cpu_pct(self) -> float | None:
        return max(r.other_cpu_pct for r in self.rounds) if self.rounds else None


# --------------------------------------------------------------------------- /proc


def _read_stat(pid: int) -> tuple[int, int] | None:
    """Return (ppid, pgrp) of ``pid`` or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may contain spaces/parens: fields start after the last ')'
    fields = raw[raw.rfind(")") + 2 :].split()
    return int(fields[1]), int(fields[2])


def _all_pids() -> Iterator[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (by scanning /proc for parent links)."""
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        stat = _read_stat(pid)
        if stat is not None:
            children.setdefault(stat[0], []).append(pid)
    tree: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def group_members(pgid: int) -> list[int]:
    members = []
    for pid in _all_pids():
        stat = _read_stat(pid)
        if stat is not None and stat[1] == pgid:
            members.append(pid)
    return members


def rss_kb(pid: int) -> int:
    try:
        # statm field 2 = resident pages; 0 for zombies / gone processes
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
    except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError, ValueError):
        return 0


def machine_busy_s() -> float:
    """CPU seconds spent busy by all CPUs since boot (from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user..steal; guest time is already in user
    return busy / CLK_TCK


def tree_cpu_s(root: int) -> float:
    """utime + stime (seconds) of the live processes of a tree."""
    total = 0
    for pid in process_tree(root):
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def own_cpu_s() -> float:
    """CPU seconds of this script and its reaped children (wrk)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class RssSampler(threading.Thread):
    """Samples the summed RSS of a process tree until stopped; keeps the peak."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_kb = 0
        self.peak_procs = 0
        self._stop_event = threading.Event()

    def sample(self) -> None:
        pids = process_tree(self.root)
        total = sum(rss_kb(pid) for pid in pids)
        self.peak_kb = max(self.peak_kb, total)
        self.peak_procs = max(self.peak_procs, len(pids))

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(RSS_SAMPLE_INTERVAL_S)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def http_status(port: int, path: str) -> int | None:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def wait_ready(proc: subprocess.Popen[bytes], port: int, path: str, t0: float) -> float:
    deadline = t0 + STARTUP_TIMEOUT_S
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        if http_status(port, path) == 200:
            return time.perf_counter() - t0
        time.sleep(0.02)
    raise RuntimeError(f"no 200 on {path} within {STARTUP_TIMEOUT_S:.0f}s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server, SIGKILL its whole process group after a timeout."""
    pgid = proc.pid  # started with start_new_session=True, so pgid == pid
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print(f"  ! pid {proc.pid} ignored SIGTERM for {STOP_TIMEOUT_S:.0f}s, SIGKILL")
    # orphaned workers keep the group id; give them a moment, then kill the group
    deadline = time.monotonic() + 5
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if group_members(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    left = group_members(pgid)
    if left:
        print(f"  ! processes still alive in group {pgid}: {left}")


# --------------------------------------------------------------------------- wrk

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    lat = {
        m.group(1): float(m.group(2)) * _UNIT_MS[m.group(3)]
        for m in re.finditer(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    }
    if rps is None or total is None or "50" not in lat or "99" not in lat:
        raise RuntimeError(f"cannot parse wrk output:\n{output}")
    errors = 0
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sock:
        errors += sum(int(g) for g in sock.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non2xx:
        errors += int(non2xx.group(1))
    return WrkResult(
        rps=float(rps.group(1)),
        p50_ms=lat["50"],
        p99_ms=lat["99"],
        requests=int(total.group(1)),
        errors=errors,
    )


def run_wrk(port: int, path: str, duration: int) -> WrkResult:
    url = f"http://{HOST}:{port}{path}"
    cmd = [
        "wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{duration}s",
        "--timeout", "5s", "--latency", url,
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=True)
    return parse_wrk(out.stdout)


# --------------------------------------------------------------------------- driver


def bench_config(
    cfg: ServerConfig,
    python: str,
    app: str,
    path: str,
    duration: int,
    rounds: int,
    warmup: int,
    log_dir: Path,
) -> ConfigResult:
    result = ConfigResult(cfg.name)
    port = free_port()
    argv = cfg.build_argv(python, app, port)
    log_path = log_dir / (re.sub(r"\W+", "_", cfg.name) + ".log")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    print(f"== {cfg.name}: {' '.join(argv[1:])}", flush=True)
    with log_path.open("wb") as log:
        t0 = time.perf_counter()
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
            result.startup_s = wait_ready(proc, port, path, t0)
            print(f"  start-up {result.startup_s:.2f}s", flush=True)
            if warmup > 0:
                run_wrk(port, path, warmup)
            for i in range(rounds):
                # CPU used by anything else on the machine during the round tells
                # how trustworthy the round is (other sessions share the CPUs).
                before = (time.monotonic(), machine_busy_s(), tree_cpu_s(proc.pid), own_cpu_s())
                r = run_wrk(port, path, duration)
                after = (time.monotonic(), machine_busy_s(), tree_cpu_s(proc.pid), own_cpu_s())
                wall, busy, server_cpu, own_cpu = (
                    a - b for a, b in zip(after, before, strict=True)
                )
                other = max(0.0, busy - server_cpu - own_cpu)
                r.other_cpu_pct = 100 * other / (wall * (os.cpu_count() or 1))
                result.rounds.append(r)
                print(
                    f"  round {i + 1}: {r.rps:,.0f} req/s  p50 {r.p50_ms:.2f} ms  "
                    f"p99 {r.p99_ms:.2f} ms  errors {r.errors}  "
                    f"other CPU {r.other_cpu_pct:.0f}%",
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
    return result


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def render_table(results: list[ConfigResult]) -> str:
    best = max((r.rps for r in results if r.rps is not None), default=None)
    lines = [
        "| server config | start-up s | req/s (median) | p50 ms | p99 ms | peak RSS MB "
        "| ratio to best | req/s per round | errors | other CPU % |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        ratio = None if (r.rps is None or not best) else r.rps / best
        per_round = ", ".join(f"{x.rps:,.0f}" for x in r.rounds) or (r.error or "n/a")
        procs = f" ({r.peak_procs} procs)" if r.peak_procs else ""
        lines.append(
            f"| {r.name} | {_fmt(r.startup_s, '.2f')} | {_fmt(r.rps, ',.0f')} "
            f"| {_fmt(r.p50_ms, '.2f')} | {_fmt(r.p99_ms, '.2f')} "
            f"| {_fmt(r.peak_rss_mb, '.1f')}{procs} | {_fmt(ratio, '.2f')} "
            f"| {per_round} | {r.errors} | {_fmt(r.other_cpu_pct, '.0f')} |"
        )
    return "\n".join(lines)


def environment_notes(python: str, args: argparse.Namespace) -> list[str]:
    code = (
        "import importlib.metadata as m, platform\n"
        "v = []\n"
        "for p in ('flask', 'gunicorn', 'waitress', 'granian'):\n"
        "    try: v.append(f'{p} {m.version(p)}')\n"
        "    except m.PackageNotFoundError: v.append(f'{p} missing')\n"
        "print('Python ' + platform.python_version() + ', ' + ', '.join(v))\n"
    )
    versions = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    wrk_ver = (
        subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False)
        .stdout.strip()
        .splitlines()
    )
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        f"- machine: {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}",
        f"- load average before run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- {versions}",
        f"- load: `wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{args.duration}s --latency` "
        f"({wrk_ver[0] if wrk_ver else 'wrk'}), {args.rounds} round(s) after a "
        f"{args.warmup}s warm-up, median reported; client and server share the machine",
        f"- app: `{args.app}`, path: `{args.path}`, bound to {HOST} only",
        "- peak RSS: max over 0.2 s samples of the summed VmRSS of the server process tree "
        "(master + workers), from /proc",
        "- other CPU %: worst round's share of the machine's CPU used by processes other than "
        "the server, wrk and this script (from /proc/stat); rows with a high value are "
        "skewed by other work on the machine",
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    default_python = REPO_ROOT / ".venv" / "bin" / "python"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", default=DEFAULT_APP, help="WSGI target MODULE:CALLABLE")
    parser.add_argument("--path", default=DEFAULT_PATH, help="path to GET (must start with /)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk round")
    parser.add_argument("--rounds", type=int, default=3, help="wrk rounds per config")
    parser.add_argument("--warmup", type=int, default=1, help="discarded warm-up seconds")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SUBSTR",
        help="run only configs whose name contains SUBSTR (repeatable)",
    )
    parser.add_argument(
        "--python",
        default=str(default_python) if default_python.exists() else sys.executable,
        help="interpreter that has the servers installed (default: project venv)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="markdown file")
    args = parser.parse_args(argv)
    if not args.path.startswith("/"):
        parser.error("--path must start with /")
    if ":" not in args.app:
        parser.error("--app must be MODULE:CALLABLE")
    if not 1 <= args.duration <= 600 or not 1 <= args.rounds <= 20:
        parser.error("--duration must be 1..600 and --rounds 1..20")
    if not 0 <= args.warmup <= 60:
        parser.error("--warmup must be 0..60")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    configs = [c for c in CONFIGS if not args.only or any(s in c.name for s in args.only)]
    if not configs:
        print("no config matches --only", file=sys.stderr)
        return 2
    notes = environment_notes(args.python, args)
    results: list[ConfigResult] = []
    with tempfile.TemporaryDirectory(prefix="wsgi-bench-") as tmp:
        for cfg in configs:
            results.append(
                bench_config(
                    cfg,
                    args.python,
                    args.app,
                    args.path,
                    args.duration,
                    args.rounds,
                    args.warmup,
                    Path(tmp),
                )
            )
    notes.append(
        "- load average after run: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (the client shares the 2 CPUs; other load on the machine skews the numbers)"
    )
    table = render_table(results)
    report = "# WSGI server benchmark\n\n" + "\n".join(notes) + "\n\n" + table + "\n"
    print()
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(f"written to {args.output}")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
