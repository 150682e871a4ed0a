"""The provider kit's building blocks, each on its own (the providers' tests cover them in use)."""

from __future__ import annotations

import ast
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mockserver import kit
from mockserver.behaviour import ApiError, Context
from mockserver.clock import format_instant
from mockserver.credentials import revoke
from mockserver.kit import (
    Event,
    Expire,
    FirstSecret,
    Mark,
    PageRefused,
    Pages,
    Purge,
    Seals,
    States,
    TenantHooks,
    Tickets,
    Tokens,
    TransitionRefused,
    assemble,
    at_field,
    check_fields,
    error_code,
    instant_field,
    order_by,
    refuse_options,
    refuse_unknown,
    spec_bodies,
    spec_enum,
    spec_fields,
    status_events,
)
from mockserver.kit.jwt import b64url, unb64url
from mockserver.stores.memory import MemoryStore
from mockserver.webhooks.registry import Registry

T0 = datetime(2030, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _states(**options: Any) -> States:
    return States(
        {"NEW": ("LIVE", "GONE"), "LIVE": ("OLD", "GONE"), "OLD": (), "GONE": ()},
        [
            Purge(("NEW",), at_field("created", after=10 * DAY)),
            Expire(
                "LIVE",
                at_field("used", "since", after=30 * DAY),
                "OLD",
                then=lambda data, at: {"since": format_instant(at)},
            ),
            Purge(("OLD", "GONE"), at_field("since", after=100 * DAY)),
        ],
        **options,
    )


def test_lifecycle_applies_every_due_rule_in_one_call_and_deadline_agrees() -> None:
    states = _states()
    live = {"status": "LIVE", "since": format_instant(T0), "used": None}
    assert states.deadline(live) == T0 + 30 * DAY
    assert states.lifecycle(live, T0 + 30 * DAY - timedelta(seconds=1)) is live
    old = states.lifecycle(live, T0 + 31 * DAY)
    assert old == {"status": "OLD", "since": format_instant(T0 + 30 * DAY), "used": None}
    assert old is not None and states.deadline(old) == T0 + 130 * DAY
    assert states.lifecycle(live, T0 + 131 * DAY) is None  # expired, then purged
    assert states.deadline({"status": "GONE"}) is None  # no instant: never


def test_a_mark_changes_fields_at_its_instant_and_keeps_the_status() -> None:
    def notice_at(data: dict[str, Any]) -> datetime | None:
        end = datetime.fromisoformat(data["end"])
        return None if data.get("noticed") == data["end"] else end - 3 * DAY

    states = States(
        {"LIVE": ("OLD",), "OLD": ()},
        [
            Mark("LIVE", notice_at, then=lambda data, at: {"noticed": data["end"]}),
            Expire("LIVE", at_field("end", parse=datetime.fromisoformat), "OLD"),
        ],
    )
    live = {"status": "LIVE", "end": (T0 + 10 * DAY).isoformat()}
    assert states.deadline(live) == T0 + 7 * DAY
    assert states.lifecycle(live, T0 + 7 * DAY - timedelta(seconds=1)) is live
    noticed = states.lifecycle(live, T0 + 8 * DAY)
    assert noticed == {**live, "noticed": live["end"]}
    assert states.deadline(noticed) == T0 + 10 * DAY  # the mark is done: only the end is left
    assert states.lifecycle(noticed, T0 + 9 * DAY) is noticed
    assert states.lifecycle(live, T0 + 11 * DAY) == {**noticed, "status": "OLD"}  # both, in order


def test_the_first_field_with_a_value_names_the_instant() -> None:
    used = {"status": "LIVE", "since": format_instant(T0), "used": format_instant(T0 + DAY)}
    assert _states().deadline(used) == T0 + 31 * DAY


def test_statuses_by_name_in_any_case_or_by_code() -> None:
    coded = _states(codes={"NEW": 0, "LIVE": 1, "OLD": 2, "GONE": 3})
    assert coded.status_of({"status": 1}) == "LIVE"
    assert [coded.parse_status(v) for v in ("live", " Gone ", 2, "02", "9", "x")] == [
        "LIVE",
        "GONE",
        "OLD",
        "OLD",
        None,
        None,
    ]
    expired = coded.lifecycle({"status": 1, "since": format_instant(T0)}, T0 + 40 * DAY)
    assert expired is not None and expired["status"] == 2


def test_the_transitions_must_name_exactly_the_specs_enum() -> None:
    with pytest.raises(ValueError, match="spec's enum"):
        _states(spec_enum=("NEW", "LIVE", "OLD"))
    with pytest.raises(ValueError, match="unknown statuses"):
        States({"A": ("B",)})
    assert States({"A": ("B",), "B": ()}, spec_enum=("B", "A")).statuses == ("A", "B")


def test_path_to_is_the_shortest_chain_of_allowed_moves() -> None:
    states = _states()
    assert states.path_to("NEW", "OLD") == ["LIVE", "OLD"]
    assert states.path_to("OLD", "NEW") == []


def test_spec_enum_reads_the_spec() -> None:
    assert spec_enum("finqware.yaml", "ConsentStatus") == ("ACTIVE", "DELETED", "EXPIRED")


def test_transition_options_are_refused_unless_known() -> None:
    refuse_options({"source": "x"}, source="the system")
    with pytest.raises(ValueError, match=r"options: colour; allowed: a \(one\), b \(two\)$"):
        refuse_options({"colour": 1, "a": 2}, a="one", b="two")
    with pytest.raises(ValueError, match="allowed: none$"):
        refuse_options({"a": 1})


def test_spec_fields_and_bodies_read_the_spec_in_its_order() -> None:
    assert spec_fields("api1.yaml", "ConsentDto")[:3] == ("id", "name", "status")
    bodies = spec_bodies("finqware.yaml")  # every body is a $ref to a component schema
    assert bodies["createToken"] == (("client_id", "client_secret", "temp_token"), ())
    assert bodies["deleteConsent"][1] == ("pcd_data_retention",)
    assert "getConsentById" not in spec_bodies("yapily.yaml")  # a GET: no body


def test_admin_fields_are_checked_against_a_schema() -> None:
    schema: dict[str, dict[str, Any]] = {
        "id": {"format": "uuid"},
        "n": {"type": "integer", "format": "int32"},
        "at": {"type": ["string", "null"], "format": "date-time"},
        "kind": {"enum": ["a", "b", None]},
        "tags": {"type": ["array", "null"]},
    }
    ok = check_fields(
        {"id": "3FA85F64-5717-4562-B3FC-2C963F66AFA6", "n": 7, "at": "2030-01-01T01:00:00+01:00"},
        schema,
    )
    assert ok == {
        "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "n": 7,
        "at": "2030-01-01T00:00:00Z",
    }
    assert check_fields({"kind": None, "at": None}, schema) == {"kind": None, "at": None}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"id": "x"}, "id must be a uuid"),
        ({"n": 2**31}, "n must be a 32-bit integer"),
        ({"n": True}, "n must be a 32-bit integer"),
        ({"id": None}, "id must not be null"),
        ({"kind": "c"}, "kind must be one of a, b"),
        ({"tags": [1]}, "tags must be a list of strings"),
        ({"at": "soon"}, "at must be an RFC 3339 date-time"),
    ]
    for given, message in cases:
        with pytest.raises(ValueError, match=message):
            check_fields(given, schema)
    with pytest.raises(ValueError, match="unknown consent fields: a, b; allowed: c"):
        refuse_unknown({"b", "a"}, "c")
    assert instant_field(None, T0, "x") == T0


def _ctx(
    store: MemoryStore, clocks: dict[str | None, datetime], tenant: str = "", mode: str = "open"
) -> Context:
    # Only what the credential registry reads of a provider: its name, how it masks.
    provider = SimpleNamespace(name="t", secret_tenant=False, secret_fields=frozenset())
    return Context(
        provider=provider,  # type: ignore[arg-type]
        operation_id="",
        path={},
        query={},
        headers={},
        body=None,
        credentials={},
        store=store,
        now=clocks.get(tenant, clocks[None]),
        base_url="",
        request_id="r",
        tenant=tenant,
        clock=lambda t: clocks.get(t, clocks[None]),
        credential_mode=mode,
    )


def _without_id(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if entry is None else {k: v for k, v in entry.items() if k != "id"}


def test_the_first_secret_registers_the_tenant() -> None:
    store = MemoryStore()
    ctx = _ctx(store, {None: T0})
    registry = FirstSecret("t:secret", hashed=True)
    assert _without_id(registry.claim(ctx, "app", "s1", name="App")) == {
        "secret": registry._kept("s1"),
        "name": "App",
    }
    assert registry.claim(ctx, "app", "s2") is None
    assert registry.refuses(ctx, "app", "s2") and not registry.refuses(ctx, "new", "s2")


def test_a_registration_an_older_version_stored_is_replaced_not_a_500() -> None:
    store = MemoryStore()
    ctx = _ctx(store, {None: T0})
    store.put_value("t:secret", "app", "a bare secret", None)  # not the {"secret": ...} shape
    registry = FirstSecret("t:secret")
    assert not registry.refuses(ctx, "app", "s1") and registry.entry(ctx, "app") is None
    assert _without_id(registry.claim(ctx, "app", "s1")) == {"secret": "s1"}
    assert registry.claim(ctx, "app", "s2") is None
    store.put_value("t:token", "old", {"tenant": "app", "expires": "..."}, None)
    assert Tokens("t:token", timedelta(minutes=5)).grant(ctx, "old") is None


def test_a_token_lives_on_its_tenants_clock() -> None:
    store = MemoryStore()
    clocks: dict[str | None, datetime] = {None: T0, "t": T0 + DAY}
    tokens = Tokens("t:token", timedelta(minutes=5))
    token, expires = tokens.issue(_ctx(store, clocks, "t"), scope="s")
    assert expires == T0 + DAY + timedelta(minutes=5) and tokens.seconds == 300
    grant = tokens.grant(_ctx(store, clocks), token)
    assert grant is not None and grant["tenant"] == "t" and grant["scope"] == "s"
    clocks["t"] = T0 + DAY + timedelta(minutes=5)  # only the tenant's clock moved
    assert tokens.grant(_ctx(store, clocks), token) is None
    assert tokens.grant(_ctx(store, clocks), "") is None


def test_a_ticket_is_taken_once_and_only_by_who_it_was_issued_for() -> None:
    store = MemoryStore()
    ctx = _ctx(store, {None: T0})
    tickets = Tickets("t:journey", timedelta(minutes=1))
    key = tickets.issue(ctx, {"a": 1})
    assert tickets.peek(ctx, key) == {"a": 1}
    assert tickets.take(ctx, key, a=2) is None  # not for this: left alone
    assert tickets.take(ctx, key, a=1) == {"a": 1}
    assert tickets.take(ctx, key) is None and tickets.take(ctx, "") is None
    assert tickets.issue(ctx, "x", key="mine") == "mine" and tickets.take(ctx, "mine", a=1) is None
    later = _ctx(store, {None: T0 + timedelta(minutes=1)})
    assert tickets.take(later, tickets.issue(ctx, "y")) is None  # expired


def test_an_owner_holds_at_most_per_owner_tickets_and_expired_ones_are_collected() -> None:
    store = MemoryStore()
    ctx = _ctx(store, {None: T0})
    tickets = Tickets("t:bounded", timedelta(minutes=10), per_owner=3)
    keys = [tickets.issue(ctx, {"n": n}, owner="o") for n in range(5)]
    assert [tickets.peek(ctx, k) for k in keys] == [None, None, {"n": 2}, {"n": 3}, {"n": 4}]
    other = tickets.issue(ctx, {"n": "other"}, owner="p")  # another owner's count is its own
    assert tickets.peek(ctx, other) == {"n": "other"}
    later = _ctx(store, {None: T0 + timedelta(minutes=10)})
    tickets.issue(later, {"n": 5}, owner="o")
    # The three expired ones are gone from the store itself, not only unreadable.
    held = {key for (namespace, key) in store._values if namespace == "t:bounded"}
    assert held == {other, *[k for k in held if tickets.peek(later, k) == {"n": 5}]}
    assert len(held) == 2
    again = tickets.issue(later, {"n": 6}, key="same", owner="o")
    assert tickets.issue(later, {"n": 7}, key=again, owner="o") == "same"  # replaced, not added
    assert len(store.get_value("t:bounded:owner", "o", later.now)) == 2


def test_a_seal_carries_its_state_signed_and_expires() -> None:
    store = MemoryStore()
    ctx = _ctx(store, {None: T0})
    seals = Seals("t:seal", timedelta(minutes=5))
    token = seals.seal(ctx, {"who": "a", "back": "https://x.example"})
    opened = seals.open(ctx, token, who="a")
    assert opened is not None and opened["back"] == "https://x.example"
    assert seals.open(ctx, token, who="b") is None  # not for this one
    payload, _, signature = token.partition(".")
    forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    assert seals.open(ctx, f"{forged}.{signature}") is None
    assert seals.open(ctx, "") is None and seals.open(ctx, "x.y") is None
    # A signature outside ASCII (a page's query or form) or with a lone surrogate (JSON): no.
    assert seals.open(ctx, f"{payload}.\u00e9") is None
    assert seals.open(ctx, f"{payload}.\ud800") is None
    assert seals.seal(ctx, {"who": "a"}) != seals.seal(ctx, {"who": "a"})  # a fresh jti each
    assert len(store._values) == 1  # only the key: sealing stores nothing per token
    assert seals.open(_ctx(store, {None: T0 + timedelta(minutes=5)}), token) is None
    store.clear()  # a reset: a new key voids the tokens signed before it
    assert seals.open(ctx, token) is None


def test_error_codes_by_code_kind_status_then_default() -> None:
    kinds, statuses = {"unauthenticated": "no_auth"}, {404: "missing"}
    pick = [
        error_code(ApiError(400, "x", "m", code="own"), kinds, statuses, "d"),
        error_code(ApiError(401, "unauthenticated", "m"), kinds, statuses, "d"),
        error_code(ApiError(404, "fault", "m"), kinds, statuses, "d"),
        error_code(ApiError(418, "fault", "m"), kinds, statuses, "d"),
    ]
    assert pick == ["own", "no_auth", "missing", "d"]


def test_the_kit_names_no_provider() -> None:
    kit = Path(__file__).parents[1] / "mockserver" / "kit"
    for path in [*kit.rglob("*.py"), *kit.rglob("*.html")]:
        text = path.read_text().lower()
        for name in ("api1", "finqware", "yapily", "atto", "fliqa", "zwapgrid"):
            assert name not in text, f"{path.name} mentions {name}"


def _imports(path: Path) -> tuple[list[tuple[int, str]], list[int]]:
    """The modules a file imports (`..x` relative names kept) and the lines of imports that
    are not at module level (an import inside a function hides a cycle)."""
    tree = ast.parse(path.read_text())
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    nested = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and node not in tree.body
    ]
    return found, nested


PACKAGE = Path(__file__).parents[1] / "mockserver"


def test_providers_import_only_the_kit_their_siblings_and_the_standard_library() -> None:
    for path in (PACKAGE / "providers").rglob("*.py"):
        depth = len(path.relative_to(PACKAGE).parts)  # providers/p/x.py: `...` is mockserver
        imports, nested = _imports(path)
        assert not nested, f"{path}: imports inside functions at lines {nested}"
        for level, module in imports:
            if level == 0:
                assert module.split(".")[0] in sys.stdlib_module_names, f"{path}: {module}"
            elif level == depth:  # from the mockserver package: the kit only
                assert module in ("", "kit") or module.startswith("kit."), f"{path}: {module}"
            else:  # a module of the providers package (a sibling)
                assert level < depth, f"{path}: {'.' * level}{module}"


def test_the_kit_imports_no_blueprint_app_or_engine() -> None:
    blueprints = {"app", "sandbox", "control", "engine", "cli", "wsgi", "seeding", "providers"}
    for path in (PACKAGE / "kit").rglob("*.py"):
        imports, nested = _imports(path)
        assert not nested, f"{path}: imports inside functions at lines {nested}"
        for level, module in imports:
            assert level != 2 or module.split(".")[0] not in blueprints, f"{path}: {module}"
            assert level != 0 or module.split(".")[0] != "mockserver", f"{path}: {module}"


class _Site:
    title = "Test Bank"

    def html(self, text: str, status: int = 200) -> tuple[str, int]:
        return text, status


def test_pages_share_the_base_layout_and_refusals_become_error_pages() -> None:
    pages = Pages()
    site: Any = _Site()
    text, status = pages.error(site, "Consent not found", "This <consent> does not exist.", 404)
    assert status == 404
    assert "<title>Test Bank · Consent not found</title>" in text
    assert "<p class='notice'>This &lt;consent&gt; does not exist.</p>" in text
    assert "no real bank or accounting system is contacted" in text
    done, _ = pages.done(site, None, {"temp_token": "a&b"}, code=True)
    assert (
        "<dt>temp_token</dt><dd><code>a&amp;b</code></dd>" in done
        and "<p class='lead'>" not in done
    )
    routes: dict[str, Any] = {}
    site.route = lambda rule, methods: lambda view: routes.setdefault(rule, view)

    @pages.route(site, "/x")
    def view() -> Any:
        pages.ticket(None, "onboarding link")

    answer, status = routes["/x"]()
    assert status == 403 and "Open the onboarding link again." in answer
    with pytest.raises(PageRefused) as refused, pages.moving("Cannot connect"):
        raise TransitionRefused("REVOKED", "ACCEPTED", ())
    assert refused.value.status == 409 and "final state" in refused.value.message
    with pytest.raises(PageRefused, match="redirecturl must be an absolute"):
        pages.back_url("javascript:alert(1)", "redirecturl")


def test_the_sandbox_index_lists_each_provider_with_pages() -> None:
    from mockserver.app import create_app

    html = create_app(["api1", "atto"], fixtures=None).test_client().get("/__sandbox/").text
    assert "<li><b>API.1 (Zwapgrid) Consents API</b>: <code>/__sandbox/api1/…</code></li>" in html
    assert "<b>Atto Consent API</b>" in html


def test_assemble_refuses_a_part_defined_twice(tmp_path: Path, monkeypatch: Any) -> None:
    package = tmp_path / "twice"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("a", "b"):
        (package / f"{name}.py").write_text("def render(data):\n    return data\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match="render is defined in two modules"):
        assemble("twice", "Twice")


def test_order_by_sorts_by_an_instant_then_a_tie_breaker() -> None:
    oldest = order_by("at", tie="id")
    newest = order_by("at", tie="id", newest_first=True)
    early = {"at": "2030-01-01T00:00:00Z", "id": "b"}
    late = {"at": "2030-01-02T00:00:00Z", "id": "a"}
    assert oldest(early) < oldest(late) and newest(late) < newest(early)
    assert oldest({**early, "id": "a"}) < oldest(early)
    assert order_by("at")({"id": "z"}) == "" < order_by("at")(early)  # no instant: first


def test_registered_mode_accepts_only_registered_tenants_and_never_registers() -> None:
    store = MemoryStore()
    strict = _ctx(store, {None: T0}, "app", mode="registered")
    registry = FirstSecret("t:secret")
    assert registry.claim(strict, "app", "s") is None and registry.refuses(strict, "app", "s")
    assert registry.entry(strict, "app") is None  # nothing was written
    registry.claim(_ctx(store, {None: T0}), "app", "s")  # first use in open mode: not registered
    assert registry.claim(strict, "app", "s") is None
    registry.register(strict, "app", "s")
    assert registry.claim(strict, "app", "s") is not None
    assert registry.refuses(strict, "app", "t") and not registry.refuses(strict, "app", "s")


def test_a_token_ends_with_the_credential_it_was_issued_with() -> None:
    store = MemoryStore()
    clocks: dict[str | None, datetime] = {None: T0}
    ctx = _ctx(store, clocks, "app")
    registry = FirstSecret("t:secret")
    tokens = Tokens("t:token", timedelta(minutes=5), issuer=registry)
    registry.register(ctx, "app", "s")
    token, _ = tokens.issue(ctx)
    assert tokens.grant(ctx, token) is not None
    revoke(ctx, [registry], "app")
    registry.register(ctx, "app", "s")  # the same secret again: a new credential
    assert tokens.grant(ctx, token) is None


def test_a_seeder_registers_the_fixtures_secret() -> None:
    store = MemoryStore()
    ctx = _ctx(store, {None: T0}, "app")
    registry = FirstSecret("t:secret")
    seed = registry.seeder("client_secret")
    seed(ctx, {"client_secret": "s"})
    assert registry.refuses(ctx, "app", "other") and not registry.refuses(ctx, "app", "s")
    for bad in ({}, {"client_secret": ""}, {"client_secret": "s", "name": "x"}):
        with pytest.raises(ValueError, match="give exactly client_secret"):
            seed(ctx, bad)


def test_a_key_seeder_registers_the_tenant_as_its_own_key_and_takes_no_field() -> None:
    store = MemoryStore()
    ctx = _ctx(store, {None: T0}, "key-1", mode="registered")
    registry = FirstSecret("t:key", hashed=True)
    seed = registry.key_seeder("none: the key is the tenant")
    assert registry.claim(ctx, "key-1", "") is None  # registered mode: not yet
    seed(ctx, {})
    assert registry.claim(ctx, "key-1", "") is not None
    with pytest.raises(ValueError) as refused:
        seed(ctx, {"secret": "s", "a": 1})
    assert str(refused.value) == "unknown fields: a, secret; allowed: none: the key is the tenant"


def test_tenant_hooks_see_only_their_tenants_hooks_and_land_in_the_registry() -> None:
    store = MemoryStore()
    clocks: dict[str | None, datetime] = {None: T0}
    mine, theirs = _ctx(store, clocks, "a"), _ctx(store, clocks, "b")
    for ctx in (mine, theirs):
        ctx.provider = SimpleNamespace(name="p")  # type: ignore[assignment]
    hook = TenantHooks(mine).add("https://x.example/h", "s1", events=("e",), metadata={"k": 1})
    assert [h.id for h in Registry(store).of("p", "a")] == [hook.id]  # the admin API lists it
    assert TenantHooks(theirs).get(hook.id) is None and TenantHooks(theirs).all() == []
    assert TenantHooks(theirs).remove(hook.id) is None
    assert TenantHooks(theirs).rotate(hook.id, "s2", DAY) is None
    rotated = TenantHooks(mine).rotate(hook.id, "s2", DAY)
    assert rotated is not None and rotated.secret == "s2" and rotated.old_secret(T0) == "s1"
    assert rotated.old_secret(T0 + DAY) is None
    assert TenantHooks(mine).rotate(hook.id, "s3", timedelta(0)).old_secret(T0) is None  # type: ignore[union-attr]
    assert TenantHooks(mine).remove(hook.id) is not None and TenantHooks(mine).all() == []


def test_bounded_tickets_keep_a_ring_per_tenant_and_collect_expired_ones() -> None:
    store = MemoryStore()
    clocks: dict[str | None, datetime] = {None: T0}
    a, b = _ctx(store, clocks, "a"), _ctx(store, clocks, "b")
    tickets = Tickets("t:cursor", timedelta(minutes=1), per_tenant=2)
    keys = [tickets.issue(a, {"n": n}) for n in range(3)]
    assert tickets.peek(a, keys[0]) is None  # retired by the third
    assert [tickets.peek(a, k) for k in keys[1:]] == [{"n": 1}, {"n": 2}]
    assert tickets.peek(b, keys[2]) is None  # only the tenant it was issued to
    assert tickets.peek(a, keys[2].split(".")[0] + ".forged") is None
    assert tickets.peek(a, "x") is None and tickets.peek(a, "99.x") is None
    assert len([k for k in store._values if k[0] == "t:cursor"]) == 2
    with pytest.raises(ValueError, match="chosen by the ring"):
        tickets.issue(a, {}, key="mine")
    assert tickets.take(a, keys[1], n=1) == {"n": 1} and tickets.peek(a, keys[1]) is None
    clocks[None] = T0 + timedelta(minutes=1)
    assert tickets.peek(_ctx(store, clocks, "a"), keys[2]) is None  # expired, and collected
    assert not [k for k in store._values if k[0] == "t:cursor"]


def test_bounded_tokens_keep_a_ring_per_tenant_and_collect_expired_ones() -> None:
    store = MemoryStore()
    clocks: dict[str | None, datetime] = {None: T0}
    tokens = Tokens("t:token", timedelta(minutes=5), per_tenant=2)
    issued = [tokens.issue(_ctx(store, clocks, "t"), scope=n)[0] for n in range(3)]
    reader = _ctx(store, clocks)
    assert tokens.grant(reader, issued[0]) is None  # retired by the third
    assert tokens.grant(reader, issued[2]) == {"tenant": "t", "expiresAt": ANY_TEXT, "scope": 2}
    assert tokens.grant(reader, issued[2][:-2] + "zz") is None
    assert tokens.grant(reader, "x.1.y") is None and tokens.grant(reader, "") is None
    assert len([k for k in store._values if k[0] == "t:token"]) == 2
    clocks[None] = T0 + timedelta(minutes=5)
    assert tokens.grant(_ctx(store, clocks), issued[2]) is None
    assert tokens.grant(_ctx(store, clocks), issued[1]) is None
    assert not [k for k in store._values if k[0] == "t:token"]


class _AnyText(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str)

    __hash__ = str.__hash__


ANY_TEXT = _AnyText()


def test_status_events_say_created_and_each_status_change_asked_for() -> None:
    def payload(data: dict[str, Any], previous: str | None) -> Any:
        return {"id": data["id"], "was": previous}

    events = status_events("made", lambda to: None if to == "SAME" else f"now.{to}", payload)
    one, live = {"id": "1", "status": "NEW"}, {"id": "1", "status": "LIVE"}
    assert events(None, one, T0) == [Event("made", {"id": "1", "was": None})]
    assert events(one, live, T0) == [Event("now.LIVE", {"id": "1", "was": "NEW"})]
    assert events(live, {**live, "x": 1}, T0) == []  # the status stayed
    assert events(live, {"id": "1", "status": "SAME"}, T0) == []  # a status that sends none
    assert events(live, None, T0) == []  # deleted


def test_a_journey_resumes_once_then_decides_and_goes_back() -> None:
    store, tickets, pages = MemoryStore(), Tickets("t:journey"), Pages()
    key = tickets.issue(_ctx(store, {None: T0}, "acme"), {"consentId": "c1", "back": ""})
    site: Any = _Site()
    site.form = lambda: {"journey": key, "decision": "approve"}
    site.find = lambda consent_id: SimpleNamespace(id=consent_id, tenant="acme")
    site.context = lambda tenant: _ctx(store, {None: T0}, tenant)
    found, state = pages.resume(site, tickets, "c1", "approval link")
    assert found.tenant == "acme" and state == {"consentId": "c1", "back": ""}
    with pytest.raises(PageRefused, match="Open the approval link again"):
        pages.resume(site, tickets, "c1", "approval link")  # taken once
    site.find = lambda consent_id: None
    with pytest.raises(PageRefused, match="does not exist") as refused:
        pages.resume(site, tickets, "c2", "approval link")
    assert refused.value.status == 404
    assert pages.decision(site.form(), "Choose.") == "approve"
    with pytest.raises(PageRefused, match="Choose Yes or No") as refused:
        pages.decision({"decision": "maybe"}, "Choose Yes or No.", ("yes", "no"))
    assert refused.value.status == 400
    site.redirect_to = lambda url, params: ("redirect", url, dict(params))
    assert pages.back(site, "https://app.example/cb", {"a": "1"}) == (
        "redirect",
        "https://app.example/cb",
        {"a": "1"},
    )
    last, _ = pages.back(site, "", {"a": "1"}, "Bye.")
    assert "Bye." in last and "<dt>a</dt>" in last
    assert "<dt>a</dt>" not in pages.back(site, "", {"a": "1"}, shown=False)[0]


def test_filter_checks_compare_a_field_with_the_parameter() -> None:
    data = {"source": "Fortnox", "user": "Ann", "at": "2030-01-02T00:00:00Z", "none": None}
    assert kit.equal("user")(data, "Ann") and not kit.equal("user")(data, "ann")
    assert kit.equal("source", fold=True)(data, "FORTNOX") and kit.equal("none", fold=True)(
        data, ""
    )
    assert kit.one_of("user")(data, ["Bob", "Ann"]) and not kit.one_of("user")(data, ["ann"])
    assert kit.one_of("user", fold=True)(data, ["ANN"])
    assert kit.since("at")(data, "2030-01-02T00:00:00Z") and not kit.since("at")(data, "2030-01-03")
    assert kit.until("at")(data, "2030-01-02T00:00:00+00:00")
    assert not kit.until("at")(data, "2030-01-01T23:59:59Z")


def test_an_admin_body_names_only_allowed_fields_and_a_tenant() -> None:
    allowed = ("tenant", "days")
    assert kit.body_problem({"tenant": "a", "days": 1}, allowed, "the client") is None
    assert kit.body_problem({"tenant": "a", "x": 1, "b": 2}, allowed, "the client") == (
        "unknown fields: b, x; allowed: tenant, days"
    )
    for body in ({}, {"tenant": ""}, {"tenant": 5}):
        problem = kit.body_problem(body, allowed, "the client")
        assert problem == "tenant (the client) must be a non-empty string"


def test_a_jwt_carries_its_claims_signed_and_verifies_only_with_its_key() -> None:
    token = kit.sign_jwt({"sub": "a", "n": 1}, b"key", "HS512")
    header, payload, _ = token.split(".")
    assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "HS512"}
    assert unb64url(payload) == b'{"sub":"a","n":1}' and "=" not in token
    assert kit.verify_jwt(token, b"key", "HS512") == {"sub": "a", "n": 1}
    assert kit.verify_jwt(token, b"other", "HS512") is None
    assert kit.verify_jwt(token, b"key") is None  # another algorithm
    assert kit.verify_jwt(f"{header}.{b64url(b'{}')}.{token.rsplit('.', 1)[1]}", b"key") is None
    assert kit.verify_jwt("a.b", b"key") is None


def test_an_invalid_field_is_a_400_with_its_violation() -> None:
    err = kit.invalid("body", "status", "status is wrong.", code="BAD", said="is wrong")
    assert (err.status, err.kind, err.message, err.code) == (
        400,
        "invalid_request",
        "status is wrong.",
        "BAD",
    )
    [violation] = err.violations
    assert (violation.location, violation.name, violation.message) == ("body", "status", "is wrong")
    plain = kit.invalid("query", "limit", "limit is missing")
    assert plain.code is None and plain.violations[0].message == "limit is missing"


def test_admin_fields_are_taken_once_with_their_checks_and_the_rest_refused() -> None:
    given = kit.AdminFields({"status": "LIVE", "id": "A0000000-0000-4000-8000-000000000001"})
    assert given.status == "LIVE" and "status" not in given
    assert given.uuid("id") == "A0000000-0000-4000-8000-000000000001"  # as given, checked
    assert "id" not in given and len(given.uuid("id")) == 36  # absent: a new one
    more = kit.AdminFields({"status": "x", "at": None, "name": "n", "bad": "no", "extra": 1})
    assert more.instant("at", T0) == T0 and more.text("name") == "n" and more.text("none") is None
    assert more.pop("missing", 7) == 7 and "extra" in more
    with pytest.raises(ValueError, match="^bad must be a uuid"):
        more.uuid("bad")
    with pytest.raises(ValueError, match="^unknown consent fields: extra; allowed: a, b$"):
        more.done("a, b")
    with pytest.raises(ValueError, match="^at must be an RFC 3339"):
        kit.AdminFields({"status": "x", "at": "soon"}).instant("at", T0)
    kit.AdminFields({"status": "x"}).done("none")  # nothing left: nothing refused


def test_admin_fields_left_are_checked_against_their_schemas_and_others_refused() -> None:
    properties: dict[str, dict[str, Any]] = {
        "n": {"type": "integer"},
        "s": {"type": ["string", "null"]},
    }
    given = kit.AdminFields({"status": "x", "id": "i", "n": 3, "s": None})
    given.pop("id")
    assert given.against(properties, "status, id") == {"n": 3, "s": None}
    with pytest.raises(ValueError, match="^n must be an integer"):
        kit.AdminFields({"status": "x", "n": "3"}).against(properties, "status")
    with pytest.raises(ValueError, match="^unknown consent fields: z; allowed: status, id, n, s$"):
        kit.AdminFields({"status": "x", "z": 1}).against(properties, "status, id")


def test_a_bearer_token_names_its_tenant_or_the_request_is_refused() -> None:
    store = MemoryStore()
    clocks: dict[str | None, datetime] = {None: T0}
    tokens = Tokens("t:bearer", timedelta(minutes=5))
    token, _ = tokens.issue(_ctx(store, clocks, "t"))
    ctx = _ctx(store, clocks)
    ctx.credentials = {"Bearer": token}
    refused = ApiError(401, "unauthenticated", "no")
    assert tokens.bearer(ctx, "Bearer", lambda: refused) == "t"
    ctx.credentials = {}
    with pytest.raises(ApiError) as raised:
        tokens.bearer(ctx, "Bearer", lambda: refused)
    assert raised.value is refused
    ctx.credentials = {"Bearer": token}
    clocks[None] = T0 + timedelta(minutes=5)  # expired on the tenant's clock
    with pytest.raises(ApiError):
        tokens.bearer(ctx, "Bearer", lambda: refused)


def test_a_page_acts_only_on_a_consent_awaiting_it() -> None:
    states = States({"NEW": ("LIVE",), "LIVE": ()})
    assert Pages.awaiting(states, {"status": "NEW"}, ("NEW",), "Done") == "NEW"
    with pytest.raises(PageRefused) as refused:
        Pages.awaiting(states, {"status": "LIVE"}, ("NEW",), "Done")
    assert (refused.value.heading, refused.value.status) == ("Done", 409)
    assert refused.value.message == "This consent is LIVE."
    with pytest.raises(PageRefused, match="^It is LIVE already$"):
        Pages.awaiting(states, {"status": "LIVE"}, ["NEW"], "Done", "It is {status} already")


def test_a_webhook_signature_is_the_hex_hmac_sha256_of_the_body() -> None:
    # RFC 4231's test case 2: key "Jefe".
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert kit.hmac_hex("Jefe", b"what do ya want for nothing?") == expected
