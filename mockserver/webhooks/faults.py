"""Faults on deliveries: drop, delay, duplicate or reorder the next matching events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..store import Store

__all__ = ["ACTIONS", "DOC", "DeliveryFaults", "Planned", "WebhookFaultError"]

DOC = "webhook-faults"
ACTIONS = ("drop", "delay", "duplicate", "reorder")
# How long a reordered event waits for the next one at most (seconds, wall time).
REORDER_HOLD_S = 10.0
_MATCH = ("provider", "tenant", "hook", "type")

Planned = list[tuple[dict[str, Any], float]]
"""Outbox entries to add now, each with its delay in seconds."""


class WebhookFaultError(ValueError):
    """A delivery fault definition that cannot be used; the message says why."""


def validated(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A fault definition, checked field by field, with its defaults."""
    unknown = set(spec) - {"action", "seconds", "times", *_MATCH}
    if unknown:
        raise WebhookFaultError(
            f"unknown fault fields: {', '.join(sorted(unknown))}; "
            f"allowed: action, seconds, times, {', '.join(_MATCH)}"
        )
    action = spec.get("action")
    if action not in ACTIONS:
        raise WebhookFaultError(f"action must be one of {', '.join(ACTIONS)}")
    default = {"delay": 5.0, "reorder": REORDER_HOLD_S}.get(str(action), 0.0)
    seconds = spec.get("seconds", default)
    number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
    if not number or not 0 <= seconds <= 3600:
        raise WebhookFaultError("seconds must be a number between 0 and 3600")
    times = spec.get("times", 1)
    if isinstance(times, float) and times.is_integer():  # 2.0 is the JSON number 2
        times = int(times)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise WebhookFaultError("times must be a positive integer (default 1)")
    for name in _MATCH:
        if spec.get(name) is not None and not isinstance(spec[name], str):
            raise WebhookFaultError(f"{name} must be a string")
    return {
        "action": action,
        "seconds": float(seconds),
        "times": times,
        **{name: spec.get(name) for name in _MATCH},
    }


def _matches(fault: Mapping[str, Any], entry: Mapping[str, Any]) -> bool:
    return all(fault.get(name) in (None, entry.get(name)) for name in _MATCH)


class DeliveryFaults:
    """The faults in force, in one store document (every worker applies the same ones). They
    act when an event is put in the outbox, so a fault is used up exactly once."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self) -> list[dict[str, Any]]:
        doc = self.store.read_doc(DOC) or {}
        return [{k: v for k, v in f.items() if k != "held"} for f in doc.get("faults", ())]

    def add(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        fault = validated(spec)
        made: list[dict[str, Any]] = []

        def change(doc: Any) -> Any:
            doc = doc or {"next": 1, "faults": []}
            made[:] = [{"id": doc["next"], **fault, "hits": 0, "held": []}]
            return {"next": doc["next"] + 1, "faults": [*doc["faults"], made[0]]}

        self.store.update_doc(DOC, change)
        return {k: v for k, v in made[0].items() if k != "held"}

    def clear(self) -> tuple[int, Planned]:
        """Remove every fault: how many there were, and the events reorder faults held (to be
        sent now)."""
        released: Planned = []
        removed = [0]

        def change(doc: Any) -> Any:
            faults = (doc or {}).get("faults", ())
            removed[0] = len(faults)
            released[:] = [(e, 0.0) for f in faults for e in f["held"]]
            return {"next": (doc or {}).get("next", 1), "faults": []}

        self.store.update_doc(DOC, change)
        return removed[0], released

    def plan(self, entry: dict[str, Any], wall: float) -> Planned:
        """What to put in the outbox for one event's delivery to one hook, faults applied."""
        if not (self.store.read_doc(DOC) or {}).get("faults"):
            return [(entry, 0.0)]  # the usual case: one cached read, no write
        planned: Planned = []

        def change(doc: Any) -> Any:
            planned.clear()
            faults = [dict(f) for f in doc["faults"]]
            released = []
            for fault in faults:  # an event for the same hook lets held events go, after it
                if fault["held"] and any(h["hook"] == entry["hook"] for h, _ in fault["held"]):
                    released += [h for h, _ in fault["held"] if h["hook"] == entry["hook"]]
                    fault["held"] = [x for x in fault["held"] if x[0]["hook"] != entry["hook"]]
            planned.extend(_apply(faults, entry, wall))
            planned.extend((held, 0.5) for held in released)  # after it, even across workers
            kept = [f for f in faults if f["hits"] < f["times"] or f["held"]]
            return {"next": doc["next"], "faults": kept}

        self.store.update_doc(DOC, change)
        return planned

    def overdue(self, wall: float) -> Planned:
        """Held events whose hold ran out without a next event: sent now, in their order."""
        doc = self.store.read_doc(DOC) or {}
        holds = [(f["seconds"], since) for f in doc.get("faults", ()) for _, since in f["held"]]
        if not any(since + seconds <= wall for seconds, since in holds):
            return []
        released: Planned = []

        def change(doc: Any) -> Any:
            released.clear()
            faults = []
            for fault in doc["faults"]:
                fault = dict(fault)
                due = [e for e, since in fault["held"] if since + fault["seconds"] <= wall]
                released.extend((e, 0.0) for e in due)
                fault["held"] = [x for x in fault["held"] if x[1] + fault["seconds"] > wall]
                if fault["hits"] < fault["times"] or fault["held"]:
                    faults.append(fault)
            return {"next": doc["next"], "faults": faults}

        self.store.update_doc(DOC, change)
        return released


def _apply(faults: list[dict[str, Any]], entry: dict[str, Any], wall: float) -> Planned:
    """The first fault with uses left that matches decides; it is counted as used."""
    for fault in faults:
        if fault["hits"] >= fault["times"] or not _matches(fault, entry):
            continue
        fault["hits"] += 1
        marked = {**entry, "fault": {"id": fault["id"], "action": fault["action"]}}
        action = fault["action"]
        if action == "drop":
            return [({**marked, "dropped": True}, 0.0)]
        if action == "delay":
            return [(marked, fault["seconds"])]
        if action == "duplicate":
            return [(marked, 0.0), ({**marked, "duplicate": True}, 0.0)]
        fault["held"] = [*fault["held"], [marked, wall]]  # reorder: wait for the next event
        return []
    return [(entry, 0.0)]
