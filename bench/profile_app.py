"""CPU cost per request of the simulator, in-process, without a server or a network.

Usage::

    python bench/profile_app.py [--store memory|sqlite] [--n 3000] [--op get,list,create,patch]
                                [--profile OP]   # pyinstrument call tree of one operation

Each request is a WSGI call on the Flask app that `mockserver serve` runs (API.1, strict mode
off, journal on), built once with werkzeug's EnvironBuilder. The figure is CPU time of the
process per request (`time.process_time`, background threads such as the SQLite journal
flusher included), the fastest of 7 rounds, so it moves less than requests/s over loopback
when other work shares the machine. The bare Flask handler of `bench/bare_app.py` is
measured the same way for comparison. `--calls OP` only makes the calls: under
`valgrind --tool=callgrind`, the difference between two call counts gives instructions per
request, a figure other load on the machine does not move (see bench/README.md).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bare_app  # noqa: E402  (bench/ itself is on sys.path: this file's folder)

from mockserver import create_app  # noqa: E402

KEY = "bench-key"
CID = "4b3c2f0e-8d7a-4f4e-9a51-2d6f0b1c9e77"
CONSENT = "11111111-2222-4333-8444-555555555555"
BASE = "/api1/api/v1/consents"
HEADERS = {"x-api-key": KEY, "x-correlation-id": CID, "Host": "127.0.0.1:4010"}

WsgiApp = Callable[[dict[str, Any], Any], Any]


def environ(method: str, path: str, body: bytes | None = None, **extra: str) -> dict[str, Any]:
    headers = Headers({**HEADERS, **extra})
    if body is not None:
        headers["Content-Type"] = "application/json"
    env = EnvironBuilder(path=path, method=method, headers=headers, data=body).get_environ()
    env["__body"] = body or b""
    return env


def call(app: WsgiApp, env: dict[str, Any]) -> str:
    fresh = dict(env)
    fresh["wsgi.input"] = io.BytesIO(env["__body"])
    status: list[str] = []

    def start_response(s: str, headers: Any, exc_info: Any = None) -> None:
        status.append(s)

    chunks = app(fresh, start_response)
    try:
        for _ in chunks:
            pass
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return status[0]


def operations(store_kind: str) -> tuple[WsgiApp, dict[str, dict[str, Any]]]:
    store = "memory"
    if store_kind == "sqlite":
        store = f"sqlite:{tempfile.mkdtemp(prefix='mockserver-prof-')}/p.sqlite"
    app = create_app(["api1"], fixtures=None, store=store)
    admin = app.test_client()
    made = admin.post(
        "/__admin/api1/consents",
        json={"tenant": KEY, "status": "ACCEPTED", "name": "Acme AB", "id": CONSENT},
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    envs = {
        "get": environ("GET", f"{BASE}/{CONSENT}"),
        "list": environ("GET", f"{BASE}?Status=ACCEPTED&Count=10"),
        "create": environ("POST", BASE, b'{"name": "Acme AB"}'),
        "patch": environ("PATCH", f"{BASE}/{CONSENT}", b'{"name": "Acme AB"}', **{"If-Match": "*"}),
    }
    return app, envs


def per_request_us(app: WsgiApp, env: dict[str, Any], n: int, want: str) -> float:
    """CPU µs per request: the fastest of 7 rounds (interference only ever adds time)."""
    got = call(app, env)
    assert got.startswith(want), got
    rounds = []
    for _ in range(7):
        t0 = time.process_time()
        for _ in range(n // 7):
            call(app, env)
        rounds.append((time.process_time() - t0) / (n // 7) * 1e6)
    return min(rounds)


EXPECTED = {"get": "200", "list": "200", "create": "201", "patch": "204"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--op", default="get,list,create,patch")
    parser.add_argument("--profile", choices=sorted(EXPECTED), default=None)
    parser.add_argument(
        "--calls",
        choices=[*sorted(EXPECTED), "bare"],
        default=None,
        help="only make --n calls of one operation (for an instruction count under valgrind)",
    )
    args = parser.parse_args()
    app, envs = operations(args.store)
    if args.calls:
        target, env = (
            (bare_app.app, environ("GET", f"{BASE}/{CONSENT}"))
            if args.calls == "bare"
            else (app, envs[args.calls])
        )
        for _ in range(args.n):
            call(target, env)
        return 0
    if args.profile:
        from pyinstrument import Profiler

        env = envs[args.profile]
        call(app, env)
        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(args.n):
            call(app, env)
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all="SHOW_ALL" in os.environ))
        return 0
    bare_env = environ("GET", f"{BASE}/{CONSENT}")
    bare = per_request_us(bare_app.app, bare_env, args.n, "200")
    print(f"store {args.store}: CPU µs per request (fastest of 7 rounds × {args.n // 7})")
    print(f"  bare Flask handler  {bare:8.1f}")
    for op in args.op.split(","):
        us = per_request_us(app, envs[op], args.n, EXPECTED[op])
        print(f"  {op:<18}  {us:8.1f}   ({us / bare:.1f}× bare)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
