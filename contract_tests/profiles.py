"""What the suite needs to know per provider: credentials, how to sign in, live settings.

All of it comes from `specs/<p>.yaml`: its operations, schemas and security schemes, and its
`x-contract` block (the credentials and their environment variables, the read-only
operations, and which of the sign-in styles below the provider uses, with its parameters).
A provider is in the suite when its spec has an `x-contract` block: there is no registry.
Sign-in always goes through the provider's own endpoints (its token endpoint, or the
simulator's onboarding shortcut plus the provider's token exchange), never around them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from requests.auth import _basic_auth_str

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
    # The simulator's registration (POST /__admin/<p>/credentials, for `serve --credentials
    # registered`): each admin field and the credential it takes.
    register: Mapping[str, str]
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


# -- the sign-in styles, each set up from the spec's `x-contract.sign-in` -----------------------
# A string: `Case` is imported for type checkers only.
Style = tuple[
    "Callable[[Session], None]",
    "Callable[[Case, Session], None]",
    "Callable[[Case, Session], None] | None",
]


def _value(source: str, creds: Mapping[str, str]) -> str:
    """`=text` is the text itself; any other name is that credential."""
    return source[1:] if source.startswith("=") else creds[source]


def _api_key(spec: Mapping[str, Any], options: Mapping[str, Any]) -> Style:
    """A key in a header (the spec's apiKey scheme) that is itself the tenant's credential."""
    schemes = spec["components"]["securitySchemes"].values()
    header = next(s["name"] for s in schemes if s["type"] == "apiKey" and s["in"] == "header")

    def sign_in(session: Session) -> None:
        session.token = session.credentials[options["key"]]

    def apply(case: Case, session: Session) -> None:
        _headers(case)[header] = session.token

    return sign_in, apply, None


def _basic(spec: Mapping[str, Any], options: Mapping[str, Any]) -> Style:
    """HTTP Basic with two of the credentials."""

    def sign_in(session: Session) -> None:
        user, secret = (session.credentials[options[k]] for k in ("user", "secret"))
        session.token = str(_basic_auth_str(user, secret))

    def apply(case: Case, session: Session) -> None:
        _headers(case)["Authorization"] = session.token

    return sign_in, apply, None


def _token_endpoint(spec: Mapping[str, Any], options: Mapping[str, Any]) -> Style:
    """A bearer token from the provider's token operation: its form fields, headers and path
    parameters come from the credentials (`url` names a credential that may override where)."""
    op_id = options["operation"]
    method, path = next(
        (m, p)
        for p, item in spec["paths"].items()
        for m, op in item.items()
        if isinstance(op, dict) and op.get("operationId") == op_id
    )
    form, headers = options.get("form", {}), options.get("headers", {})

    def sign_in(session: Session) -> None:
        creds = session.credentials
        where = path.format(**{k: creds[v] for k, v in options.get("path", {}).items()})
        url = creds.get(options.get("url", "")) or session.url(where)
        answer = session.wire.send(
            method.upper(),
            url,
            form={k: _value(v, creds) for k, v in form.items()} or None,
            headers={k: _value(v, creds) for k, v in headers.items()} or None,
        )
        _check(answer.status, f"{method.upper()} {path}", answer.text)
        session.token = str(answer.json()[options.get("field", "accessToken")])

    def apply(case: Case, session: Session) -> None:
        if _operation_id(case) != op_id:
            _headers(case)["Authorization"] = f"Bearer {session.token}"
            return
        for name, source in headers.items():
            _headers(case)[name] = _value(source, session.credentials)
        if isinstance(case.body, dict) and _is_positive(case):
            for name, source in form.items():
                if name in case.body and not source.startswith("="):
                    case.body[name] = session.credentials[source]

    return sign_in, apply, None


def _body_credentials(spec: Mapping[str, Any], options: Mapping[str, Any]) -> Style:
    """Credentials in the JSON body: the application's, and a consent's from exchanging a
    single-use token that the simulator's admin route issues (a live run gives them); `also`
    names more credentials put on any body that has them (not used to sign in)."""
    app, consent = tuple(options["application"]), tuple(options["consent"])
    also = tuple(options.get("also", ()))
    exchange, temp, admin = options["exchange"], options["temp-token"], options["admin"]
    method, path = next(
        (m, p)
        for p, item in spec["paths"].items()
        for m, op in item.items()
        if isinstance(op, dict) and op.get("operationId") == exchange
    )

    def temp_token(session: Session) -> str:
        answer = session.wire.send("POST", admin, json_body={"tenant": session.tenant})
        _check(answer.status, f"POST {admin}", answer.text)
        return str(answer.json()[temp])

    def sign_in(session: Session) -> None:
        creds = session.credentials
        if all(creds.get(k) for k in consent):
            session.token = {k: creds[k] for k in consent}
            return
        body = {k: creds[k] for k in app} | {temp: temp_token(session)}
        answer = session.wire.send(method.upper(), session.url(path), json_body=body)
        _check(answer.status, f"{method.upper()} {path}", answer.text)
        session.token = {k: str(answer.json()[k]) for k in consent}

    def apply(case: Case, session: Session) -> None:
        if not isinstance(case.body, dict) or not _is_positive(case):
            return  # a negative body keeps its own (broken) credentials
        fields = {k: session.credentials[k] for k in (*app, *also) if k in session.credentials}
        if _operation_id(case) != exchange:
            fields |= session.token
        for name, value in fields.items():
            if name in case.body:
                case.body[name] = value

    def prepare(case: Case, session: Session) -> None:
        """A fresh single-use token for each exchange, from the simulator's admin route."""
        if (
            _operation_id(case) == exchange
            and session.simulator
            and isinstance(case.body, dict)
            and temp in case.body
            and _is_positive(case)
        ):
            case.body[temp] = temp_token(session)

    return sign_in, apply, prepare


STYLES: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], Style]] = {
    "api-key": _api_key,
    "basic": _basic,
    "token-endpoint": _token_endpoint,
    "body-credentials": _body_credentials,
}


def _sandbox(name: str, made: Mapping[str, str]) -> Callable[[], dict[str, str]]:
    """A simulator run's credentials: `fresh` a new tenant id, `secret` a random secret, or
    the value given."""
    kinds = {"fresh": lambda: _fresh(name), "secret": lambda: secrets.token_urlsafe(18)}
    return lambda: {k: kinds[v]() if v in kinds else v for k, v in made.items()}


def _live(
    required: Mapping[str, str], optional: Mapping[str, Any]
) -> Callable[[Mapping[str, str]], dict[str, str]]:
    """A live run's credentials from the environment (an optional one may have a default)."""

    def credentials(env: Mapping[str, str]) -> dict[str, str]:
        found = {k: env[v] for k, v in required.items()}
        for key, source in optional.items():
            variable, default = (source, "") if isinstance(source, str) else source
            if env.get(variable) or default:
                found[key] = env.get(variable) or str(default)
        return found

    return credentials


def profile_of_spec(name: str, spec: Mapping[str, Any]) -> Profile:
    """The suite's profile of a provider, from its spec's `x-contract` block."""
    contract = spec["x-contract"]
    options = contract["sign-in"]
    sign_in, apply, prepare = STYLES[options["style"]](spec, options)
    required, optional = contract["credentials"], contract.get("optional", {})
    return Profile(
        name=name,
        spec_file=f"{name}.yaml",
        tenant_field=contract["tenant"],
        live_env=(f"{name.upper()}_BASE_URL", *required.values()),
        optional_env=tuple(v if isinstance(v, str) else v[0] for v in optional.values()),
        read_only=frozenset(contract["read-only"]),
        sandbox_credentials=_sandbox(name, contract["sandbox"]),
        register=dict(contract.get("register", {})),
        live_credentials=_live(required, optional),
        sign_in=sign_in,
        apply=apply,
        prepare=prepare,
    )


def _profiles() -> dict[str, Profile]:
    folder = Path(os.environ.get("MOCKSERVER_SPEC_DIR", Path(__file__).parents[1] / "specs"))
    found = {}
    for path in sorted(folder.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(spec, dict) and "x-contract" in spec:
            found[path.stem] = profile_of_spec(path.stem, spec)
    return found


PROFILES: dict[str, Profile] = _profiles()
