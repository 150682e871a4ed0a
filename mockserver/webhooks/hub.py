"""The outbox and its sender: events of consent changes queued in the store, delivered by one
thread per process, retried with exponential backoff."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..behaviour import ProviderDef, settle
from ..clock import SimClock, SystemClock, format_instant
from ..jsoncodec import dumps
from ..store import Store
from .faults import DeliveryFaults, Planned
from .model import Event, Hook, WebhookDef, generic_sign
from .registry import Registry

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DELIVERIES", "OUTBOX", "Hub", "Settings"]

JsonDict = dict[str, Any]

OUTBOX = "webhook-outbox"
DELIVERIES = "webhook-deliveries"
SETTINGS_DOC = "webhook-settings"
DELIVERY_LOG_SIZE = 1000
_WALL = SystemClock()  # delivery times are real seconds, whatever the simulated clock says
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(slots=True, frozen=True)
class Settings:
    """How the sender retries: `attempts` in all (the first included), the wait before the
    second being `backoff` seconds and each next one `factor` times longer, at most
    `max_backoff`; a receiver that has not answered within `timeout` seconds failed."""

    attempts: int = 5
    backoff: float = 1.0
    factor: float = 2.0
    max_backoff: float = 60.0
    timeout: float = 5.0

    def wait(self, attempt: int) -> float:
        """Seconds before the attempt after `attempt` (1-based)."""
        return float(min(self.max_backoff, self.backoff * self.factor ** (attempt - 1)))

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Settings:
        unknown = set(data).difference(_NAMES)
        if unknown:
            raise ValueError(
                f"unknown settings: {', '.join(sorted(unknown))}; allowed: {', '.join(_NAMES)}"
            )
        values = {**cls().as_dict(), **data}
        for name in ("backoff", "factor", "maxBackoff", "timeout"):
            if isinstance(values[name], bool) or not isinstance(values[name], int | float):
                raise ValueError(f"{name} must be a number")
        attempts = values["attempts"]
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 50:
            raise ValueError("attempts must be an integer from 1 to 50")
        if not (0 <= values["backoff"] <= 3600 and 1 <= values["factor"] <= 10):
            raise ValueError("backoff must be 0..3600 seconds and factor 1..10")
        if not (0 <= values["maxBackoff"] <= 86400 and 0.1 <= values["timeout"] <= 60):
            raise ValueError("maxBackoff must be 0..86400 seconds and timeout 0.1..60")
        return cls(
            attempts, float(values["backoff"]), float(values["factor"]),
            float(values["maxBackoff"]), float(values["timeout"]),
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, name) for key, name in _NAMES.items()}


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


# Each setting by the name the admin API gives it (camelCase, as JSON has it), in field order.
_NAMES = {_camel(f.name): f.name for f in dataclasses.fields(Settings)}


class Hub:
    """Turns consent changes into outbox entries (in the request, which only appends) and
    delivers them (on this process's sender thread, started on first need)."""

    def __init__(
        self, store: Store, clock: SimClock, definitions: Mapping[str, ProviderDef]
    ) -> None:
        self.store = store  # the watched store, once installed (see watch.watch_store)
        self.clock = clock
        self.definitions = dict(definitions)
        self.registry = Registry(store)
        self.faults = DeliveryFaults(store)
        self.tick = 0.25
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def webhooks_of(self, provider: str) -> WebhookDef | None:
        definition = self.definitions.get(provider)
        return None if definition is None else definition.webhooks

    # -- settings --------------------------------------------------------------------------
    def settings(self) -> Settings:
        doc = self.store.read_doc(SETTINGS_DOC)
        return Settings.parse(doc) if doc else Settings()

    def configure(self, data: Mapping[str, Any]) -> Settings:
        settings = Settings.parse({**self.settings().as_dict(), **data})
        self.store.write_doc(SETTINGS_DOC, settings.as_dict())
        return settings

    # -- events in ---------------------------------------------------------------------------
    def changed(
        self, provider: str, tenant: str, before: JsonDict | None, after: JsonDict | None
    ) -> None:
        """One place for every change of a watched provider's consent (a handler, the
        lifecycle settling a record, the admin API, the sweep): its events go to the outbox of
        each hook of the tenant that wants them. Never raises into the request."""
        declared = self.webhooks_of(provider)
        if declared is None:
            return
        try:
            hooks = self.registry.of(provider, tenant)
            if not hooks:
                return
            now = self.clock.now(tenant)
            for event in declared.events(before, after, now):
                self.emit(event, hooks, now)
        except Exception as exc:  # a provider bug must not fail the consent's own request
            sys.stderr.write(f"mockserver: webhook events of a {provider} change failed: {exc!r}\n")

    def emit(
        self, event: Event, hooks: list[Hook], now: datetime, event_id: str | None = None
    ) -> str:
        """Queue one event for each hook that wants it; answers the event's id."""
        event_id = event_id or str(uuid.uuid4())
        for hook in hooks:
            if not hook.wants(event.type):
                continue
            declared = self.webhooks_of(hook.provider)
            wrap = declared.envelope if declared is not None else None
            body = wrap(event, hook) if wrap is not None else event.payload
            entry = {
                "event": event_id,
                "type": event.type,
                "provider": hook.provider,
                "tenant": hook.tenant,
                "hook": hook.id,
                "body": dumps(body),
                "attempt": 0,
                "created": format_instant(now),
            }
            self._queue(self.faults.plan(entry, _WALL.now().timestamp()))
        self.kick()
        return event_id

    def _queue(self, planned: Planned) -> None:
        wall = _WALL.now().timestamp()
        for entry, delay in planned:
            if entry.get("dropped"):
                self._log(entry, None, "dropped", error="dropped by a fault")
            else:
                self.store.queue_push(OUTBOX, entry, wall + delay)

    # -- the sender thread ----------------------------------------------------------------------
    def kick(self) -> None:
        """Make sure this process's sender runs (a forked worker starts its own), and wake it."""
        if self._pid != os.getpid() or self._thread is None:
            with self._lock:
                if self._pid != os.getpid() or self._thread is None:
                    self._stop.clear()
                    self._thread = threading.Thread(
                        target=self._run, name="mockserver-webhooks", daemon=True
                    )
                    self._pid = os.getpid()
                    self._thread.start()
        self._wake.set()

    def start_if_registered(self) -> None:
        """On a process's first request: run the sender if any hook exists (a restarted
        server with hooks in its store sends due events without waiting for a change)."""
        with contextlib.suppress(Exception):
            if self.registry.all():
                self.kick()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as exc:  # a closed store, a broken provider: report, keep going
                if self._stop.is_set():
                    return
                sys.stderr.write(f"mockserver: webhook sender: {exc!r}\n")
            self._wake.wait(self.tick)
            self._wake.clear()

    def step(self) -> int:
        """One round: send the events the clock made due, release held ones, deliver every
        outbox entry whose time has come. Answers how many deliveries it made."""
        self.sweep()
        self._queue(self.faults.overdue(_WALL.now().timestamp()))
        settings = self.settings()
        lease = settings.timeout * 2 + 30  # main and backup URL, with room to spare
        sent = 0
        while not self._stop.is_set():
            claimed = self.store.queue_claim(OUTBOX, _WALL.now().timestamp(), lease)
            if not claimed:
                return sent
            for item_id, entry in claimed:
                self.deliver(item_id, entry, settings)
                sent += 1
        return sent

    def sweep(self) -> None:
        """Settle the records of every hooked tenant whose deadline has passed on its clock, so
        expiry is sent without a request (also after /__admin/clock moved time)."""
        pairs = {(h.provider, h.tenant) for h in self.registry.all()}
        for provider, tenant in sorted(pairs):
            definition = self.definitions.get(provider)
            if definition is None or definition.webhooks is None:
                continue
            now = self.clock.now(tenant)
            for record in self.store.due(provider, tenant, now.timestamp()):
                settle(definition, self.store, record, now)

    # -- one delivery -------------------------------------------------------------------------
    def deliver(self, item_id: int, entry: dict[str, Any], settings: Settings) -> None:
        hook = self.registry.get(entry["hook"])
        if hook is None:  # unregistered since: nobody to send it to
            self.store.queue_ack(OUTBOX, item_id)
            return
        attempt = int(entry["attempt"]) + 1
        body = entry["body"].encode()
        now = self.clock.now(hook.tenant)
        declared = self.webhooks_of(hook.provider)
        signer: Callable[..., dict[str, str]] | None = generic_sign
        if declared is not None:
            signer = declared.sign
        ok = False
        for url in (hook.url, hook.backup_url):
            if url is None:
                continue
            old = hook.old_secret(now)
            headers = {} if signer is None else signer(body, url, hook.secret, old, now)
            ok = self._post(url, body, headers, {**entry, "attempt": attempt}, settings, attempt)
            if ok:
                break
        if ok or attempt >= settings.attempts:
            self.store.queue_ack(OUTBOX, item_id)
            return
        retry_at = _WALL.now().timestamp() + settings.wait(attempt)
        self.store.queue_retry(OUTBOX, item_id, {**entry, "attempt": attempt}, retry_at)

    def _post(
        self,
        url: str,
        body: bytes,
        signature: dict[str, str],
        entry: dict[str, Any],
        settings: Settings,
        attempt: int,
    ) -> bool:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "consent-mockserver-webhooks",
            **signature,
        }
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            with _NO_PROXY.open(request, timeout=settings.timeout) as response:
                status = response.status
                response.read()
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
            exc.close()
        except (OSError, ValueError) as exc:  # refused, reset, timed out, a bad URL
            reason = getattr(exc, "reason", exc)
            error = f"{type(reason).__name__}: {reason}"
        elapsed = round((time.monotonic() - started) * 1000, 1)
        ok = status is not None and 200 <= status < 300
        last = attempt >= settings.attempts
        outcome = "delivered" if ok else ("failed" if last else "retrying")
        self._log(entry, status, outcome, error=error, url=url, ms=elapsed, headers=signature)
        return ok

    def _log(
        self,
        entry: dict[str, Any],
        status: int | None,
        outcome: str,
        *,
        error: str | None = None,
        url: str | None = None,
        ms: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        record = {
            "event": entry["event"],
            "type": entry["type"],
            "provider": entry["provider"],
            "tenant": entry["tenant"],
            "hook": entry["hook"],
            "url": url,
            "attempt": entry["attempt"],
            "status": status,
            "error": error,
            "outcome": outcome,
            "durationMs": ms,
            "signature": headers or {},
            "fault": entry.get("fault"),
            "duplicate": bool(entry.get("duplicate")),
            "sentAt": round(_WALL.now().timestamp(), 3),
            "pid": os.getpid(),
        }
        self.store.feed_append(DELIVERIES, record, DELIVERY_LOG_SIZE)

    def deliveries(self) -> list[dict[str, Any]]:
        return list(self.store.feed_read(DELIVERIES))

    def clear_deliveries(self) -> int:
        return self.store.feed_clear(DELIVERIES)

    def pending(self) -> list[dict[str, Any]]:
        return [
            {"id": item_id, "due": due, **{k: v for k, v in entry.items() if k != "body"}}
            for item_id, due, entry in self.store.queue_items(OUTBOX)
        ]
