"""A provider's `ProviderDef`, put together from its declared states and its modules."""

from __future__ import annotations

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


def assemble(
    name: str, title: str, states: States, *modules: ModuleType, **settings: Any
) -> ProviderDef:
    """The definition of provider `name`: the lifecycle from `states`, each of `_PARTS` from
    the module that defines it; the rest (`default_tenant`, `credentials_doc`...) and any
    override of a part as given."""
    parts = {part: getattr(m, part) for m in modules for part in _PARTS if hasattr(m, part)}
    parts.update(settings)  # an explicit setting wins over a module's part of the same name
    return ProviderDef(
        name=name,
        title=title,
        spec_file=parts.pop("spec_file", f"{name}.yaml"),
        status_of=states.status_of,
        parse_status=states.parse_status,
        lifecycle=states.lifecycle,
        deadline=states.deadline,
        transitions=states.transitions,
        **parts,
    )
