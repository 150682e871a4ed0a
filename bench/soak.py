"""A bounded soak: a million mixed requests, with the server's memory and SQLite file sampled.

Each virtual user does what a CI suite and the clients of a shared sandbox do, over and over:
API.1 create, read, conditional PATCH, filtered list, delete; a Fliqa token and a walk through
a cursor-paged list (short-lived state: tokens, cursors); an unauthenticated Finqware
onboarding page (a journey); a Yapily list; an unmatched path. Every few seconds the resident
memory of the server's processes and the size of the SQLite file (with its -wal) are sampled.
State that never expired would show as a line that keeps rising; the report gives the samples,
the growth over the second half of the run, and the verdict.

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
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int) -> int:
        with self.lock:
            self.sent += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
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
        try:
            self.conn.request(method, path, data, headers)
            answer = self.conn.getresponse()
            payload = answer.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.counter.add(0)
            return 0, {}, b""
        if self.counter.add(answer.status) >= self.limit:
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
            **{"Api-Key": self.key, "Api-Secret": "soak-secret"},
        )
        if status == 200:
            token = json.loads(body).get("token") or json.loads(body).get("accessToken", "")
            bearer = {"Authorization": f"Bearer {token}"}
            status, _, body = self.call("GET", "/fliqa/service/consent?limit=1", **bearer)
            cursor = (
                json.loads(body).get("metadata", {}).get("nextCursor") if status == 200 else None
            )
            if cursor:
                self.call("GET", f"/fliqa/service/consent?limit=1&cursor={cursor}", **bearer)
        self.call(
            "GET",
            f"/__sandbox/finqware/onboarding?client_id={self.key}&redirect_uri=https://example.test/cb&state=s",
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


def _group_rss_mb(pid: int) -> float:
    """Resident memory of the server: its process and every child (the workers)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(entry) == pid or int(fields[1]) == pid:
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def _file_mb(path: Path | None) -> float:
    if path is None:
        return 0.0
    size = 0
    for suffix in ("", "-wal"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            size += candidate.stat().st_size
    return size / 1e6


def soak(store: str, requests: int, users: int, every: float) -> str:
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    database = folder / "soak.sqlite" if store == "sqlite" else None
    args = ["--journal-size", "10000"]
    if database is not None:
        args += ["--store", f"sqlite:{database}", "--workers", "2"]
    server: RunningServer = start_server(args)
    counter = Counter()
    samples: list[tuple[float, int, float, float]] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=User(server.base_url, counter, requests).run) for _ in range(users)
    ]
    try:
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            samples.append(
                (
                    time.monotonic() - started,
                    counter.sent,
                    _group_rss_mb(server.process.pid),
                    _file_mb(database),
                )
            )
            time.sleep(every)
        samples.append(
            (
                time.monotonic() - started,
                counter.sent,
                _group_rss_mb(server.process.pid),
                _file_mb(database),
            )
        )
    finally:
        server.stop()
    return _report(store, requests, users, samples, counter)


def _report(
    store: str,
    requests: int,
    users: int,
    samples: list[tuple[float, int, float, float]],
    counter: Counter,
) -> str:
    half = samples[len(samples) // 2]
    last = samples[-1]
    rss_growth = last[2] - half[2]
    file_growth = last[3] - half[3]
    elapsed = last[0]
    lines = [
        f"# Soak: {store}, {counter.sent:,} requests, {users} users, {elapsed:.0f} s "
        f"({counter.sent / elapsed:,.0f} req/s), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"Statuses: {dict(sorted(counter.statuses.items()))} (0 = connection error)",
        "",
        f"Second half of the run: RSS {half[2]:.1f} -> {last[2]:.1f} MB ({rss_growth:+.1f}), "
        f"SQLite file {half[3]:.2f} -> {last[3]:.2f} MB ({file_growth:+.2f}).",
        "",
        "| s | requests | RSS MB | SQLite MB |",
        "|--:|--:|--:|--:|",
    ]
    step = max(1, len(samples) // 20)
    for sample in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        lines.append(f"| {sample[0]:.0f} | {sample[1]:,} | {sample[2]:.1f} | {sample[3]:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    args = parser.parse_args()
    report = soak(args.store, args.requests, args.users, args.every)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"soak-{args.store}.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
