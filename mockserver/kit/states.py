"""A consent lifecycle declared as a table: statuses, transitions and the clock's rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..clock import parse_instant

__all__ = ["Expire", "Mark", "Purge", "States", "at_field"]

JsonDict = dict[str, Any]
When = Callable[[JsonDict], datetime | None]


def at_field(
    *names: str, after: timedelta = timedelta(), parse: Callable[[str], datetime] = parse_instant
) -> When:
    """The instant in the first of `names` that has a value, plus `after` (None: none has)."""

    def when(data: JsonDict) -> datetime | None:
        for name in names:
            if data.get(name):
                return parse(str(data[name])) + after
        return None

    return when


@dataclass(frozen=True, slots=True)
class Expire:
    """A record in `status` moves `into` another status at the instant `at` names; `then`
    gives the other fields that change with it (it gets the record and that instant). Without
    `then`, the `States`' own `move` makes the change, if it has one."""

    status: str
    at: When
    into: str
    then: Callable[[JsonDict, datetime], JsonDict] | None = None


@dataclass(frozen=True, slots=True)
class Purge:
    """A record in one of `statuses` is deleted at the instant `at` names."""

    statuses: tuple[str, ...]
    at: When


@dataclass(frozen=True, slots=True)
class Mark:
    """A record in `status` gets the fields `then` gives at the instant `at` names, and keeps
    its status (a notice due before an end, say). `at` must name no instant once those fields
    are set, or the rule would apply for ever."""

    status: str
    at: When
    then: Callable[[JsonDict, datetime], JsonDict]


Rule = Expire | Purge | Mark


class States:
    """Statuses (the spec's enum), the allowed transitions, and the rules the clock applies.

    `lifecycle` and `deadline` both read the same rules, so the store's index (the deadline)
    can never disagree with what settling a record does. `move(data, status, at)`: the
    provider's own move of a record to a status (given a copy), which an `Expire` rule
    without its own `then` applies, so an expiry changes what any move to that status does.
    """

    def __init__(
        self,
        transitions: Mapping[str, tuple[str, ...]],
        rules: Iterable[Rule] = (),
        *,
        spec_enum: Iterable[str] = (),
        field: str = "status",
        codes: Mapping[str, int] | None = None,
        move: Callable[[JsonDict, str, datetime], JsonDict] | None = None,
    ) -> None:
        self.transitions = dict(transitions)
        self.move = move
        self.field = field
        self.codes = dict(codes or {})
        self._names = {code: name for name, code in self.codes.items()}
        declared, stated = set(self.transitions), set(spec_enum)
        if stated and declared != stated:
            raise ValueError(
                f"the transitions name {sorted(declared)} but the spec's enum is {sorted(stated)}"
            )
        for status, targets in self.transitions.items():
            unknown = set(targets) - declared
            if unknown:
                raise ValueError(f"{status} moves to unknown statuses {sorted(unknown)}")
        self.rules: dict[str, list[Rule]] = {status: [] for status in self.transitions}
        for rule in rules:
            for status in rule.statuses if isinstance(rule, Purge) else (rule.status,):
                self.rules[status].append(rule)
        self._folded = {status.casefold(): status for status in self.transitions}

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(self.transitions)

    def status_of(self, data: JsonDict) -> str:
        value = data[self.field]
        return self._names[int(value)] if self.codes else str(value)

    def stored(self, status: str) -> Any:
        """The value a status is stored (and shown) as: its name, or its code."""
        return self.codes[status] if self.codes else status

    def parse_status(self, value: Any) -> str | None:
        """A status by name in any case, or by its code."""
        text = str(value).strip()
        if self.codes and text.isdigit():
            return self._names.get(int(text))
        return self._folded.get(text.casefold())

    def _next(self, data: JsonDict) -> tuple[datetime, Rule] | None:
        # A loop, not min() over a list: it runs on every insert, replace and settle.
        found: tuple[datetime, Rule] | None = None
        for rule in self.rules[self.status_of(data)]:
            at = rule.at(data)
            if at and (found is None or at < found[0]):
                found = (at, rule)
        return found

    def deadline(self, data: JsonDict) -> datetime | None:
        """The first instant at which `lifecycle` changes the record (None: it never will)."""
        upcoming = self._next(data)
        return None if upcoming is None else upcoming[0]

    def lifecycle(self, data: JsonDict, now: datetime) -> JsonDict | None:
        """Apply every rule that is due at `now`, in time order; None when the record is purged.
        An unchanged record is returned as the same object."""
        while (upcoming := self._next(data)) is not None and now >= upcoming[0]:
            at, rule = upcoming
            if isinstance(rule, Purge):
                return None
            if isinstance(rule, Mark):
                data = {**data, **rule.then(data, at)}
                continue
            data = {**data, self.field: self.stored(rule.into), **self._changes(rule, data, at)}
        return data

    def _changes(self, rule: Expire, data: JsonDict, at: datetime) -> JsonDict:
        """The fields an expiry changes besides the status: its `then`'s, else the move's."""
        if rule.then is not None:
            return rule.then(data, at)
        return {} if self.move is None else self.move(dict(data), rule.into, at)

    def path_to(self, current: str, target: str) -> list[str]:
        """The shortest chain of allowed transitions from one status to another (empty: none)."""
        routes: dict[str, list[str]] = {current: []}
        queue = [current]
        for status in queue:
            if status == target:
                return routes[status]
            for following in self.transitions[status]:
                if following not in routes:
                    routes[following] = [*routes[status], following]
                    queue.append(following)
        return []
