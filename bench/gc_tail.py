"""Garbage collections while the memory store fills: each one timed, by generation, in-process.

Usage::

    python bench/gc_tail.py [--n 200000] [--freeze-survivors]

Builds the app as `profile_app.py` does, freezes the heap as `mockserver serve` does, then
creates `--n` consents one WSGI call at a time, timing every collection through
`gc.callbacks` and every call. With `--freeze-survivors`, `mockserver.heap.freeze_survivors`
is on. Prints per generation the count, total and longest collection, every full collection
(at which create, how long), and the calls' p50/p99/p99.9/max.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import profile_app  # noqa: E402  (bench/ itself is on sys.path: this file's folder)

from mockserver.heap import freeze_survivors  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--freeze-survivors", action="store_true")
    args = parser.parse_args()
    app, envs = profile_app.operations("memory")
    gc.collect()
    gc.freeze()
    done = [0]
    started = [0.0]
    collections: list[tuple[int, float, int]] = []  # generation, ms, creates so far

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            ms = (time.perf_counter() - started[0]) * 1000
            collections.append((info["generation"], ms, done[0]))

    gc.callbacks.insert(0, timed)  # first, so a freezing callback is not in the figure
    if args.freeze_survivors:
        freeze_survivors()
    latencies = []
    for i in range(args.n):
        t0 = time.perf_counter()
        profile_app.call(app, envs["create"])
        latencies.append((time.perf_counter() - t0) * 1000)
        done[0] = i + 1
    gc.callbacks.remove(timed)
    report(collections, latencies)
    return 0


def report(collections: list[tuple[int, float, int]], latencies: list[float]) -> None:
    for generation in range(3):
        ms = [d for g, d, _ in collections if g == generation]
        if ms:
            print(
                f"gen{generation}: {len(ms)} collections, {sum(ms):.1f} ms in all, "
                f"longest {max(ms):.2f} ms"
            )
    print("full collections (after create #, ms):")
    print([(n, round(d, 1)) for g, d, n in collections if g == 2])
    latencies.sort()
    n = len(latencies)
    print(
        f"calls ms: p50 {latencies[n // 2]:.3f}  p99 {latencies[int(n * 0.99)]:.3f}  "
        f"p99.9 {latencies[int(n * 0.999)]:.3f}  max {latencies[-1]:.2f}"
    )


if __name__ == "__main__":
    sys.exit(main())
