"""A bounded number of short-lived values per owner: a ring of slots, the oldest retired first."""

from __future__ import annotations

from typing import Any

from ..behaviour import Context

__all__ = ["next_slot", "parse_slot"]


def next_slot(ctx: Context, namespace: str, owner: str, size: int) -> int:
    """The next slot (0..size-1) of `owner`'s ring: a value stored there replaces the one
    issued `size` values ago, so the store never holds more than `size` of them for an owner,
    whatever it does with expired values. Atomic across workers (the store's update_doc)."""

    def advance(current: Any) -> int:
        return (current + 1) % size if isinstance(current, int) and current >= 0 else 0

    slot: int = ctx.store.update_doc(f"{namespace}:ring:{owner}", advance)
    return slot


def parse_slot(text: str, size: int) -> int | None:
    """A slot number written into a handed-out key, if it is one of the ring's."""
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    slot = int(text)
    return slot if slot < size else None
