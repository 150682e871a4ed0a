"""Checks on the hand-written Yapily spec, ``specs/yapily.yaml``."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

REPO = Path(__file__).parents[1]
SPEC_PATH = REPO / "specs" / "yapily.yaml"
ASSUMPTIONS_PATH = REPO / "docs" / "assumptions" / "yapily.md"
OFFICIAL_PATH = Path(__file__).parents[2] / "shared" / "providers" / "yapily-official-consents.json"
SPEC_URI = "urn:consent-mockserver:specs:yapily"

# The example response of the seed (../shared/seeds/yapily.txt), transcribed exactly.
SEED_RESPONSE: dict[str, Any] = {
    "meta": {
        "tracingId": "d7b537b108934105a522dc7b4522380b",
        "count": 1,
        "pagination": {
            "totalCount": 1,
            "self": {
                "sort": "-date",
                "offset": 0,
            },
        },
    },
    "data": [
        {
            "id": "56a42244-414a-4b52-8c4f-4ad2a50e82fe",
            "userUuid": "ca412fdf-5a30-43a2-88b7-5964a24a8e55",
            "applicationUserId": "string",
            "institutionId": "modelo-sandbox",
            "status": "AUTHORIZED",
            "createdAt": "2021-06-08T10:59:35.138Z",
            "featureScope": [
                "ACCOUNT_BENEFICIARIES",
                "ACCOUNT_STATEMENT_FILE",
                "ACCOUNTS",
                "ACCOUNT_PERIODIC_PAYMENTS",
                "ACCOUNT_TRANSACTIONS",
                "ACCOUNT",
                "ACCOUNT_STATEMENTS",
                "ACCOUNT_SCHEDULED_PAYMENTS",
                "IDENTITY",
                "ACCOUNT_DIRECT_DEBITS",
                "ACCOUNT_STATEMENT",
                "ACCOUNT_BALANCES",
                "ACCOUNT_TRANSACTIONS_WITH_MERCHANT",
            ],
            "consentToken": (
                "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.eyJJTlNUSVRVVElPTiI6Im1vZGVsby1zYW5kYm94Ii"
                "wiQ09OU0VOVCI6IjU2YTQyMjQ0LTQxNGEtNGI1Mi04YzRmLTRhZDJhNTBlODJmZSIsIkFQUExJQ0FUSU"
                "9OX1VTRVJfSUQiOiJtb2ZlLTIiLCJVU0VSIjoiY2E0MTJmZGYtNWEzMC00M2EyLTg4YjctNTk2NGEyNG"
                "E4ZTU1In0.gorwpnUjSr5dzQJLR32M2geWOj7yK9xMsZmq27ssY9xP_xGmWfUL_aqVHYyQ4r5KWw6Xb6"
                "RjvO839st8chJLtg"
            ),
            "state": "a09f8ff9c1284444aa635267e05f76e1",
            "authorizedAt": "2021-06-08T10:59:53.288Z",
            "institutionConsentId": "aac-605d48f2-2a0e-4594-81a9-996524fa3b2a",
        }
    ],
}

EXPECTED_OPERATIONS = {
    ("get", "/consents"): "getConsents",
    ("get", "/consents/{consentId}"): "getConsentById",
    ("delete", "/consents/{consentId}"): "deleteConsent",
    ("post", "/consents/{consentId}/extend"): "extendConsent",
    ("post", "/account-auth-requests"): "initiateAccountRequest",
    ("patch", "/account-auth-requests"): "reAuthoriseAccount",
    ("put", "/account-auth-requests"): "updatePreAuthoriseAccountConsent",
    ("post", "/consent-auth-code"): "exchangeConsentAuthCode",
    ("post", "/consent-one-time-token"): "exchangeOneTimeToken",
    ("get", "/webhook/events/categories"): "getWebhookEventsCategories",
    ("post", "/webhook/events"): "registerWebhook",
    ("get", "/webhook/events"): "getRegisteredWebhooks",
    ("delete", "/webhook/events/{webhook_id}"): "deleteWebhook",
    ("post", "/webhook/secrets/{webhook_id}"): "webhookSecretReset",
}
NO_LOCATION = {"reAuthoriseAccount", "registerWebhook", "webhookSecretReset"}
# Errors in Yapily's V2 body (ApiErrorResponse), as Yapily's spec declares them.
V2_OPERATIONS = {
    "extendConsent",
    "getWebhookEventsCategories",
    "registerWebhook",
    "getRegisteredWebhooks",
    "deleteWebhook",
    "webhookSecretReset",
}

# FACTS.md §3.2, "Consent schema" table.
CONSENT_FIELDS = {
    "id", "userUuid", "applicationUserId", "referenceId", "institutionId", "status",
    "createdAt", "transactionFrom", "transactionTo", "expiresAt", "timeToExpireInMillis",
    "timeToExpire", "featureScope", "consentToken", "state", "authorizedAt", "lastConfirmedAt",
    "reconfirmBy", "institutionConsentId", "isDeletedByInstitution",
}  # fmt: skip

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        loaded = yaml.safe_load(fh)
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def official() -> dict[str, Any]:
    if not OFFICIAL_PATH.is_file():
        pytest.skip(f"Yapily's official spec extract is absent: {OFFICIAL_PATH} not found")
    with OFFICIAL_PATH.open(encoding="utf-8") as fh:
        loaded = json.load(fh)
    assert isinstance(loaded, dict)
    return loaded


def _anchor_refs(node: Any) -> Any:
    """Copy of ``node`` whose local refs (``#/...``) point into the spec resource."""
    if isinstance(node, dict):
        return {
            key: SPEC_URI + value
            if key == "$ref" and isinstance(value, str) and value.startswith("#")
            else _anchor_refs(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_anchor_refs(item) for item in node]
    return node


def validator_for(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A 2020-12 validator for ``schema`` (a piece of ``spec``); its local refs resolve in ``spec``.

    The spec is registered as one JSON Schema resource; ``#/components/...`` refs met inside
    it resolve against it, and the refs of ``schema`` itself are rewritten to point at it.
    """
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return Draft202012Validator(
        _anchor_refs(schema), registry=registry, format_checker=FormatChecker()
    )


def component_validator(spec: dict[str, Any], name: str) -> Draft202012Validator:
    return validator_for(spec, {"$ref": f"#/components/schemas/{name}"})


def deref(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/a/b``) until a node without ``$ref`` is reached."""
    seen: set[str] = set()
    while "$ref" in node:
        ref = str(node["$ref"])
        assert ref.startswith("#/"), f"non-local $ref {ref}"
        assert ref not in seen, f"$ref loop at {ref}"
        seen.add(ref)
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield method, path, op


def operation(spec: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for _, _, op in operations(spec):
        if op["operationId"] == operation_id:
            return op
    raise AssertionError(f"no operation {operation_id}")


def query_param(spec: dict[str, Any], op: dict[str, Any], name: str) -> dict[str, Any]:
    for param in op.get("parameters", []):
        resolved = deref(spec, param)
        if resolved["in"] == "query" and resolved["name"] == name:
            return resolved
    raise AssertionError(f"no query parameter {name}")


def media_examples(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every (label, schema, example value) of every request and response media type."""
    for method, path, op in operations(spec):
        bodies: list[tuple[str, dict[str, Any]]] = []
        if "requestBody" in op:
            bodies.append((f"{method} {path} request", deref(spec, op["requestBody"])))
        for status, response in op["responses"].items():
            bodies.append((f"{method} {path} {status}", deref(spec, response)))
        for label, body in bodies:
            for media_type, media in body.get("content", {}).items():
                for name, example in media.get("examples", {}).items():
                    value = deref(spec, example)["value"]
                    yield f"{label} {media_type} {name}", media["schema"], value
                if "example" in media:
                    yield f"{label} {media_type} example", media["schema"], media["example"]


# (a) the document is valid OpenAPI 3.1 and follows the conventions the engine relies on


def test_spec_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_operations_and_servers(spec: dict[str, Any]) -> None:
    found = {(method, path): op["operationId"] for method, path, op in operations(spec)}
    assert found == EXPECTED_OPERATIONS
    assert [server["url"] for server in spec["servers"]] == ["https://api.yapily.com"]
    for _, _, op in operations(spec):
        assert op["summary"] and op["description"] and op["tags"]


def test_basic_auth_is_global(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["basicAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "basic")
    assert spec["security"] == [{"basicAuth": []}]
    for _, _, op in operations(spec):
        assert "security" not in op


def test_only_local_refs(spec: dict[str, Any]) -> None:
    refs = re.findall(r"\$ref['\"]?: ['\"]?([^'\"\s}]+)", SPEC_PATH.read_text(encoding="utf-8"))
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/"), ref
        deref(spec, {"$ref": ref})


def test_get_consents_query_parameters(spec: dict[str, Any]) -> None:
    op = operation(spec, "getConsents")
    for name in ("filter[applicationUserId]", "filter[userUuid]", "filter[institution]",
                 "filter[status]"):  # fmt: skip
        param = query_param(spec, op, name)
        assert param["style"] == "form"
        assert param["explode"] is True  # Yapily's spec leaves the OAS default: form, exploded
        assert param["schema"]["type"] == "array"
        assert param["schema"]["uniqueItems"] is True
    user_uuid = query_param(spec, op, "filter[userUuid]")["schema"]["items"]
    assert user_uuid == {"type": "string", "format": "uuid"}
    status_items = query_param(spec, op, "filter[status]")["schema"]["items"]
    assert status_items == {"$ref": "#/components/schemas/AuthorisationStatus"}
    for name in ("from", "before"):
        param = query_param(spec, op, name)
        assert param["schema"]["type"] == "string"
        assert "yyyy-MM-dd'T'HH:mm:ss.SSSZ" in param["description"]
    limit = query_param(spec, op, "limit")["schema"]
    assert (limit["type"], limit["format"], limit["minimum"], limit["maximum"]) == (
        "integer", "int32", 1, 1000,
    )  # fmt: skip
    offset = query_param(spec, op, "offset")["schema"]
    assert (offset["type"], offset["format"], offset["minimum"], offset["default"]) == (
        "integer", "int32", 0, 0,
    )  # fmt: skip
    rule = "At least one of `filter[applicationUserId]`, `filter[userUuid]` or `limit`"
    assert rule in op["description"]
    assert set(op["responses"]) >= {"200", "400", "401"}


def test_date_pattern_accepts_documented_format(spec: dict[str, Any]) -> None:
    op = operation(spec, "getConsents")
    pattern = re.compile(query_param(spec, op, "from")["schema"]["pattern"])
    for good in ("2021-06-08T10:59:35.138+0000", "2021-06-08T10:59:35Z",
                 "2021-06-08T10:59:35.138-05:30"):  # fmt: skip
        assert pattern.search(good), good
    for bad in ("2021-06-08", "2021-13-08T10:59:35Z", "yesterday", "2021-06-08T10:59:35"):
        assert not pattern.search(bad), bad


def test_delete_force_delete_defaults_to_true(spec: dict[str, Any]) -> None:
    op = operation(spec, "deleteConsent")
    force = query_param(spec, op, "forceDelete")
    assert force["schema"] == {"type": "boolean", "default": True}
    assert "200" in op["responses"] and "204" not in op["responses"]


def test_created_responses_declare_location(spec: dict[str, Any]) -> None:
    created = [
        (op["operationId"], response)
        for _, _, op in operations(spec)
        for status, response in op["responses"].items()
        # the same consent, or a webhook (no GET for one): Yapily documents no Location
        if status == "201" and op["operationId"] not in NO_LOCATION
    ]
    assert {name for name, _ in created} == {"initiateAccountRequest", "exchangeOneTimeToken"}
    for _, response in created:
        location = deref(spec, response)["headers"]["Location"]
        assert location["required"] is True
        assert location["schema"] == {"type": "string", "format": "uri"}


def test_response_media_types_and_error_schemas(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            content = deref(spec, response).get("content", {})
            assert list(content) == ["application/json"], (method, path, status)
            schema_ref = content["application/json"]["schema"]["$ref"]
            if status.startswith(("4", "5")) or status == "default":
                v2 = op["operationId"] in V2_OPERATIONS and status != "401"
                expected = "ApiErrorResponse" if v2 else "ApiResponseError"
                assert schema_ref == f"#/components/schemas/{expected}", (path, status)
        if op["operationId"] != "initiateAccountRequest":
            assert "401" in op["responses"]


def test_consent_schema_has_every_field(spec: dict[str, Any]) -> None:
    consent = spec["components"]["schemas"]["Consent"]
    assert set(consent["properties"]) == CONSENT_FIELDS
    assert "required" not in consent
    statuses = spec["components"]["schemas"]["AuthorisationStatus"]["enum"]
    assert len(statuses) == len(set(statuses)) == 17


def test_envelopes(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert set(schemas["ApiListResponseOfConsent"]["properties"]) >= {
        "meta", "data", "links", "forwardedData", "raw", "paging",
    }  # fmt: skip
    assert set(schemas["ResponseListMeta"]["properties"]) == {"tracingId", "count", "pagination"}
    assert set(schemas["Pagination"]["properties"]) == {"totalCount", "self", "next"}
    assert set(schemas["FilterAndSort"]["properties"]) == {
        "from", "before", "limit", "sort", "offset", "cursor",
    }  # fmt: skip
    assert set(schemas["Next"]["properties"]) == {"from", "before", "limit", "cursor"}
    assert schemas["DeleteStatusEnum"]["enum"] == ["SUCCESS", "FAILED"]
    assert set(schemas["ApiError"]["properties"]) == {
        "code", "status", "message", "source", "tracingId", "institutionError",
    }  # fmt: skip
    assert schemas["ApiError"]["properties"]["code"]["type"] == "integer"
    assert set(schemas["ErrorDetails"]["required"]) == {"tracingId", "code", "status"}
    account = schemas["AccountAuthorisationResponse"]["properties"]
    assert set(account) == (CONSENT_FIELDS - {"isDeletedByInstitution"}) | {
        "authorisationUrl", "qrCodeUrl",
    }  # fmt: skip


def test_links_for_stateful_tests(spec: dict[str, Any]) -> None:
    ids = {op["operationId"] for _, _, op in operations(spec)}
    for _, _, op in operations(spec):
        for response in op["responses"].values():
            for link in deref(spec, response).get("links", {}).values():
                assert link["operationId"] in ids

    def targets(operation_id: str, status: str) -> dict[str, dict[str, str]]:
        links = operation(spec, operation_id)["responses"][status]["links"]
        return {link["operationId"]: link["parameters"] for link in links.values()}

    created = targets("initiateAccountRequest", "201")
    for target in ("getConsentById", "deleteConsent", "extendConsent"):
        assert created[target] == {"consentId": "$response.body#/data/id"}
    assert targets("getConsentById", "200")["deleteConsent"] == {
        "consentId": "$response.body#/data/id"
    }
    assert targets("deleteConsent", "200")["getConsentById"] == {
        "consentId": "$response.body#/data/id"
    }


# (b) the seed's example response validates against the list response schema


def test_seed_example_validates_against_list_schema(spec: dict[str, Any]) -> None:
    component_validator(spec, "ApiListResponseOfConsent").validate(SEED_RESPONSE)


def test_seed_example_is_in_the_spec(spec: dict[str, Any]) -> None:
    examples = operation(spec, "getConsents")["responses"]["200"]["content"]["application/json"]
    value = deref(spec, examples["examples"]["seed"])["value"]
    assert value == SEED_RESPONSE


def test_every_example_in_the_spec_validates(spec: dict[str, Any]) -> None:
    checked = 0
    for label, schema, value in media_examples(spec):
        errors = [e.message for e in validator_for(spec, schema).iter_errors(value)]
        assert not errors, f"{label}: {errors}"
        checked += 1
    assert checked >= 15


# (c) the enums equal the ones of Yapily's official spec


def test_authorisation_status_matches_official(
    spec: dict[str, Any], official: dict[str, Any]
) -> None:
    ours = spec["components"]["schemas"]["AuthorisationStatus"]["enum"]
    theirs = official["components"]["schemas"]["AuthorisationStatus"]["enum"]
    assert ours == theirs


def test_feature_scope_matches_official(spec: dict[str, Any], official: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["Consent"]["properties"]["featureScope"] == {
        "$ref": "#/components/schemas/FeatureScope"
    }
    assert schemas["FeatureScope"]["items"] == {"$ref": "#/components/schemas/FeatureEnum"}
    assert schemas["FeatureScope"]["uniqueItems"] is True
    official_scope = official["components"]["schemas"]["Consent"]["properties"]["featureScope"]
    assert official_scope["items"] == {"$ref": "#/components/schemas/FeatureEnum"}
    theirs = official["components"]["schemas"]["FeatureEnum"]["enum"]
    assert schemas["FeatureEnum"]["enum"] == theirs


def test_delete_status_matches_official(spec: dict[str, Any], official: dict[str, Any]) -> None:
    ours = spec["components"]["schemas"]["DeleteStatusEnum"]["enum"]
    assert ours == official["components"]["schemas"]["DeleteStatusEnum"]["enum"]


# (d) the schemas reject what they must reject


def _seed_with(path: list[str | int], value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(SEED_RESPONSE)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return broken


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(["data", 0, "status"], "ACTIVE", id="unknown-status"),
        pytest.param(["data", 0, "status"], "authorized", id="lower-case-status"),
        pytest.param(["data", 0, "featureScope", 0], "READ_EVERYTHING", id="unknown-feature"),
        pytest.param(["data", 0, "featureScope", 1], "ACCOUNT_BENEFICIARIES", id="dup-feature"),
        pytest.param(["data", 0, "id"], "not-a-uuid", id="id-not-uuid"),
        pytest.param(["data", 0, "createdAt"], "08/06/2021", id="createdAt-not-date-time"),
        pytest.param(["data", 0, "surprise"], True, id="undeclared-consent-field"),
        pytest.param(["meta", "count"], "1", id="count-as-string"),
        pytest.param(["meta", "pagination", "self", "sort"], "newest", id="unknown-sort"),
        pytest.param(["meta", "tracingId"], "D7B5", id="tracingId-shape"),
        pytest.param(["data"], {"id": "56a42244-414a-4b52-8c4f-4ad2a50e82fe"}, id="data-not-list"),
    ],
)
def test_list_schema_rejects_bad_payloads(
    spec: dict[str, Any], path: list[str | int], value: Any
) -> None:
    validator = component_validator(spec, "ApiListResponseOfConsent")
    assert not validator.is_valid(_seed_with(path, value))


def test_error_schema_rejects_bad_payloads(spec: dict[str, Any]) -> None:
    validator = component_validator(spec, "ApiResponseError")
    good = {"error": {"code": 401, "status": "UNAUTHORIZED", "message": "Full authentication"}}
    assert validator.is_valid(good)
    assert not validator.is_valid({"error": {**good["error"], "code": "401"}})
    assert not validator.is_valid({"error": {"code": 401, "status": "UNAUTHORIZED"}})
    v2 = component_validator(spec, "ApiErrorResponse")
    assert not v2.is_valid(good)  # the V2 body needs a tracingId


def test_account_authorisation_request_rules(spec: dict[str, Any]) -> None:
    validator = component_validator(spec, "AccountAuthorisationRequest")
    assert validator.is_valid({"institutionId": "modelo-sandbox", "applicationUserId": "u-1"})
    assert validator.is_valid(
        {"institutionId": "modelo-sandbox", "userUuid": "ca412fdf-5a30-43a2-88b7-5964a24a8e55"}
    )
    assert not validator.is_valid({"applicationUserId": "u-1"})  # no institutionId
    assert not validator.is_valid({"institutionId": "modelo-sandbox"})  # no user
    assert not validator.is_valid(
        {"institutionId": "modelo-sandbox", "applicationUserId": "u-1", "oneTimeToken": True}
    )  # oneTimeToken without callback
    assert validator.is_valid(
        {
            "institutionId": "modelo-sandbox",
            "applicationUserId": "u-1",
            "oneTimeToken": True,
            "callback": "https://display-parameters.com/",
        }
    )


def test_get_consents_parameter_schemas_reject_bad_values(spec: dict[str, Any]) -> None:
    op = operation(spec, "getConsents")

    def valid(name: str, value: Any) -> bool:
        return validator_for(spec, query_param(spec, op, name)["schema"]).is_valid(value)

    assert valid("limit", 1) and valid("limit", 1000)
    assert not valid("limit", 0) and not valid("limit", 1001)
    assert valid("offset", 0) and not valid("offset", -1)
    assert valid("filter[status]", ["AUTHORIZED", "REVOKED"])
    assert not valid("filter[status]", ["ACTIVE"])
    assert not valid("filter[status]", ["AUTHORIZED", "AUTHORIZED"])
    assert not valid("filter[userUuid]", ["mofe-2"])


# the assumptions document lists every simulator choice of the spec


def test_every_simulator_choice_is_listed() -> None:
    choices = SPEC_PATH.read_text(encoding="utf-8").count("Simulator choice:")
    bullets = [
        line
        for line in ASSUMPTIONS_PATH.read_text(encoding="utf-8").splitlines()
        if line.startswith("- ")
    ]
    assert choices > 0
    assert len(bullets) == choices


def test_the_sandbox_institutions_are_named_and_include_the_one_that_refuses_to_revoke(
    spec: dict[str, Any],
) -> None:
    """`x-sandbox-institutions` (on institutionId): id → a name for the authorisation page."""
    request = spec["components"]["schemas"]["AccountAuthorisationRequest"]
    institutions = request["properties"]["institutionId"]["x-sandbox-institutions"]
    assert request["properties"]["institutionId"]["example"] in institutions
    assert "revoke-fails-sandbox" in institutions  # deleteConsent's institution that refuses
    assert all(isinstance(name, str) and name for name in institutions.values())
