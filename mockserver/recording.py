"""`serve --record DIR`: consents seen in live answers, written as fixtures, secrets masked."""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import re
import secrets
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .journal import fingerprint, is_secret_name

if TYPE_CHECKING:
    from .runtime import ProviderRuntime, Simulation
    from .spec import Operation, Spec

__all__ = ["Masker", "Recorder", "consent_paths", "pseudonym"]

JsonDict = dict[str, Any]
Trail = tuple[str, ...]  # keys into a response body; "*" is every item of a list

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")
_PERSON = frozenset(
    {
        "fullname",
        "firstname",
        "first_name",
        "lastname",
        "last_name",
        "surname",
        "givenname",
        "familyname",
        "holdername",
        "accountholder",
        "accountholdername",
        "username",
    }
)


def pseudonym(tenant: str) -> str:
    """The tenant a recording names for a live credential: never the credential itself, but
    the same fingerprint the journal shows for it (so the two can be matched), stable across
    recordings, so a client can be pointed at the replay once."""
    return "recorded-" + fingerprint(tenant).removeprefix("sha256:")


# -- where responses carry consents ---------------------------------------------------------------
def consent_paths(spec: Spec, schema: str) -> dict[str, list[Trail]]:
    """Per operationId, where its 2xx JSON responses hold a consent (the component `schema`):
    the body itself, a property, or the items of a list, a few levels down."""
    source = spec.source
    target = f"#/components/schemas/{schema}"
    found: dict[str, list[Trail]] = {}
    for item in (source.get("paths") or {}).values():
        for operation in (item or {}).values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            trails: list[Trail] = []
            for status, response in (operation.get("responses") or {}).items():
                if not str(status).startswith("2"):
                    continue
                content = _deref(response, source).get("content") or {}
                for media, entry in content.items():
                    if "json" in media and isinstance(entry, dict):
                        trails.extend(_walk(entry.get("schema"), target, source, (), 0))
            if trails:
                found[str(operation["operationId"])] = list(dict.fromkeys(trails))
    return found


def _deref(node: Any, source: JsonDict) -> JsonDict:
    for _ in range(8):  # a chain of local $refs; a spec's own loader refused cycles already
        if not isinstance(node, dict) or not isinstance(node.get("$ref"), str):
            break
        target: Any = source
        for part in node["$ref"][2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
        node = target
    return node if isinstance(node, dict) else {}


def _walk(node: Any, target: str, source: JsonDict, trail: Trail, depth: int) -> list[Trail]:
    if not isinstance(node, dict) or depth > 3:
        return []
    if node.get("$ref") == target:
        return [trail]
    node = _deref(node, source)
    if "items" in node:
        return _walk(node["items"], target, source, (*trail, "*"), depth + 1)
    found: list[Trail] = []
    for name, sub in (node.get("properties") or {}).items():
        found.extend(_walk(sub, target, source, (*trail, str(name)), depth + 1))
    for part in node.get("allOf") or ():
        found.extend(_walk(part, target, source, trail, depth + 1))
    return found


def _pick(body: Any, trail: Trail) -> Iterator[Any]:
    if not trail:
        yield body
        return
    head, rest = trail[0], trail[1:]
    if head == "*":
        for item in body if isinstance(body, list) else ():
            yield from _pick(item, rest)
    elif isinstance(body, dict) and head in body:
        yield from _pick(body[head], rest)


# -- masking ---------------------------------------------------------------------------------------
class Masker:
    """Replaces secrets and personal data by Faker values, the same input by the same value
    for the life of the masker (one recording), so relations between consents hold.

    A replacement is drawn from a generator seeded with an HMAC of the value under a random
    key made for this recording: it reveals nothing of the value, not even whether two
    recordings saw the same one."""

    def __init__(self, secret_fields: frozenset[str] = frozenset()) -> None:
        from faker import Faker  # only when recording: Faker takes a while to import

        self.secret_fields = secret_fields
        self._key = secrets.token_bytes(32)
        self._memo: dict[tuple[str, str], str] = {}
        self._fake = Faker()

    def consent(self, data: Any) -> Any:
        return self._mask(data, None)

    def _mask(self, value: Any, kind: str | None) -> Any:
        if isinstance(value, dict):
            named = value.get("name", value.get("key"))
            item_kind = self._kind(named) if isinstance(named, str) else None
            return {
                k: self._mask(v, item_kind if k == "value" and item_kind else self._kind(k))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._mask(item, kind) for item in value]
        if isinstance(value, str):
            if kind is None and _EMAIL.fullmatch(value):
                kind = "email"
            return value if kind is None else self.replace(kind, value)
        return value

    def _kind(self, name: str) -> str | None:
        lowered = name.lower()
        if is_secret_name(name, self.secret_fields):
            return "secret"
        if "email" in lowered:
            return "email"
        if any(word in lowered for word in ("msisdn", "phone", "mobile")):
            return "phone"
        if "iban" in lowered:
            return "iban"
        if lowered in _PERSON:
            return "person"
        if lowered == "name":  # a consent's display name: a company's or a person's
            return "company"
        return None

    def replace(self, kind: str, value: str) -> str:
        key = (kind, value)
        found = self._memo.get(key)
        if found is None:
            digest = hmac.new(self._key, f"{kind}\0{value}".encode(), hashlib.sha256).digest()
            found = self._memo[key] = self._draw(kind, value, int.from_bytes(digest[:8], "big"))
        return found

    def _draw(self, kind: str, value: str, seed: int) -> str:
        fake = self._fake
        fake.seed_instance(seed)
        rng = random.Random(seed)
        if kind == "email":
            return str(fake.email(safe=True))
        if kind == "phone":  # the same shape (country code, length): spec patterns still hold
            keep = 3 if value.startswith("+") else 0
            return value[:keep] + "".join(
                str(rng.randrange(10)) if c.isdigit() else c for c in value[keep:]
            )
        if kind == "iban":
            return str(fake.iban())
        if kind == "person":
            return str(fake.name())
        if kind == "company":
            return str(fake.company())
        if _UUID.fullmatch(value):  # an id that is a secret stays a uuid: formats still hold
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return "recorded-" + fake.hexify("^" * 24)


# -- the recorder ---------------------------------------------------------------------------------
class Recorder:
    """Collects the consents of live responses per provider and tenant, and (re)writes
    `DIR/<provider>.yaml` in the fixtures format after each response that carried any."""

    def __init__(self, folder: Path, sim: Simulation) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.paths = {
            name: consent_paths(rt.spec, rt.definition.recording.schema)
            for name, rt in sim.runtimes.items()
        }
        self.maskers: dict[str, Masker] = {}
        # provider -> tenant pseudonym -> consent key -> fixture fields (the latest seen)
        self.books: dict[str, dict[str, dict[str, JsonDict]]] = {}

    def capture(self, runtime: ProviderRuntime, op: Operation, tenant: str, body: Any) -> int:
        """Record the consents a live 2xx body of `op` carries; how many there were."""
        trails = self.paths.get(runtime.name, {}).get(op.operation_id)
        if not trails or not tenant:
            return 0
        consents = [c for t in trails for c in _pick(body, t) if isinstance(c, dict)]
        if not consents:
            return 0
        definition = runtime.definition
        with self.lock:
            masker = self.maskers.get(runtime.name)
            if masker is None:
                secret = frozenset(f for f in definition.secret_fields if ":" not in f)
                masker = self.maskers[runtime.name] = Masker(secret)
            book = self.books.setdefault(runtime.name, {}).setdefault(pseudonym(tenant), {})
            for consent in consents:
                fixture = masker.consent(definition.recording.to_fixture(dict(consent)))
                book[_identity(fixture)] = fixture
            self._write(runtime.name)
        return len(consents)

    def _write(self, provider: str) -> None:
        document = {
            "provider": provider,
            "tenants": [
                {"tenant": tenant, "consents": list(book.values())}
                for tenant, book in self.books[provider].items()
            ],
        }
        header = (
            f"# Recorded by `mockserver serve --proxy {provider}=... --record`: consents seen in"
            " live responses,\n# secrets and personal data replaced by Faker values. Each tenant"
            " is a pseudonym of a live\n# credential (recorded-<its journal fingerprint>): send"
            " it as the credential to replay.\n"
        )
        text = header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{provider}.yaml"
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)  # atomic: a reader (a replay) sees a whole file


def _identity(fixture: JsonDict) -> str:
    """A consent's id (the first field named id or ending in id), to keep its latest view."""
    for name, value in fixture.items():
        if name.lower() == "id" or name.lower().endswith(("id", "_id")):
            return f"{name}={value}"
    return repr(sorted(fixture.items(), key=lambda item: item[0]))
