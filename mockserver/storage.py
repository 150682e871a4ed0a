"""Opening a store by the name a command line gives it: above the store protocol and its
backends (`stores`), so that `store` never imports a backend (each imports it)."""

from __future__ import annotations

from pathlib import Path

from .store import Store
from .stores.memory import MemoryStore
from .stores.redis import RedisStore
from .stores.sqlite import SqliteStore

__all__ = ["open_store"]


def open_store(spec: str) -> Store:
    """A store from its command-line form: `memory`, `sqlite:PATH` or `redis://HOST:PORT/DB`."""
    if spec == "memory":
        return MemoryStore()
    if spec.startswith("sqlite:"):
        path = spec.removeprefix("sqlite:")
        if not path:
            raise ValueError("sqlite store needs a path: --store sqlite:PATH")
        if path == ":memory:" or path.startswith("file:"):
            raise ValueError(
                f"--store sqlite:{path}: give a file path; an in-memory SQLite database is not "
                "shared by threads or workers (use --store memory for state in one process)"
            )
        folder = Path(path).parent
        if not folder.is_dir():
            raise ValueError(f"--store sqlite:{path}: folder {folder} does not exist")
        return SqliteStore(path)
    if spec.startswith(("redis://", "rediss://")):
        return RedisStore(spec)
    raise ValueError(f"unknown store {spec!r}: use memory, sqlite:PATH or redis://HOST:PORT/DB")
