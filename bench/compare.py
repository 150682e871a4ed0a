"""Two versions of the simulator side by side, in alternated wrk rounds: is a change faster?

Usage::

    python bench/compare.py OLD_REV [NEW_REV] [--store memory|sqlite] [--rounds 5]
                            [--duration 5] [--ops "GET one,create"] [--threads 1]

Each revision is checked out into a temporary git worktree (`NEW_REV` defaults to the working
tree as it is, uncommitted edits included) and served by this checkout's virtualenv with that
worktree first on `PYTHONPATH`, with the flags `bench/bench.py` gives the simulator (API.1 only,
no fixtures, validation, state and journal on). Both servers run for the whole comparison, but
only one is driven at a time: each round sends every operation to one, then to the other, the
order swapped every round, so that drift in the machine's load falls on both alike. The report
gives each round's req/s and the ratio new/old per round, their medians, the p99s, and how much
of the CPU other work took in each round (a round above 15% says so).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from wsgi_servers import WrkResult, free_port, machine_busy_s, own_cpu_s, stop_server, tree_cpu_s

from bench import (
    HOST,
    OPERATIONS,
    REPO_ROOT,
    Operation,
    _python,
    lua_script,
    run_wrk,
    seed_simulator,
    wait_first_200,
)

PROBE = "/api1/api/v1/consents?Status=ACCEPTED"
BUSY_LIMIT = 15.0  # % of the CPU taken by other work above which a round is marked


@dataclass
class Side:
    label: str
    tree: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    rounds: dict[str, list[WrkResult]] = field(default_factory=dict)


def checkout(rev: str, folder: Path) -> Path:
    """A detached worktree of `rev` in `folder` (removed by `remove_checkout`)."""
    subprocess.run(
        ["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", "-q", str(folder), rev],
        check=True,
    )
    return folder


def remove_checkout(folder: Path) -> None:
    subprocess.run(
        ["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(folder)], check=False
    )


def start(side: Side, args: argparse.Namespace, tmp: Path) -> None:
    side.port = free_port()
    store = "memory" if args.store == "memory" else f"sqlite:{tmp / (side.label + '.sqlite')}"
    argv = [
        _python(), "-m", "mockserver.cli", "serve", "--provider", "api1", "--fixtures", "none",
        "--host", HOST, "--port", str(side.port), "--store", store,
        "--workers", "2" if args.store == "sqlite" else "1", *args.serve_args,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(side.tree), "PYTHONUNBUFFERED": "1"}
    env.pop("MOCKSERVER_ADMIN_TOKEN", None)
    where = subprocess.run(
        [_python(), "-c", "import mockserver; print(mockserver.__file__)"],
        cwd=side.tree, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not where.startswith(str(side.tree)):
        raise RuntimeError(f"{side.label} would import {where}, not its own checkout")
    # The worktree is the working folder too: `python -m` puts it first on sys.path, before
    # PYTHONPATH, so a server started from this checkout would import this checkout's code.
    side.process = subprocess.Popen(
        argv,
        cwd=side.tree,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=(tmp / f"{side.label}.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_first_200(side.process, side.port, PROBE, time.perf_counter())
    seed_simulator(side.port)


def drive(side: Side, op: Operation, args: argparse.Namespace, tmp: Path) -> WrkResult:
    assert side.process is not None
    folder = tmp / side.label
    folder.mkdir(exist_ok=True)
    script = lua_script(op, folder, "/api1")
    url = "/api1" + op.path.replace("{id}", op.ids[0] if op.ids else "")
    before = (time.monotonic(), machine_busy_s(), tree_cpu_s(side.process.pid), own_cpu_s())
    result = run_wrk(side.port, url, script, args.duration)
    after = (time.monotonic(), machine_busy_s(), tree_cpu_s(side.process.pid), own_cpu_s())
    wall, busy, server, own = (a - b for a, b in zip(after, before, strict=True))
    result.other_cpu_pct = 100 * max(0.0, busy - server - own) / (wall * (os.cpu_count() or 1))
    side.rounds.setdefault(op.name, []).append(result)
    return result


def report(old: Side, new: Side, args: argparse.Namespace) -> str:
    lines = [
        f"# {new.label} against {old.label}: {args.store} store, serve flags "
        f"`{' '.join(args.serve_args) or '(defaults)'}`, {args.rounds} alternated rounds of "
        f"{args.duration} s, wrk -t1 -c16, {os.cpu_count()} CPUs",
        "",
        "| operation | round | old req/s | new req/s | new/old | old p99 ms | new p99 ms "
        "| other CPU % (old, new) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, old_rounds in old.rounds.items():
        ratios = []
        for number, (a, b) in enumerate(zip(old_rounds, new.rounds[name], strict=True), 1):
            ratios.append(b.rps / a.rps)
            busy = " (busy)" if max(a.other_cpu_pct, b.other_cpu_pct) > BUSY_LIMIT else ""
            lines.append(
                f"| {name} | {number} | {a.rps:,.0f} | {b.rps:,.0f} | {ratios[-1]:.2f} | "
                f"{a.p99_ms:.1f} | {b.p99_ms:.1f} | {a.other_cpu_pct:.0f}, "
                f"{b.other_cpu_pct:.0f}{busy} |"
            )
        old_median = statistics.median(r.rps for r in old_rounds)
        new_median = statistics.median(r.rps for r in new.rounds[name])
        lines.append(
            f"| **{name}** | median | **{old_median:,.0f}** | **{new_median:,.0f}** | "
            f"**{statistics.median(ratios):.2f}** (rounds {min(ratios):.2f}–{max(ratios):.2f}) "
            "| | | |"
        )
    return "\n".join(lines) + "\n"


def parse_args() -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new", nargs="?", default="", help="a revision; default: working tree")
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--ops", default="GET one,create")
    parser.add_argument("--output", type=Path)
    return parser.parse_known_args()  # the rest goes to `mockserver serve`


def main() -> int:
    args, serve_args = parse_args()
    args.serve_args = serve_args
    ops = [op for op in OPERATIONS if op.name in args.ops.split(",")]
    with tempfile.TemporaryDirectory(prefix="compare-") as scratch:
        tmp = Path(scratch)
        old = Side(f"old {args.old}", checkout(args.old, tmp / "old"))
        new_tree = checkout(args.new, tmp / "new") if args.new else REPO_ROOT
        new = Side(f"new {args.new or 'working tree'}", new_tree)
        try:
            for side in (old, new):
                start(side, args, tmp)
            for op in ops:  # one warm-up round each, not counted
                for side in (old, new):
                    drive(side, op, args, tmp)
                    side.rounds.clear()
            for number in range(args.rounds):
                for op in ops:
                    for side in (old, new) if number % 2 == 0 else (new, old):
                        result = drive(side, op, args, tmp)
                        print(
                            f"{side.label:>24} {op.name:<15} {result.rps:9,.0f} req/s", flush=True
                        )
        finally:
            for side in (old, new):
                if side.process is not None:
                    stop_server(side.process)
            remove_checkout(tmp / "old")
            if args.new:
                remove_checkout(tmp / "new")
    text = report(old, new, args)
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
