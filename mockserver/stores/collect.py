"""When a store collects its expired values: a count of expiring writes and the clock's horizon."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime

from ..store import COLLECT_EVERY

__all__ = ["Collector"]


class Collector:
    """Counts the writes of values with an expiry; every COLLECT_EVERY-th one is due a sweep,
    once a horizon is set (`Store.collect_by`). The count is a shared iterator: `next` on it is
    atomic in CPython, so threads need no lock, and a sweep falls on exactly one of them."""

    def __init__(self) -> None:
        self.horizon: Callable[[], datetime] | None = None
        self._writes = itertools.count(1)

    def due(self) -> datetime | None:
        """Count one write of an expiring value; the instant to collect at when a sweep is due."""
        if self.horizon is None or next(self._writes) % COLLECT_EVERY:
            return None
        return self.horizon()
