"""A provider's `ProviderDef`, put together from what the modules of its package declare."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from types import ModuleType
from typing import Any

from ..behaviour import ProviderDef
from .admin_routes import AdminRoutes
from .states import States

__all__ = ["assemble"]

# What assemble sets itself; every other field of ProviderDef a module defines is taken from it
# (handlers, identify, render_error, render, transition, admin_create, sandbox, admin,
# seed_tenant, order_key, and any field added later).
_SET_HERE = frozenset(
    {"name", "title", "spec_file", "status_of", "parse_status", "lifecycle", "deadline"}
    | {"transitions"}
)
_PARTS = tuple(f.name for f in dataclasses.fields(ProviderDef) if f.name not in _SET_HERE)


def assemble(package: str, title: str, **settings: Any) -> ProviderDef:
    """The definition of the provider whose package is `package` (its last name is the
    provider's): `STATES` (a `States`) and each field of `ProviderDef` (`_PARTS`) from the
    module of the package that defines it under that name, `ROUTES` (an `AdminRoutes`) giving
    `admin` and `admin_paths` unless they are defined; `settings` (`default_tenant`,
    `credentials_doc`...) as given, over any part. A part defined in two modules is an error,
    so a module cannot shadow another."""
    module = importlib.import_module(package)
    parts: dict[str, Any] = {}
    for info in pkgutil.iter_modules(module.__path__):
        submodule = importlib.import_module(f"{package}.{info.name}")
        for part in ("STATES", "ROUTES", *_PARTS):
            found = vars(submodule).get(part)
            if found is None or isinstance(found, ModuleType):  # a sibling module, imported
                continue
            if part in parts and parts[part] is not found:  # the same one imported is fine
                raise TypeError(f"{package}: {part} is defined in two modules")
            parts[part] = found
    routes: AdminRoutes | None = parts.pop("ROUTES", None)
    if routes is not None:
        parts.setdefault("admin", routes.mount)
        parts.setdefault("admin_paths", routes.paths)
    parts.update(settings)
    states: States = parts.pop("STATES")
    return ProviderDef(
        name=package.rsplit(".", 1)[1],
        title=title,
        spec_file=parts.pop("spec_file", f"{package.rsplit('.', 1)[1]}.yaml"),
        status_of=states.status_of,
        parse_status=states.parse_status,
        lifecycle=states.lifecycle,
        deadline=states.deadline,
        transitions=states.transitions,
        **parts,
    )
