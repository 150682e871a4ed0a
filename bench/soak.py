"""A bounded soak: a million mixed requests, with the server's memory and SQLite file sampled.

Each virtual user does what a CI suite and the clients of a shared sandbox do, over and over:
API.1 create, read, conditional PATCH, filtered list, delete; a Fliqa token and a walk through
a cursor-paged list (short-lived state: tokens, cursors); an unauthenticated Finqware
onboarding page (a journey); a Yapily list; an unmatched path. Every few seconds the resident
memory of the server's processes and the size of the SQLite file (with its -wal) are sampled.
State that never expired would show as a line that keeps rising; the report gives the samples,
the growth over the second half of the run, the latency of every request (p50, p99, p99.9, max,
and p99 per tenth of the run) and how much of the CPU other work took while it ran.

    .venv/bin/python bench/soak.py --store memory --requests 1000000
    .venv/bin/python bench/soak.py --store sqlite --requests 1000000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mockserver.testing import RunningServer, start_server  # noqa: E402

RESULTS = ROOT / "bench" / "results"


@dataclass
class Counter:
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    # (seconds since the start, latency in seconds) of every request, in completion order.
    latencies: list[tuple[float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = field(default_factory=time.monotonic)

    def add(self, status: int, began: float) -> int:
        ended = time.monotonic()
        with self.lock:
            self.sent += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies.append((ended - self.started, ended - began))
            return self.sent


class User:
    """One virtual user on one keep-alive connection."""

    def __init__(self, base_url: str, counter: Counter, limit: int) -> None:
        netloc = urlsplit(base_url).netloc
        host, _, port = netloc.partition(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.counter, self.limit = counter, limit
        self.key = f"soak-{uuid.uuid4().hex[:8]}"

    def call(
        self, method: str, path: str, body: object = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        data = None if body is None else json.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        began = time.monotonic()
        try:
            self.conn.request(method, path, data, headers)
            answer = self.conn.getresponse()
            payload = answer.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.counter.add(0, began)
            return 0, {}, b""
        if self.counter.add(answer.status, began) >= self.limit:
            raise StopIteration
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, payload

    def api1(self) -> dict[str, str]:
        return {"x-api-key": self.key, "x-correlation-id": str(uuid.uuid4())}

    def round(self) -> None:
        status, headers, body = self.call(
            "POST", "/api1/api/v1/consents", {"name": "Soak AB"}, **self.api1()
        )
        if status == 201:
            consent_id = json.loads(body)["id"]
            url = f"/api1/api/v1/consents/{consent_id}"
            _, got, _ = self.call("GET", url, **self.api1())
            self.call(
                "PATCH",
                url,
                {"name": "Renamed"},
                **self.api1(),
                **{"If-Match": got.get("etag", "*")},
            )
            self.call("GET", "/api1/api/v1/consents?Status=CREATED&Count=5", **self.api1())
            self.call("DELETE", url, **self.api1())
        status, _, body = self.call(
            "GET",
            "/fliqa/service/auth/token/sandbox/sandbox",
            # The fixtures' tenant, so that its seeded consents give the list a next cursor.
            **{"Api-Key": "sandbox-fliqa-key", "Api-Secret": "sandbox-fliqa-secret"},
        )
        if status == 200:
            token = json.loads(body).get("token") or json.loads(body).get("accessToken", "")
            bearer = {"Authorization": f"Bearer {token}"}
            status, _, body = self.call("GET", "/fliqa/service/consent?limit=1", **bearer)
            cursor = (
                json.loads(body).get("metadata", {}).get("next_cursor") if status == 200 else None
            )
            if cursor:
                self.call("GET", f"/fliqa/service/consent?limit=1&cursor={cursor}", **bearer)
        self.call(
            "GET",
            # A registered client (the page refuses others): each visit starts a journey.
            "/__sandbox/finqware/onboarding?client_id=sandbox-finqware-client"
            "&redirect_uri=https://example.test/cb&state=s",
        )
        self.call(
            "GET", "/yapily/consents?limit=5", Authorization="Basic c29hay1hcHA6c29hay1zZWNyZXQ="
        )
        self.call("GET", f"/api1/nowhere/{uuid.uuid4().hex}", **self.api1())

    def run(self) -> None:
        try:
            while True:
                self.round()
        except StopIteration:
            pass
        finally:
            self.conn.close()


def _group_pids(pid: int) -> list[int]:
    """The server's process and its children (the workers)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            pids.append(int(entry))
    return pids


def _group_rss_mb(pid: int) -> float:
    """Resident memory of the server: its process and every child (the workers)."""
    total = 0
    for member in _group_pids(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _busy_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return sum(values) - idle, sum(values)


def _own_ticks(pids: list[int]) -> int:
    """utime + stime of these processes (the server's and this client's)."""
    ticks = 0
    for member in pids:
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks


def _file_mb(path: Path | None) -> float:
    if path is None:
        return 0.0
    size = 0
    for suffix in ("", "-wal"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            size += candidate.stat().st_size
    return size / 1e6


@dataclass
class Sample:
    seconds: float
    requests: int
    rss_mb: float
    file_mb: float


def soak(store: str, requests: int, users: int, every: float, extra: list[str]) -> str:
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    database = folder / "soak.sqlite" if store == "sqlite" else None
    args = ["--journal-size", "10000", *extra]
    if database is not None:
        args += ["--store", f"sqlite:{database}", "--workers", "2"]
    server: RunningServer = start_server(args)
    counter = Counter()
    samples: list[Sample] = []
    threads = [
        threading.Thread(target=User(server.base_url, counter, requests).run) for _ in range(users)
    ]
    pids = [*_group_pids(server.process.pid), os.getpid()]
    busy_before, own_before = _busy_ticks(), _own_ticks(pids)

    def sample() -> None:
        rss = _group_rss_mb(server.process.pid)
        samples.append(
            Sample(time.monotonic() - counter.started, counter.sent, rss, _file_mb(database))
        )

    try:
        counter.started = time.monotonic()
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            sample()
            time.sleep(every)
        sample()
        pids = [*_group_pids(server.process.pid), os.getpid()]
        busy_after, own_after = _busy_ticks(), _own_ticks(pids)
    finally:
        server.stop()
    # Whatever else ran: busy CPU not spent by the server or this client, as a share of all.
    other = (busy_after[0] - busy_before[0]) - (own_after - own_before)
    other_share = max(0.0, other / max(1, busy_after[1] - busy_before[1]))
    return _report(store, users, args, samples, counter, other_share)


def _percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def _latency_lines(counter: Counter, elapsed: float) -> list[str]:
    every = sorted(latency for _, latency in counter.latencies)
    lines = [
        f"Latency over all requests: p50 {_percentile(every, 0.5) * 1000:.1f} ms, "
        f"p99 {_percentile(every, 0.99) * 1000:.1f} ms, "
        f"p99.9 {_percentile(every, 0.999) * 1000:.1f} ms, max {every[-1] * 1000:.1f} ms.",
        "",
        "| tenth of the run | requests | p99 ms | max ms |",
        "|--:|--:|--:|--:|",
    ]
    tenths: list[list[float]] = [[] for _ in range(10)]
    for at, latency in counter.latencies:
        tenths[min(9, int(at / elapsed * 10))].append(latency)
    for number, tenth in enumerate(tenths, 1):
        tenth.sort()
        if tenth:
            p99 = _percentile(tenth, 0.99) * 1000
            lines.append(f"| {number} | {len(tenth):,} | {p99:.1f} | {tenth[-1] * 1000:.1f} |")
    return lines


def _report(
    store: str,
    users: int,
    args: list[str],
    samples: list[Sample],
    counter: Counter,
    other_share: float,
) -> str:
    half, last = samples[len(samples) // 2], samples[-1]
    elapsed = last.seconds
    lines = [
        f"# Soak: {store}, {counter.sent:,} requests, {users} users, {elapsed:.0f} s "
        f"({counter.sent / elapsed:,.0f} req/s), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"Server: `mockserver serve {' '.join(args)}` (temporary files); {os.cpu_count()} CPUs, "
        f"other work took {other_share:.0%} of the CPU during the run.",
        "",
        f"Statuses: {dict(sorted(counter.statuses.items()))} (0 = connection error)",
        "",
        f"Second half of the run: RSS {half.rss_mb:.1f} -> {last.rss_mb:.1f} MB "
        f"({last.rss_mb - half.rss_mb:+.1f}), SQLite file {half.file_mb:.2f} -> "
        f"{last.file_mb:.2f} MB ({last.file_mb - half.file_mb:+.2f}).",
        "",
        *_latency_lines(counter, elapsed),
        "",
        "| s | requests | RSS MB | SQLite MB |",
        "|--:|--:|--:|--:|",
    ]
    step = max(1, len(samples) // 20)
    for row in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        lines.append(
            f"| {row.seconds:.0f} | {row.requests:,} | {row.rss_mb:.1f} | {row.file_mb:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--label", default="", help="suffix of the report's file name")
    args, extra = parser.parse_known_args()  # the rest goes to `mockserver serve`
    report = soak(args.store, args.requests, args.users, args.every, extra)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"soak-{args.store}{args.label}.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
