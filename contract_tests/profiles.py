"""What the suite needs to know per provider: credentials, how to sign in, live settings.

Everything else (operations, statuses, headers, schemas, links) comes from `specs/<p>.yaml`.
Sign-in always goes through the provider's own endpoints (its token endpoint, or the
simulator's onboarding shortcut plus the provider's token exchange), never around them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .wire import Wire

if TYPE_CHECKING:
    # Schemathesis's alias of its generic Case for an OpenAPI operation (for type checkers only)
    from schemathesis.specs.openapi.schemas import OpenApiCase as Case

LIVE_WRITES_ENV = "MOCKSERVER_LIVE_WRITES"


class SignInError(RuntimeError):
    """The provider refused the suite's own sign-in: nothing else can be tested."""


@dataclass(slots=True)
class Session:
    """One signed-in identity on one target: what `apply` puts on each request."""

    profile: Profile
    wire: Wire
    base_url: str
    credentials: dict[str, str]
    simulator: bool  # the simulator's control plane (/__admin) is there to help sign in
    token: Any = None

    @property
    def tenant(self) -> str:
        return self.credentials[self.profile.tenant_field]

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    spec_file: str
    tenant_field: str  # which credential names the tenant (the admin API's `tenant`)
    live_env: tuple[str, ...]  # base URL variable first, then the credentials
    optional_env: tuple[str, ...]
    read_only: frozenset[str]  # operations a live run may call without MOCKSERVER_LIVE_WRITES=1
    sandbox_credentials: Callable[[], dict[str, str]]
    live_credentials: Callable[[Mapping[str, str]], dict[str, str]]
    sign_in: Callable[[Session], None]  # fills session.token from the provider's endpoints
    apply: Callable[[Case, Session], None]  # puts the credentials on one generated request
    # Just before a request is sent (outside data generation): per-request secrets.
    prepare: Callable[[Case, Session], None] | None = None

    @property
    def base_url_env(self) -> str:
        return self.live_env[0]

    def missing_live_env(self, env: Mapping[str, str] = os.environ) -> list[str]:
        return [name for name in self.live_env if not env.get(name)]


def _fresh(prefix: str) -> str:
    return f"contract-{prefix}-{secrets.token_hex(6)}"


def _headers(case: Case) -> MutableMapping[str, Any]:
    if not isinstance(case.headers, MutableMapping):
        case.headers = {}
    return case.headers


def _is_positive(case: Case) -> bool:
    """Whether a generated case is meant to be valid (body credentials may then be filled in)."""
    meta = case.meta
    return meta is None or not meta.generation.mode.is_negative


def _operation_id(case: Case) -> str:
    return str(case.operation.definition.raw.get("operationId", ""))


def _check(answer_status: int, what: str, text: str) -> None:
    if not 200 <= answer_status < 300:
        raise SignInError(f"{what} answered {answer_status}: {text[:300]}")


# -- api1: x-api-key, the key is the tenant ------------------------------------------------------
def _api1_sign_in(session: Session) -> None:
    session.token = session.credentials["api_key"]


def _api1_apply(case: Case, session: Session) -> None:
    _headers(case)["x-api-key"] = session.token


API1 = Profile(
    name="api1",
    spec_file="api1.yaml",
    tenant_field="api_key",
    live_env=("API1_BASE_URL", "API1_API_KEY"),
    optional_env=(),
    read_only=frozenset({"listConsents", "getConsent"}),
    sandbox_credentials=lambda: {"api_key": _fresh("api1")},
    live_credentials=lambda env: {"api_key": env["API1_API_KEY"]},
    sign_in=_api1_sign_in,
    apply=_api1_apply,
)


# -- finqware: credentials in the body; a consent's tokens come from the temp_token exchange ------
_FINQWARE_APP = ("client_id", "client_secret")
_FINQWARE_CONSENT = ("credentials_id", "access_token")


def _finqware_temp_token(session: Session) -> str:
    answer = session.wire.send(
        "POST",
        "/__admin/finqware/temp-tokens",
        json_body={"tenant": session.tenant},
    )
    _check(answer.status, "POST /__admin/finqware/temp-tokens", answer.text)
    return str(answer.json()["temp_token"])


def _finqware_sign_in(session: Session) -> None:
    creds = session.credentials
    if creds.get("credentials_id") and creds.get("access_token"):
        session.token = {k: creds[k] for k in _FINQWARE_CONSENT}
        return
    body = {k: creds[k] for k in _FINQWARE_APP} | {"temp_token": _finqware_temp_token(session)}
    answer = session.wire.send("POST", session.url("/v1/tokens"), json_body=body)
    _check(answer.status, "POST /v1/tokens", answer.text)
    result = answer.json()
    session.token = {k: str(result[k]) for k in _FINQWARE_CONSENT}


def _finqware_apply(case: Case, session: Session) -> None:
    if not isinstance(case.body, dict) or not _is_positive(case):
        return  # a negative body keeps its own (broken) credentials
    fields = dict(zip(_FINQWARE_APP, (session.credentials[k] for k in _FINQWARE_APP), strict=True))
    if _operation_id(case) != "createToken":
        fields |= session.token
    for name, value in fields.items():
        if name in case.body:
            case.body[name] = value


def _finqware_prepare(case: Case, session: Session) -> None:
    """A fresh temp_token for each exchange (each is single use), from the onboarding shortcut."""
    if (
        _operation_id(case) == "createToken"
        and session.simulator
        and isinstance(case.body, dict)
        and "temp_token" in case.body
        and _is_positive(case)
    ):
        case.body["temp_token"] = _finqware_temp_token(session)


FINQWARE = Profile(
    name="finqware",
    spec_file="finqware.yaml",
    tenant_field="client_id",
    live_env=(
        "FINQWARE_BASE_URL",
        "FINQWARE_CLIENT_ID",
        "FINQWARE_CLIENT_SECRET",
        "FINQWARE_CREDENTIALS_ID",
        "FINQWARE_ACCESS_TOKEN",
    ),
    optional_env=(),
    read_only=frozenset({"getConsent"}),
    sandbox_credentials=lambda: {
        "client_id": _fresh("finqware"),
        "client_secret": secrets.token_urlsafe(18),
    },
    live_credentials=lambda env: {
        "client_id": env["FINQWARE_CLIENT_ID"],
        "client_secret": env["FINQWARE_CLIENT_SECRET"],
        "credentials_id": env["FINQWARE_CREDENTIALS_ID"],
        "access_token": env["FINQWARE_ACCESS_TOKEN"],
    },
    sign_in=_finqware_sign_in,
    apply=_finqware_apply,
    prepare=_finqware_prepare,
)


# -- yapily: HTTP Basic, application id : secret -------------------------------------------------
def _basic(user: str, secret: str) -> str:
    from requests.auth import _basic_auth_str

    return str(_basic_auth_str(user, secret))


def _yapily_sign_in(session: Session) -> None:
    session.token = _basic(session.credentials["app_id"], session.credentials["app_secret"])


def _yapily_apply(case: Case, session: Session) -> None:
    _headers(case)["Authorization"] = session.token


YAPILY = Profile(
    name="yapily",
    spec_file="yapily.yaml",
    tenant_field="app_id",
    live_env=("YAPILY_BASE_URL", "YAPILY_APP_ID", "YAPILY_APP_SECRET"),
    optional_env=(),
    read_only=frozenset({"getConsents", "getConsentById"}),
    sandbox_credentials=lambda: {
        "app_id": _fresh("yapily"),
        "app_secret": secrets.token_urlsafe(18),
    },
    live_credentials=lambda env: {
        "app_id": env["YAPILY_APP_ID"],
        "app_secret": env["YAPILY_APP_SECRET"],
    },
    sign_in=_yapily_sign_in,
    apply=_yapily_apply,
)


# -- atto: OAuth2 client credentials (form) → Bearer -----------------------------------------------
def _atto_sign_in(session: Session) -> None:
    creds = session.credentials
    url = creds.get("token_url") or session.url("/v1/oauth2/token")
    answer = session.wire.send(
        "POST",
        url,
        form={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "scope": "api:consent",
        },
    )
    _check(answer.status, "POST /v1/oauth2/token", answer.text)
    session.token = str(answer.json()["accessToken"])


def _atto_apply(case: Case, session: Session) -> None:
    if _operation_id(case) == "createToken":
        if isinstance(case.body, dict) and _is_positive(case):
            for name in ("client_id", "client_secret"):
                if name in case.body:
                    case.body[name] = session.credentials[name]
        return
    _headers(case)["Authorization"] = f"Bearer {session.token}"


ATTO = Profile(
    name="atto",
    spec_file="atto.yaml",
    tenant_field="client_id",
    live_env=("ATTO_BASE_URL", "ATTO_CLIENT_ID", "ATTO_CLIENT_SECRET"),
    optional_env=("ATTO_TOKEN_URL",),
    read_only=frozenset({"listConsents", "listConsentsV2", "getConsent", "createToken"}),
    sandbox_credentials=lambda: {
        "client_id": _fresh("atto"),
        "client_secret": secrets.token_urlsafe(18),
    },
    live_credentials=lambda env: {
        "client_id": env["ATTO_CLIENT_ID"],
        "client_secret": env["ATTO_CLIENT_SECRET"],
        **({"token_url": env["ATTO_TOKEN_URL"]} if env.get("ATTO_TOKEN_URL") else {}),
    },
    sign_in=_atto_sign_in,
    apply=_atto_apply,
)


# -- fliqa: Api-Key + Api-Secret → Bearer (getToken) -----------------------------------------------
def _fliqa_sign_in(session: Session) -> None:
    creds = session.credentials
    answer = session.wire.send(
        "GET",
        session.url(f"/service/auth/token/{creds['environment']}/{creds['tenant_slug']}"),
        headers={"Api-Key": creds["api_key"], "Api-Secret": creds["api_secret"]},
    )
    _check(answer.status, "GET /service/auth/token/...", answer.text)
    session.token = str(answer.json()["accessToken"])


def _fliqa_apply(case: Case, session: Session) -> None:
    headers = _headers(case)
    if _operation_id(case) == "getToken":
        headers["Api-Key"] = session.credentials["api_key"]
        headers["Api-Secret"] = session.credentials["api_secret"]
        return
    headers["Authorization"] = f"Bearer {session.token}"


FLIQA = Profile(
    name="fliqa",
    spec_file="fliqa.yaml",
    tenant_field="api_key",
    live_env=("FLIQA_BASE_URL", "FLIQA_API_KEY", "FLIQA_API_SECRET", "FLIQA_TENANT_SLUG"),
    optional_env=("FLIQA_ENVIRONMENT",),
    read_only=frozenset({"getToken", "listConsents", "getConsent"}),
    sandbox_credentials=lambda: {
        "api_key": _fresh("fliqa"),
        "api_secret": secrets.token_urlsafe(18),
        "environment": "sandbox",
        "tenant_slug": "contract-suite",
    },
    live_credentials=lambda env: {
        "api_key": env["FLIQA_API_KEY"],
        "api_secret": env["FLIQA_API_SECRET"],
        "environment": env.get("FLIQA_ENVIRONMENT") or "sandbox",
        "tenant_slug": env["FLIQA_TENANT_SLUG"],
    },
    sign_in=_fliqa_sign_in,
    apply=_fliqa_apply,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (API1, FINQWARE, YAPILY, ATTO, FLIQA)}
