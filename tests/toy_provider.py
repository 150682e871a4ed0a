"""A toy provider for the engine's own tests: nothing in it is specific to a real provider."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from mockserver.behaviour import (
    AdminCreated,
    ApiError,
    Context,
    ErrorScope,
    Handlers,
    ProviderDef,
    Reply,
)

handlers = Handlers()


@handlers
def create_thing(ctx: Context) -> Reply:
    thing_id = str(uuid.uuid4())
    record = ctx.insert(thing_id, {"id": thing_id, "name": ctx.body["name"], "status": "NEW"})
    return Reply(201, render(record.data), record=record, location=f"/things/{thing_id}")


@handlers
def list_things(ctx: Context) -> Reply:
    return Reply(200, {"query": ctx.query})


@handlers
def get_thing(ctx: Context) -> Reply:
    record = ctx.fetch(ctx.path["id"])
    if record is None:
        raise ApiError(404, "not_found", "no such thing")
    return Reply(200, render(record.data), record=record)


@handlers
def update_thing(ctx: Context) -> Reply:
    record = ctx.fetch(ctx.path["id"])
    if record is None:
        raise ApiError(404, "not_found", "no such thing")
    body: dict[str, Any] = ctx.body or {}
    updated = ctx.update_if_match(record, lambda d: {**d, **body})
    return Reply(204, record=updated)


@handlers
def broken_response(ctx: Context) -> Reply:
    return Reply(200, {"n": "not an integer"})


@handlers
def boom(ctx: Context) -> Reply:
    raise ZeroDivisionError("a bug in a handler")


def render(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("id", "name") if k in data}


def render_error(err: ApiError, scope: ErrorScope) -> Reply:
    return Reply(err.status, {"oops": err.kind, "msg": err.message, "status": err.status})


def lifecycle(data: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    return data


def admin_create(ctx: Context, fields: dict[str, Any]) -> AdminCreated:
    thing_id = str(uuid.uuid4())
    return AdminCreated(thing_id, {"id": thing_id, "name": "admin", **fields})


PROVIDER = ProviderDef(
    name="toy",
    title="Toy",
    spec_file="toy.yaml",
    handlers=handlers,
    identify=lambda ctx: str(ctx.credentials.get("Key", "")),
    render_error=render_error,
    render=render,
    lifecycle=lifecycle,
    status_of=lambda d: str(d["status"]),
    parse_status=lambda v: str(v) if str(v) in ("NEW", "DONE") else None,
    transitions={"NEW": ("DONE",), "DONE": ()},
    transition=lambda d, to, now, options: {**d, "status": to},
    admin_create=admin_create,
    default_tenant="toy",
    credentials_doc="X-Key header",
)
