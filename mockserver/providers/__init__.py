"""The provider modules: every module in this package that defines `PROVIDER` is a provider."""

from __future__ import annotations

import importlib
import pkgutil

from ..kit import ProviderDef

__all__ = ["KNOWN", "load_provider"]


def _discover() -> dict[str, str]:
    """Provider name → module, for every module here; a new provider needs no registration."""
    return {
        info.name: f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    }


KNOWN: dict[str, str] = _discover()


def load_provider(name: str) -> ProviderDef:
    """Import a provider's behaviour module and return its definition."""
    if name not in KNOWN:
        raise ValueError(f"unknown provider {name!r}; known providers: {', '.join(sorted(KNOWN))}")
    module = importlib.import_module(KNOWN[name])
    definition = getattr(module, "PROVIDER", None)
    if not isinstance(definition, ProviderDef):
        raise TypeError(f"{KNOWN[name]} must define PROVIDER = ProviderDef(...)")
    if definition.name != name:
        raise TypeError(f"{KNOWN[name]}.PROVIDER is named {definition.name!r}, expected {name!r}")
    return definition
