"""A delay the server waits out for the app, so that a delayed request holds no thread."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFERRAL", "Deferral"]

DEFERRAL = "mockserver.defer"  # the WSGI environ key a server that can wait puts it under


@dataclass(slots=True)
class Deferral:
    """Put in the WSGI environ by a server that can wait without holding a thread
    (`mockserver.rsgi`). The app, instead of sleeping, records what it has done and how long
    to wait (`wait`), and answers anything: the server discards that answer, waits, and calls
    the app again with the same request and this same object, and the app goes on from where
    it stopped (`done` keeps what it took, e.g. the fault it drew, so it is not drawn twice).
    Without one in the environ (Flask's test client, any other WSGI server) the app sleeps."""

    seconds: float = 0.0  # above 0: call the app again after this long; its answer is void
    done: dict[str, Any] = field(default_factory=dict)  # what the app keeps between calls
    started: float = field(default_factory=time.perf_counter)  # when the request came in

    def wait(self, step: str, kept: Any, seconds: float) -> None:
        """Ask the server to wait `seconds`, then call again; `kept` is `done[step]` then."""
        self.done[step] = kept
        self.seconds = seconds

    @property
    def pending(self) -> bool:
        """The app asked for a wait: its answer this time is void."""
        return self.seconds > 0
