"""Schemathesis hooks: our checks and one auth provider that signs in as each provider wants.

Loaded by `schemathesis.toml` (`hooks = "contract_tests.hooks"`), so `schemathesis run
specs/<p>.yaml --url ...` from the repository root, the pytest suite and `mockserver check` all
use the same credentials and the same checks.

Credentials: a provider's live variables (`YAPILY_APP_ID`, ...; see `profiles.py`) when they are
all set, otherwise a fresh sandbox identity (a new tenant on the simulator). The suite forces
one or the other with `use_credentials()`.
"""

from __future__ import annotations

import os
import time
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import schemathesis
import yaml
from schemathesis import AuthContext, HookContext

from mockserver.app import default_spec_dir

from . import checks  # noqa: F401 - registers our checks with Schemathesis
from .profiles import PROFILES, Profile, Session, SignInError
from .wire import Wire

if TYPE_CHECKING:
    # Schemathesis's alias of its generic Case for an OpenAPI operation (for type checkers only)
    from schemathesis.specs.openapi.schemas import OpenApiCase as Case

Credentials = Literal["auto", "sandbox", "live"]
_MODE: list[Credentials] = ["auto"]
REFRESH_SECONDS = 300.0  # the shortest token lives 360 s (Fliqa)


def use_credentials(mode: Credentials) -> None:
    """`sandbox`: always a fresh simulator tenant; `live`: the environment's; `auto`: either."""
    _MODE[0] = mode


@cache
def _titles() -> dict[str, str]:
    spec_dir = default_spec_dir()
    titles = {}
    for profile in PROFILES.values():
        path = spec_dir / profile.spec_file
        if path.exists():
            titles[str(yaml.safe_load(path.read_text())["info"]["title"])] = profile.name
    return titles


def profile_of(schema: Any) -> Profile | None:
    name = schema.raw_schema.get("x-mockserver-provider") or _titles().get(
        str(schema.raw_schema.get("info", {}).get("title"))
    )
    return PROFILES.get(str(name)) if name else None


def credentials_for(profile: Profile) -> tuple[dict[str, str], bool]:
    """The credentials to sign in with, and whether they are a fresh simulator identity."""
    mode = _MODE[0]
    has_live = not profile.missing_live_env()
    if mode == "live" or (mode == "auto" and has_live):
        return profile.live_credentials(os.environ), False
    return profile.sandbox_credentials(), True


def sign_in(profile: Profile, base_url: str, app: Any) -> Session:
    credentials, simulator = credentials_for(profile)
    session = Session(profile, Wire.for_url(base_url, app), base_url, credentials, simulator)
    if simulator:
        seed_consents(session)  # first: it says so plainly when the URL is not a simulator
        register(session)
    profile.sign_in(session)
    return session


def seed_consents(session: Session) -> None:
    """Give a fresh sandbox tenant a consent in every status its provider defines, as the
    fixtures do for the default tenant: lists, reads and lifecycle operations then meet every
    state, even for providers whose API cannot create consents (Atto)."""
    provider = session.profile.name
    answer = session.wire.send("GET", "/__admin/health")
    if answer.status != 200:
        raise SignInError(
            f"no simulator control plane at {session.wire.origin}/__admin ({answer.status}): "
            f"for a real {provider}, set {', '.join(session.profile.live_env)}"
        )
    for status in answer.json()["providers"][provider]["statuses"]:
        made = session.wire.send(
            "POST",
            f"/__admin/{provider}/consents",
            json_body={"tenant": session.tenant, "status": status},
        )
        if made.status != 201:
            raise SignInError(f"seeding a {status} {provider} consent: {made.status} {made.text}")


def register(session: Session) -> None:
    """Register the fresh identity, so a `serve --credentials registered` simulator accepts it
    (and refuses the "invalid credentials" that Schemathesis's `ignored_auth` sends)."""
    provider, creds = session.profile.name, session.credentials
    body = {"tenant": session.tenant} | {k: creds[v] for k, v in session.profile.register.items()}
    made = session.wire.send("POST", f"/__admin/{provider}/credentials", json_body=body)
    if made.status != 201:
        raise SignInError(f"registering the {provider} credentials: {made.status} {made.text}")


_SESSIONS: dict[str, tuple[float, Session]] = {}


def session_for(profile: Profile, base_url: str, app: Any) -> Session:
    """One signed-in identity per provider and target, renewed before tokens expire.

    Kept here rather than in Schemathesis's auth cache, which signs in again after any 401,
    and negative tests get many: every one would make a new tenant.
    """
    key = f"{profile.name}|{base_url}"
    cached = _SESSIONS.get(key)
    if cached is None or time.monotonic() - cached[0] > REFRESH_SECONDS:
        cached = (time.monotonic(), sign_in(profile, base_url, app))
        _SESSIONS[key] = cached
    return cached[1]


def _session_of(case: Case, app: Any) -> Session | None:
    profile = profile_of(case.operation.schema)
    if profile is None or (_MODE[0] == "live" and profile.missing_live_env()):
        return None  # nothing to sign in with: the suite skips this provider
    return session_for(profile, case.operation.schema.get_base_url(), app)


@schemathesis.auth(refresh_interval=None)
class ProviderAuth:
    """Signs in once per provider and target through the provider's own endpoints."""

    def get(self, case: Case, context: AuthContext) -> Session | None:
        return _session_of(case, context.app)

    def set(self, case: Case, data: Session | None, context: AuthContext) -> None:
        if data is not None:
            data.profile.apply(case, data)


@schemathesis.hook
def before_call(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    """Per-request secrets, fetched as the request leaves (never while data is generated)."""
    profile = profile_of(case.operation.schema)
    if profile is None or profile.prepare is None:
        return
    session = _session_of(case, case.operation.schema.app)
    if session is not None:
        profile.prepare(case, session)
