"""The provider kit: the core contract and the building blocks a provider declares.

A provider package imports from here only: never a blueprint module (`sandbox`, `control`)
or `app`. See docs/adding-a-provider.md.
"""

from __future__ import annotations

from typing import Any

from ..behaviour import (
    AdminCreated,
    ApiError,
    Context,
    ErrorScope,
    Handlers,
    ProviderDef,
    Recording,
    Reply,
    sort_stamp,
)
from ..clock import format_instant, parse_duration, parse_instant
from ..lifecycle import TransitionRefused
from ..store import Record
from ..validation import Violation
from .access import FirstSecret, Tokens, api_key_tenant, basic_tenant, same_secret
from .admin_doc import BAD_REQUEST, TENANT, TEXT, admin_operation, answer, json_object, parameter
from .admin_routes import AdminRoutes, admin_body
from .assemble import assemble
from .banking import iban_ok
from .body import BodyFields
from .dialect import error_code, explain, invalid, problem_details, status_name, status_phrase
from .fields import (
    AdminFields,
    body_problem,
    check_fields,
    check_uuid,
    instant_field,
    optional_text,
    refuse_options,
    refuse_unknown,
    spec_bodies,
    spec_enum,
    spec_error_operations,
    spec_example,
    spec_fields,
    spec_schema,
    text,
)
from .grants import Grants
from .hooks import Event, Hook, TenantHooks, WebhookDef, body_signer, status_events
from .journey import Aliases, Site, Tickets, is_http_url, with_params
from .jwt import JwtKey, hmac_hex, sign_jwt, verify_jwt
from .listing import (
    Filters,
    equal,
    missing_property,
    one_of,
    order_by,
    order_clause,
    owned,
    since,
    until,
)
from .otp import OneTimeCodes, Outbox
from .outbox_routes import OutboxRoutes
from .pages import PageRefused, Pages
from .seal import Seals
from .settings import TenantSetting
from .shapes import projection, public, renamed, without
from .spec_parts import spec_answer_example, spec_parameter
from .spec_text import spec_enum_descriptions, spec_error_messages
from .stamped import SignatureError, StampedSignature
from .states import Expire, Mark, Purge, States, at_field
from .times import format_millis, iso_duration, lenient_instant
from .trace import trace_hex

JsonDict = dict[str, Any]

__all__ = [
    "AdminCreated",
    "Aliases",
    "AdminFields",
    "AdminRoutes",
    "ApiError",
    "BAD_REQUEST",
    "BodyFields",
    "Context",
    "ErrorScope",
    "Event",
    "Expire",
    "Filters",
    "FirstSecret",
    "Grants",
    "Handlers",
    "Hook",
    "JsonDict",
    "JwtKey",
    "Mark",
    "OneTimeCodes",
    "Outbox",
    "PageRefused",
    "Pages",
    "ProviderDef",
    "Purge",
    "Record",
    "Recording",
    "Reply",
    "Seals",
    "SignatureError",
    "Site",
    "TENANT",
    "TEXT",
    "StampedSignature",
    "States",
    "TenantHooks",
    "TenantSetting",
    "Tickets",
    "Tokens",
    "TransitionRefused",
    "Violation",
    "WebhookDef",
    "admin_body",
    "admin_operation",
    "answer",
    "api_key_tenant",
    "assemble",
    "at_field",
    "basic_tenant",
    "body_problem",
    "body_signer",
    "check_fields",
    "check_uuid",
    "equal",
    "error_code",
    "explain",
    "format_instant",
    "format_millis",
    "hmac_hex",
    "iban_ok",
    "instant_field",
    "invalid",
    "is_http_url",
    "iso_duration",
    "json_object",
    "lenient_instant",
    "missing_property",
    "one_of",
    "optional_text",
    "order_by",
    "order_clause",
    "owned",
    "parameter",
    "parse_duration",
    "parse_instant",
    "problem_details",
    "projection",
    "public",
    "refuse_options",
    "refuse_unknown",
    "same_secret",
    "since",
    "sign_jwt",
    "sort_stamp",
    "spec_bodies",
    "spec_enum",
    "spec_error_operations",
    "spec_example",
    "spec_fields",
    "spec_schema",
    "status_events",
    "status_name",
    "status_phrase",
    "text",
    "until",
    "verify_jwt",
    "without",
    "with_params",
    "trace_hex",
    "spec_answer_example",
    "spec_parameter",
    "OutboxRoutes",
    "spec_enum_descriptions",
    "spec_error_messages",
    "renamed",
]
