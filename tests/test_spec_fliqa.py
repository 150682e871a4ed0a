"""Checks of the hand-written Fliqa spec, specs/fliqa.yaml.

The seed payloads below are transcribed from ../shared/seeds/fliqa.txt exactly as the seed shows
them: the consent (create consent, 201) and the error examples (the one shown under both 400 and
401, the 400 "Missing consent 'provider'!" one and the 401 "Not authorized" one).
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from mockserver import kit
from mockserver.providers.fliqa.signature import HEADER, sign

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "specs" / "fliqa.yaml"
ASSUMPTIONS_PATH = ROOT / "docs" / "assumptions" / "fliqa.md"
SPEC_URI = "urn:consent-mockserver:specs:fliqa"

# --- Seed payloads (../shared/seeds/fliqa.txt) -------------------------------------------------

SEED_CONSENT: dict[str, Any] = {
    "inquiryId": "string",
    "consentId": "123",
    "status": "initiated",
    "created": "2025-10-30T15:47:48.698Z",
    "modified": "2025-10-30T15:47:48.698Z",
    "scope": "all",
    "validUntil": "2025-10-30T15:47:48.698Z",
    "consentData": [
        {"name": "iban", "value": "RO66BACX0000001234567890"},
        {"name": "username", "value": "tester"},
    ],
    "providerId": "string",
    "name": "Account ownership check",
    "description": "Account ownership confirmation",
    "owner": {"msisdn": "string", "email": "string"},
    "country": "AT",
    "data": [{"key": "customer_id", "value": "external_id_1234"}],
    "locale": "en",
}

SEED_ERROR_PHONE_OR_EMAIL_NOT_REGISTERED: dict[str, Any] = {
    "errorMessage": "string",
    "errorCode": "unauthorized",
    "errorSubCode": "phone_or_email_not_registered",
    "documentationUrl": "string",
    "requestId": "554099e7d0b648d7b96bc31c148425b8",
    "resourceId": "a683072aeeb746d58aa34dd5537c4aae",
}

SEED_ERROR_MISSING_PROVIDER: dict[str, Any] = {
    "errorCode": "invalid_parameter",
    "errorMessage": "Missing consent 'provider'!",
    "documentationUrl": "https://documentation.fliqa.io/api/errors/invalid_parameter",
}

SEED_ERROR_NOT_AUTHORIZED: dict[str, Any] = {
    "errorCode": "unauthorized",
    "errorMessage": "Not authorized",
    "documentationUrl": "https://documentation.fliqa.io/api/errors/unauthorized",
}

SEED_ERRORS: dict[str, dict[str, Any]] = {
    "SeedErrorPhoneOrEmailNotRegistered": SEED_ERROR_PHONE_OR_EMAIL_NOT_REGISTERED,
    "SeedErrorMissingProvider": SEED_ERROR_MISSING_PROVIDER,
    "SeedErrorNotAuthorized": SEED_ERROR_NOT_AUTHORIZED,
}

# --- Enums of the seed (and FACTS.md §5) -------------------------------------------------------

SEED_STATUSES = [
    "initiated",
    "started",
    "received",
    "rejected",
    "partially_authorised",
    "valid",
    "revoked_by_psu",
    "expired",
    "terminated_by_tpp",
    "failed",
]
SEED_SCOPES = ["all", "accounts", "balances", "transactions"]
SEED_CONSENT_DATA_NAMES = ["redirect", "otp", "iban", "password", "select", "username", "status"]
SEED_ERROR_CODES = [
    "invalid_parameter",
    "unauthorized",
    "forbidden",
    "not_found",
    "not_allowed",
    "bad_request",
    "other",
]
SEED_ERROR_SUB_CODES = [
    "api_key_secret_header_must_be_provided",
    "authorization_header_must_be_provided",
    "access_not_allowed",
    "domain_not_allowed",
    "access_token_expired",
    "invalid_access_scope",
    "not_authorized",
    "phone_or_email_not_registered",
    "phone_number_start_with_plus_and_country",
    "phone_number_invalid",
    "email_invalid",
    "email_or_phone_number_required",
    "invalid_pin",
    "could_not_interpret_numbers_after_plus",
    "supplied_string_not_phone_number",
    "string_supplied_too_short_to_be_phone_number",
    "string_supplied_too_long_to_be_phone_number",
    "string_supplied_was_too_long_to_parse",
    "unspecified",
]
# The seed's sub-codes for a malformed phone number (the behaviour module chooses among them).
PHONE_FORMAT_SUB_CODES = [
    "phone_number_start_with_plus_and_country",
    "phone_number_invalid",
    "could_not_interpret_numbers_after_plus",
    "supplied_string_not_phone_number",
    "string_supplied_too_short_to_be_phone_number",
    "string_supplied_too_long_to_be_phone_number",
    "string_supplied_was_too_long_to_parse",
]
TOKEN_SCOPES = ["account_owner", "account_info", "account_transactions", "payments", "risk_scoring"]

OPERATIONS: dict[tuple[str, str], str] = {
    ("post", "/account/consent"): "createConsent",
    ("get", "/service/auth/token/{environment}/{tenantSlug}"): "getToken",
    ("post", "/account/login"): "login",
    ("post", "/account/consent/{consentId}"): "addConsentData",
    ("get", "/service/consent"): "listConsents",
    ("get", "/service/consent/{consentId}"): "getConsent",
    ("get", "/service/inquiry/{inquiryId}"): "getConsentInquiry",
}

EXPECTED_STATUSES: dict[str, set[str]] = {
    "createConsent": {"201", "400", "401"},
    "getToken": {"200", "400", "401", "403"},
    "login": {"200", "400", "401"},
    "addConsentData": {"200", "400", "401", "404"},
    "listConsents": {"200", "400", "401", "404"},
    "getConsent": {"200", "401", "404"},
    "getConsentInquiry": {"200", "400", "401"},  # FACTS-2 §2.2
}

# FACTS-2 §2.2: the documented names (msidsn, sic) and cursor; plus the simulator's msisdn
# (the corrected spelling) and limit.
LIST_FILTERS = {
    "inquiryId",
    "msisdn",
    "msidsn",
    "email",
    "validFrom",
    "validUntil",
    "providerName",
    "country",
    "status",
    "scope",
    "dataKey",
    "dataValue",
    "cursor",
    "limit",
}


# --- Helpers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def registry(spec: dict[str, Any]) -> Registry:
    return Registry().with_resources([(SPEC_URI, DRAFT202012.create_resource(spec))])


def validator_for(registry: Registry, pointer: str) -> Draft202012Validator:
    """A validator for the schema at a JSON pointer of the spec, its $refs resolved in the spec."""
    return Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{pointer}"},
        registry=registry,
        format_checker=FormatChecker(),
    )


def schema_validator(registry: Registry, name: str) -> Draft202012Validator:
    return validator_for(registry, f"/components/schemas/{name}")


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow one local $ref (as components/responses and components/examples are used)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operation(spec: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for (method, path), op_id in OPERATIONS.items():
        if op_id == operation_id:
            found = spec["paths"][path][method]
            assert isinstance(found, dict)
            return found
    raise KeyError(operation_id)


def response(spec: dict[str, Any], operation_id: str, status: str) -> dict[str, Any]:
    found = resolve(spec, operation(spec, operation_id)["responses"][status])
    assert isinstance(found, dict)
    return found


def example_values(spec: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    return [resolve(spec, example)["value"] for example in media.get("examples", {}).values()]


def all_strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in all_strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in all_strings(value)]
    return []


# --- The document ------------------------------------------------------------------------------


def test_spec_is_a_valid_openapi_3_1_document(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    for key in ("title", "version", "description"):
        assert spec["info"][key]
    assert "seeds/fliqa.txt" in spec["info"]["description"]
    assert "FACTS.md" in spec["info"]["description"]


def test_placeholder_server_is_marked_as_a_simulator_choice(spec: dict[str, Any]) -> None:
    (server,) = spec["servers"]
    assert server["url"].startswith("https://")
    assert "Simulator choice:" in server["description"]


def test_operations_are_exactly_the_six_of_scope(spec: dict[str, Any]) -> None:
    found = {
        (method, path): op["operationId"]
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    assert found == OPERATIONS


@pytest.mark.parametrize("operation_id", sorted(EXPECTED_STATUSES))
def test_operation_conventions(spec: dict[str, Any], operation_id: str) -> None:
    op = operation(spec, operation_id)
    assert re.fullmatch(r"[a-z][A-Za-z]+", op["operationId"])
    assert op["summary"] and op["description"] and op["tags"]
    assert set(op["responses"]) == EXPECTED_STATUSES[operation_id]
    for status in op["responses"]:
        media = response(spec, operation_id, status)["content"]
        assert list(media) == ["application/json"]
        if status.startswith("4"):
            assert media["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_every_ref_is_local(spec: dict[str, Any]) -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return own + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    found = refs(spec)
    assert found
    for ref in found:
        assert ref.startswith("#/components/"), ref
        assert resolve(spec, {"$ref": ref}) is not None


def test_every_parameter_has_a_schema(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        for op in item.values():
            for param in op.get("parameters", []):
                assert "schema" in resolve(spec, param), (path, param)


# --- Security ----------------------------------------------------------------------------------


def test_security_schemes(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header"}
    assert schemes["ApiKey"]["name"] == "Api-Key"
    assert schemes["ApiSecret"]["type"] == "apiKey"
    assert schemes["ApiSecret"]["in"] == "header"
    assert schemes["ApiSecret"]["name"] == "Api-Secret"
    assert schemes["BearerAuth"]["type"] == "http"
    assert schemes["BearerAuth"]["scheme"] == "bearer"


def test_token_needs_key_and_secret_and_the_rest_a_bearer_token(spec: dict[str, Any]) -> None:
    assert operation(spec, "getToken")["security"] == [{"ApiKey": [], "ApiSecret": []}]
    assert spec["security"] == [{"BearerAuth": []}]
    for operation_id in set(OPERATIONS.values()) - {"getToken"}:
        assert "security" not in operation(spec, operation_id), operation_id


# --- Parameters and bodies ---------------------------------------------------------------------


def test_token_path_parameters(spec: dict[str, Any], registry: Registry) -> None:
    params = {p["name"]: p for p in operation(spec, "getToken")["parameters"]}
    assert set(params) == {"environment", "tenantSlug"}
    assert all(p["in"] == "path" and p["required"] for p in params.values())
    environment = schema_validator(registry, "Environment")
    environment.validate("sandbox")
    environment.validate("production")
    with pytest.raises(jsonschema.ValidationError):
        environment.validate("staging")


@pytest.mark.parametrize("operation_id", ["createConsent", "login"])
def test_locale_query_parameter(spec: dict[str, Any], operation_id: str) -> None:
    (param,) = (resolve(spec, p) for p in operation(spec, operation_id)["parameters"])
    assert param["name"] == "locale"  # FACTS-2 §2.2
    assert param["in"] == "query"
    assert param["schema"]["type"] == "string"


def test_create_consent_body(spec: dict[str, Any], registry: Registry) -> None:
    body = operation(spec, "createConsent")["requestBody"]
    assert body["required"] is True
    schema = resolve(spec, body["content"]["application/json"]["schema"])
    assert set(schema["properties"]) == {"providerId", "otp", "msisdn", "email", "data"}
    assert schema["required"] == ["providerId", "otp"]
    validator = schema_validator(registry, "CreateConsentRequest")
    validator.validate(
        {
            "providerId": "sandbox-bank-at",
            "otp": "123456",
            "msisdn": "+43660123456",
            "email": "anna@example.com",
            "data": [{"key": "customer_id", "value": "external_id_1234"}],
        }
    )
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"otp": "123456", "msisdn": "+43660123456"})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"providerId": "x", "otp": "1", "data": [{"key": 1}]})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"provider": "x", "otp": "1"})


def test_phone_and_email_are_plain_strings(spec: dict[str, Any], registry: Registry) -> None:
    """The behaviour module gives the seed's sub-codes; a schema rule would pre-empt them."""
    schemas = spec["components"]["schemas"]
    for name in ("Msisdn", "Email"):
        assert schemas[name]["type"] == "string"
        assert not {"pattern", "format", "minLength"} & set(schemas[name])
    for code in PHONE_FORMAT_SUB_CODES:
        assert f"`{code}`" in schemas["Msisdn"]["description"], code
    assert "email_invalid" in schemas["Email"]["description"]
    login = schema_validator(registry, "LoginRequest")
    login.validate({"msisdn": "0660 123"})  # well-typed: refused by behaviour, not schema
    login.validate({})
    with pytest.raises(jsonschema.ValidationError):
        login.validate({"msisdn": 43660123456})


def test_add_consent_data_body(spec: dict[str, Any], registry: Registry) -> None:
    body = operation(spec, "addConsentData")["requestBody"]
    assert body["required"] is True
    validator = schema_validator(registry, "AddConsentDataRequest")
    validator.validate([{"name": "iban", "value": "RO66BACX0000001234567890"}])
    with pytest.raises(jsonschema.ValidationError):
        validator.validate([{"name": "pin", "value": "1234"}])
    with pytest.raises(jsonschema.ValidationError):
        validator.validate([{"name": "iban"}])
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"name": "iban", "value": "x"})


def test_list_filters_and_paging(spec: dict[str, Any]) -> None:
    params = {p["name"]: resolve(spec, p) for p in operation(spec, "listConsents")["parameters"]}
    assert set(params) == LIST_FILTERS
    assert all(p["in"] == "query" and not p.get("required") for p in params.values())
    assert params["status"]["schema"] == {"$ref": "#/components/schemas/ConsentStatus"}
    assert params["scope"]["schema"] == {"$ref": "#/components/schemas/ConsentScope"}
    assert params["validFrom"]["schema"]["format"] == "date-time"
    assert params["validUntil"]["schema"]["format"] == "date-time"
    assert params["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 20,
    }
    for name in ("limit", "msisdn"):
        assert "Simulator choice:" in params[name]["description"], name


def test_list_response(registry: Registry) -> None:
    validator = schema_validator(registry, "ConsentList")
    consent = {k: v for k, v in SEED_CONSENT.items() if k != "consentData"}
    page = {"data": [consent], "metadata": {"total": 1, "limit": 20, "next_cursor": None}}
    validator.validate(page)
    validator.validate({**page, "metadata": {"total": 7, "limit": 1, "next_cursor": "abc"}})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"data": [consent]})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**page, "metadata": {"total": 1, "limit": 20}})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**page, "data": [{**consent, "status": "active"}]})


# --- Responses, headers and links --------------------------------------------------------------


def test_create_answers_201_with_a_required_location(spec: dict[str, Any]) -> None:
    created = response(spec, "createConsent", "201")
    assert created["headers"]["Location"]["required"] is True
    assert created["headers"]["Location"]["schema"] == {"type": "string", "format": "uri"}
    schema = created["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Consent"}


def test_links_for_stateful_tests(spec: dict[str, Any]) -> None:
    expected = {"consentId": "$response.body#/consentId"}
    created = response(spec, "createConsent", "201")["links"]
    inquiry = created.pop("GetConsentInquiry")
    assert inquiry == {
        "operationId": "getConsentInquiry",
        "parameters": {"inquiryId": "$response.body#/inquiryId"},
        "description": "Read the inquiry the consent was made from.",
    }
    assert {link["operationId"] for link in created.values()} == {"getConsent", "addConsentData"}
    assert all(link["parameters"] == expected for link in created.values())
    added = response(spec, "addConsentData", "200")["links"]
    assert [link["operationId"] for link in added.values()] == ["getConsent"]
    assert all(link["parameters"] == expected for link in added.values())
    operation_ids = set(OPERATIONS.values())
    for path, item in spec["paths"].items():
        for op in item.values():
            for status, answer in op["responses"].items():
                for link in resolve(spec, answer).get("links", {}).values():
                    assert link["operationId"] in operation_ids, (path, status)


def test_token_response(registry: Registry, spec: dict[str, Any]) -> None:
    validator = schema_validator(registry, "AccessToken")
    token = {
        "accessToken": "eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRJZCI",
        "expires": "2025-10-30T15:47:48.759Z",
        "expiresIn": 360,
        "scope": ["account_owner"],
    }
    validator.validate(token)
    assert spec["components"]["schemas"]["TokenScope"]["enum"] == TOKEN_SCOPES
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**token, "scope": ["account_owner", "admin"]})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({k: v for k, v in token.items() if k != "accessToken"})


def test_login_response(registry: Registry) -> None:
    validator = schema_validator(registry, "LoginResponse")
    validator.validate({"otpLength": 6})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"otpLength": "6"})


# --- The seed's payloads -----------------------------------------------------------------------


def test_seed_consent_validates(registry: Registry) -> None:
    schema_validator(registry, "Consent").validate(SEED_CONSENT)


@pytest.mark.parametrize("name", sorted(SEED_ERRORS))
def test_seed_error_validates(registry: Registry, name: str) -> None:
    schema_validator(registry, "Error").validate(SEED_ERRORS[name])


def test_spec_examples_are_the_seed_payloads(spec: dict[str, Any]) -> None:
    examples = spec["components"]["examples"]
    assert examples["SeedConsent"]["value"] == SEED_CONSENT
    for name, payload in SEED_ERRORS.items():
        assert examples[name]["value"] == payload, name


def test_seed_examples_sit_where_the_seed_shows_them(spec: dict[str, Any]) -> None:
    def shown(operation_id: str, status: str) -> list[Any]:
        media = response(spec, operation_id, status)["content"]["application/json"]
        return example_values(spec, media)

    assert SEED_CONSENT in shown("createConsent", "201")
    assert SEED_ERROR_PHONE_OR_EMAIL_NOT_REGISTERED in shown("createConsent", "400")
    assert SEED_ERROR_MISSING_PROVIDER in shown("createConsent", "400")
    assert SEED_ERROR_PHONE_OR_EMAIL_NOT_REGISTERED in shown("createConsent", "401")
    assert SEED_ERROR_NOT_AUTHORIZED in shown("createConsent", "401")


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _bodies(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every request body and response of every operation, with its JSON pointer in the spec."""
    found: list[tuple[str, dict[str, Any]]] = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            base = f"/paths/{_escape(path)}/{method}"
            if "requestBody" in op:
                found.append((f"{base}/requestBody", op["requestBody"]))
            for status, answer in op["responses"].items():
                ref = answer.get("$ref")
                pointer = ref.removeprefix("#") if ref else f"{base}/responses/{status}"
                found.append((pointer, resolve(spec, answer)))
    return found


def test_every_example_in_the_spec_validates(spec: dict[str, Any], registry: Registry) -> None:
    checked = 0
    for pointer, body in _bodies(spec):
        for media_type, media in body.get("content", {}).items():
            schema_pointer = f"{pointer}/content/{_escape(media_type)}/schema"
            validator = validator_for(registry, schema_pointer)
            for value in example_values(spec, media):
                validator.validate(value)
                checked += 1
    assert checked >= 20


# --- Consent schema ----------------------------------------------------------------------------


def test_consent_has_every_seed_field(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert set(SEED_CONSENT) <= set(schemas["Consent"]["properties"])
    item = schemas["ConsentDataItem"]["properties"]
    assert {"name", "value", "label", "description", "properties"} <= set(item)
    assert set(schemas["Owner"]["properties"]) == {"msisdn", "email"}
    assert set(schemas["DataItem"]["properties"]) == {"key", "value"}
    for field in ("created", "modified", "validUntil"):
        assert schemas["Consent"]["properties"][field] == {"$ref": "#/components/schemas/DateTime"}
    assert schemas["DateTime"]["format"] == "date-time"


def test_enums_are_the_seeds(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["ConsentStatus"]["enum"] == SEED_STATUSES
    assert schemas["ConsentScope"]["enum"] == SEED_SCOPES
    assert schemas["ConsentDataItemName"]["enum"] == SEED_CONSENT_DATA_NAMES
    assert schemas["ErrorCode"]["enum"] == SEED_ERROR_CODES
    assert schemas["ErrorSubCode"]["enum"] == SEED_ERROR_SUB_CODES


def test_the_sandbox_providers_ask_for_stated_items_and_share_valid_ibans(
    spec: dict[str, Any],
) -> None:
    """`x-sandbox-providers` (on providerId) and `x-items` (on ConsentDataItemName) agree."""
    schemas = spec["components"]["schemas"]
    items = schemas["ConsentDataItemName"]["x-items"]
    assert set(items) <= set(SEED_CONSENT_DATA_NAMES) - {"status"}
    assert all(set(item) <= {"label", "description", "properties"} for item in items.values())
    banks = schemas["CreateConsentRequest"]["properties"]["providerId"]["x-sandbox-providers"]
    for bank in banks.values():
        assert set(bank["items"]) <= set(items) and kit.iban_ok(bank["iban"])
        assert bank["iban"].startswith(bank["country"]) and bank["title"]


def test_each_sub_code_s_message_is_under_one_error_code_of_the_seeds(spec: dict[str, Any]) -> None:
    """`x-messages`: errorCode → {sub-code → errorMessage}, each sub-code under one code."""
    messages = spec["components"]["schemas"]["ErrorSubCode"]["x-messages"]
    assert set(messages) <= set(SEED_ERROR_CODES)
    subs = [sub for by_code in messages.values() for sub in by_code]
    assert len(subs) == len(set(subs)) and set(subs) <= set(SEED_ERROR_SUB_CODES)
    assert all(isinstance(m, str) and m for c in messages.values() for m in c.values())


def test_error_body_fields(spec: dict[str, Any]) -> None:
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {
        "errorMessage",
        "errorCode",
        "errorSubCode",
        "documentationUrl",
        "requestId",
        "resourceId",
    }


@pytest.mark.parametrize("status", SEED_STATUSES)
def test_every_status_is_accepted(registry: Registry, status: str) -> None:
    schema_validator(registry, "Consent").validate({**SEED_CONSENT, "status": status})


# --- Negative cases: the schemas must be able to refuse ----------------------------------------


def _with(payload: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["status"], "authorised"),
        (["status"], "VALID"),
        (["scope"], "payments"),
        (["consentData", 0, "name"], "pin"),
        (["created"], "30.10.2025 15:47"),
        (["validUntil"], "2025-10-30"),
        (["country"], "AUT"),
        (["locale"], "en-GB"),
        (["owner"], "string"),
        (["data"], {"key": "customer_id"}),
        (["consentId"], 123),
    ],
)
def test_consent_refuses_wrong_values(
    registry: Registry, path: list[str | int], value: Any
) -> None:
    with pytest.raises(jsonschema.ValidationError):
        schema_validator(registry, "Consent").validate(_with(SEED_CONSENT, path, value))


@pytest.mark.parametrize("field", ["consentId", "status", "created"])
def test_consent_refuses_missing_required_fields(registry: Registry, field: str) -> None:
    consent = {k: v for k, v in SEED_CONSENT.items() if k != field}
    with pytest.raises(jsonschema.ValidationError):
        schema_validator(registry, "Consent").validate(consent)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("errorSubCode", "phone_not_registered"),
        ("errorSubCode", "invalid_otp"),
        ("errorCode", "unauthorised"),
        ("errorCode", "internal_error"),
        ("errorMessage", None),
    ],
)
def test_error_refuses_unknown_codes(registry: Registry, field: str, value: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        schema_validator(registry, "Error").validate(
            {**SEED_ERROR_PHONE_OR_EMAIL_NOT_REGISTERED, field: value}
        )


def test_error_refuses_a_body_without_a_code(registry: Registry) -> None:
    with pytest.raises(jsonschema.ValidationError):
        schema_validator(registry, "Error").validate({"errorMessage": "Not authorized"})


# --- Simulator choices are written down --------------------------------------------------------


def test_simulator_choices_are_listed_in_the_assumptions(spec: dict[str, Any]) -> None:
    choices = sum(text.count("Simulator choice:") for text in all_strings(spec))
    assert choices >= 30
    text = ASSUMPTIONS_PATH.read_text(encoding="utf-8")
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(bullets) >= choices
    assert all(re.match(r"- \*\*[^*]+\*\*: \S", line) for line in bullets)


def test_consent_inquiry(spec: dict[str, Any], registry: Registry) -> None:
    """FACTS-2 §2.2: the documented fields and enums of GET /service/inquiry/{inquiryId}."""
    schemas = spec["components"]["schemas"]
    inquiry = schemas["ConsentInquiry"]
    assert set(inquiry["properties"]) == {
        *("id", "status", "name", "displayName", "description", "scope", "frequency", "tenant"),
    }
    assert inquiry["properties"]["status"]["enum"] == ["initiated", "active", "inactive", "deleted"]
    assert inquiry["properties"]["frequency"]["enum"] == ["once", "daily"]
    assert set(schemas["InquiryTenant"]["properties"]) == {
        *("name", "companyName", "addressStreet", "addressStreetNumber", "addressCity"),
        *("addressZipCode", "addressCountry"),
    }
    example = operation(spec, "getConsentInquiry")["responses"]["200"]["content"]
    validator = schema_validator(registry, "ConsentInquiry")
    validator.validate(example["application/json"]["examples"]["default"]["value"])
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(
            {**example["application/json"]["examples"]["default"]["value"], "frequency": "weekly"}
        )


def test_the_webhook_is_in_the_spec_with_the_signature_the_signer_sends(
    spec: dict[str, Any], registry: Registry
) -> None:
    """FACTS-2 §2.1: the bare consent, signed with X-Fliqa-Signature (OpenAPI 3.1 webhooks)."""
    hook = spec["webhooks"]["consent"]["post"]
    (header,) = hook["parameters"]
    assert header["name"] == HEADER and header["in"] == "header" and header["required"]
    schema = hook["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Consent"}
    now = datetime(2026, 1, 5, tzinfo=UTC)
    for previous in (None, "old"):
        value = sign(b"{}", "https://x/", "s", previous, now)[HEADER]
        assert re.fullmatch(header["schema"]["pattern"], value), value
    for status in ("rejected", "valid", "revoked_by_psu", "expired", "terminated_by_tpp"):
        assert f"`{status}`" in hook["description"]
