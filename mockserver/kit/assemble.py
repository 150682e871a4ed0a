"""A provider's `ProviderDef`, put together from what the modules of its package declare."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any

from ..behaviour import ProviderDef
from .states import States

__all__ = ["assemble"]

# What a provider's modules may define, by the names ProviderDef gives them.
_PARTS = (
    "handlers",
    "identify",
    "render_error",
    "render",
    "transition",
    "admin_create",
    "sandbox",
    "admin",
    "seed_tenant",
    "order_key",
)


def assemble(package: str, title: str, **settings: Any) -> ProviderDef:
    """The definition of the provider whose package is `package` (its last name is the
    provider's): `STATES` (a `States`) and each of `_PARTS` from the module of the package
    that defines it; the rest (`default_tenant`, `credentials_doc`...) and any override of a
    part as given. A part defined twice is an error, so a module cannot shadow another."""
    module = importlib.import_module(package)
    parts: dict[str, Any] = {}
    for info in pkgutil.iter_modules(module.__path__):
        submodule = importlib.import_module(f"{package}.{info.name}")
        for part in ("STATES", *_PARTS):
            found = vars(submodule).get(part)
            if found is None or isinstance(found, ModuleType):  # a sibling module, imported
                continue
            if part in parts and parts[part] is not found:  # the same one imported is fine
                raise TypeError(f"{package}: {part} is defined in two modules")
            parts[part] = found
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
