"""pytest plugin for consent-mockserver (fixtures arrive with the control-plane work)."""

from __future__ import annotations
