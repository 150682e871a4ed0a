"""The provider modules: one behaviour module per spec in specs/, looked up by name."""

from __future__ import annotations

import importlib

from ..behaviour import ProviderDef

__all__ = ["KNOWN", "load_provider"]

# Provider name → module. Adding a provider adds one line here, one spec and one fixtures file.
KNOWN: dict[str, str] = {
    "api1": "mockserver.providers.api1",
}


def load_provider(name: str) -> ProviderDef:
    """Import a provider's behaviour module and return its definition."""
    if name not in KNOWN:
        raise ValueError(f"unknown provider {name!r}; known providers: {', '.join(sorted(KNOWN))}")
    module = importlib.import_module(KNOWN[name])
    definition = module.PROVIDER
    if not isinstance(definition, ProviderDef):
        raise TypeError(f"{KNOWN[name]}.PROVIDER must be a ProviderDef")
    return definition
