"""specs/finqware.yaml: a valid OpenAPI 3.1 document that the seed's payloads validate against."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[1] / "specs" / "finqware.yaml"
SPEC_URI = "urn:consent-mockserver:spec:finqware"
JSON = "application/json"

TOKENS = "/v1/tokens"
GET = "/v1/consents/get"
DELETE = "/v1/consents/delete"
OPERATIONS = {"createToken": TOKENS, "getConsent": GET, "deleteConsent": DELETE}
SESSION_OPERATIONS = {
    "createSession": "/v1/sessions",
    "createSessionStep": "/v1/sessions/{session_id}/steps",
}

# The seed's payloads (../shared/seeds/finqware.txt), transcribed exactly; the seed's JSON
# comments are replaced by Python ones.
SEED_GET_CONSENT_200: dict[str, Any] = {
    # read | delete
    "op_type": "read",
    "code": "credentials_info",
    "http": 200,
    "message": "Consent info retrieved",
    "result": {
        # The seed opens with "consent_exp": "2022-05-02T14:21:44Z" and repeats the key below;
        # a JSON parser keeps the last value, and so does this transcription.
        "credentials_id": "519e...25fd5",
        "originator": {
            "country": "Romania",
            "servicer": "Raiffeisen Bank Romania",
            "skill": "rzb_ro_aisp_sbx_#1.0",
        },
        # ACTIVE | DELETED | EXPIRED
        "status": "ACTIVE",
        "tenant_app_info": {
            "client_id": "8fbc3f...d4dc58b1",
            "name": "psd2-tests",
        },
        "utc_created": "2020-07-05T21:48:06Z",
        "utc_last_update": "2020-07-05T21:48:27Z",
        "consent_exp": "2020-11-03T11:22:54Z",
        "max_data_retention": "2020-12-03T11:22:54Z",
    },
}

SEED_DELETE_CONSENT_200: dict[str, Any] = {
    "code": "credentials_deleted",
    "http": 200,
    "message": "Consent deleted",
    "op_type": "delete",
    "result": {
        "client_id": "27c3605a-65f1-4ef3-8b3c-fa814bde5ff7",
        "credentials_id": "b6e01945-6de1-465a-af9b-c74227bca47a",
        "max_data_retention": "2022-06-01T14:21:44Z",
    },
}

# check the errors docs page for details (shown after both seed operations)
SEED_ERROR: dict[str, Any] = {
    "id": "uuid",
    "type": "invalid_request",
    "http": 400,
    "code": "invalid_client_id",
    "message": "error message",
}

# The token exchange's documented 200 (docs.finqware.com/api/tokens, FACTS.md §2.2);
# it is not in the seed.
DOCUMENTED_TOKEN_200: dict[str, Any] = {
    # A pointer to a newly created consent resource
    "credentials_id": "242a5690-...-b4ed02bebd7f",
    # An authorization key for this particular consent resource
    "access_token": "MDAxNmxvY...iGc_CorFem9_YCg",
    # time (UTC timestamp) when this consent is automatically expired
    "consent_exp": "2020-11-03T11:22:54Z",
    # time (UTC timestamp) when data pointed by this consent is permanently removed from the cache
    "max_data_retention": "2020-12-03T11:22:54Z",
}

# The seed writes the error id as the placeholder "uuid" (a type, like "error message");
# the schema says format: uuid, so the placeholder is given a value before validating.
A_UUID = "0b7e4a0c-3f5d-4c8e-9a61-2d4f8b1c7e90"

# docs.finqware.com/api/errors as listed in FACTS.md §2.4.
INVALID_REQUEST_CODES = {
    "missing_fields", "unknown_fields", "invalid_field", "invalid_credentials_id",
    "invalid_client_id", "invalid_client_secret", "invalid_access_token", "invalid_input",
    "invalid_body", "invalid_headers", "not_found", "invalid_step", "invalid_session_id",
    "invalid_skill_name", "invalid_pcd_data_retention", "tpp_redirect_error",
}  # fmt: skip
UNAUTHORIZED_CODES = {
    "invalid_api_keys", "unauthorized_tenant", "invalid_access_token", "invalid_credentials_id",
    "invalid_client_id", "invalid_client_secret", "invalid_client_app_key",
    "inactive_credentials", "expired_credentials", "invalid_uuid", "invalid_tenant_keys",
    "invalid_temp_token",
}  # fmt: skip
EXTERNAL_API_CODES = {
    "external_api_connection_error", "external_api_too_many_requests",
    "external_api_unauthorized", "external_api_forbidden",
}  # fmt: skip


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    assert isinstance(document, dict)
    return document


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str) -> str:
    return "#/" + "/".join(escape(token) for token in tokens)


def validator(spec: dict[str, Any], ref: str) -> Draft202012Validator:
    """A validator for the schema at `ref` (a local pointer), with $refs resolved in the spec."""
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(spec))
    checker = FormatChecker()
    # Without these checkers the format assertions below would pass vacuously.
    assert {"uuid", "date-time"} <= set(checker.checkers)
    return Draft202012Validator({"$ref": SPEC_URI + ref}, registry=registry, format_checker=checker)


def response_schema(spec: dict[str, Any], path: str, status: str) -> Draft202012Validator:
    where = pointer("paths", path, "post", "responses", status, "content", JSON, "schema")
    return validator(spec, where)


def request_schema(spec: dict[str, Any], path: str) -> Draft202012Validator:
    return validator(spec, pointer("paths", path, "post", "requestBody", "content", JSON, "schema"))


def errors_of(check: Draft202012Validator, instance: Any) -> list[str]:
    return [error.message for error in check.iter_errors(instance)]


def test_spec_is_a_valid_openapi_31_document(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert spec["servers"] == [spec["servers"][0]]
    assert spec["servers"][0]["url"] == "https://api.finqware.com"


def test_operations_are_the_three_posts_and_the_session(spec: dict[str, Any]) -> None:
    found = {
        operation["operationId"]: path
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    }
    assert found == OPERATIONS | SESSION_OPERATIONS
    for path in SESSION_OPERATIONS.values():
        assert set(spec["paths"][path]) == {"post"}
        operation = spec["paths"][path]["post"]
        assert operation["tags"] == ["Sessions"] and "FACTS-2 §5.2" in operation["description"]
        assert {"200", "400", "401"} <= set(operation["responses"])
    for path in OPERATIONS.values():
        assert set(spec["paths"][path]) == {"post"}
        operation = spec["paths"][path]["post"]
        assert operation["summary"] and operation["description"] and operation["tags"]
        assert operation["requestBody"]["required"] is True
        assert set(operation["requestBody"]["content"]) == {JSON}
        assert set(operation["responses"]) == {"200", "400", "401"}
        for response in operation["responses"].values():
            assert set(response["content"]) == {JSON}
            assert response["content"][JSON]["examples"]


@pytest.mark.parametrize(
    ("path", "required", "optional"),
    [
        (TOKENS, {"client_id", "client_secret", "temp_token"}, set()),
        (GET, {"client_id", "client_secret", "credentials_id", "access_token"}, set()),
        (
            DELETE,
            {"client_id", "client_secret", "credentials_id", "access_token"},
            {"pcd_data_retention"},
        ),
    ],
)
def test_request_bodies_are_closed_with_the_documented_fields(
    spec: dict[str, Any], path: str, required: set[str], optional: set[str]
) -> None:
    check = request_schema(spec, path)
    body = dict.fromkeys(required, "x")
    assert errors_of(check, body) == []
    for name in required:
        assert errors_of(check, {key: value for key, value in body.items() if key != name})
    assert errors_of(check, {**body, "unexpected": "x"})
    for name in required:
        assert errors_of(check, {**body, name: 12})
        assert errors_of(check, {**body, name: ""})
    if optional:
        assert errors_of(check, {**body, "pcd_data_retention": 0}) == []
        assert errors_of(check, {**body, "pcd_data_retention": 2147483647}) == []


@pytest.mark.parametrize("bad", [-1, 1.5, "60", None, True, 2147483648])
def test_pcd_data_retention_must_be_minutes_zero_or_more(spec: dict[str, Any], bad: Any) -> None:
    body = {
        "client_id": "c",
        "client_secret": "s",
        "credentials_id": "i",
        "access_token": "t",
        "pcd_data_retention": bad,
    }
    assert errors_of(request_schema(spec, DELETE), body)


def test_seed_get_consent_example_validates(spec: dict[str, Any]) -> None:
    assert errors_of(response_schema(spec, GET, "200"), SEED_GET_CONSENT_200) == []


def test_seed_delete_consent_example_validates(spec: dict[str, Any]) -> None:
    assert errors_of(response_schema(spec, DELETE, "200"), SEED_DELETE_CONSENT_200) == []


def test_documented_token_example_validates(spec: dict[str, Any]) -> None:
    assert errors_of(response_schema(spec, TOKENS, "200"), DOCUMENTED_TOKEN_200) == []


@pytest.mark.parametrize("path", [TOKENS, GET, DELETE])
def test_seed_error_example_validates(spec: dict[str, Any], path: str) -> None:
    check = response_schema(spec, path, "400")
    assert errors_of(check, {**SEED_ERROR, "id": A_UUID}) == []
    # The placeholder itself is not a uuid: the schema really checks the format.
    assert errors_of(check, SEED_ERROR)


def test_seed_examples_are_the_spec_examples(spec: dict[str, Any]) -> None:
    def example(path: str, status: str, name: str) -> Any:
        media = spec["paths"][path]["post"]["responses"][status]["content"][JSON]
        return media["examples"][name]["value"]

    assert example(GET, "200", "seed") == SEED_GET_CONSENT_200
    assert example(DELETE, "200", "seed") == SEED_DELETE_CONSENT_200
    assert example(TOKENS, "200", "documented") == DOCUMENTED_TOKEN_200
    for path, name in ((GET, "seed"), (DELETE, "seed"), (TOKENS, "documented")):
        assert example(path, "400", name) == {**SEED_ERROR, "id": A_UUID}


def test_every_example_in_the_spec_validates(spec: dict[str, Any]) -> None:
    checked = 0
    for path in OPERATIONS.values():
        operation = spec["paths"][path]["post"]
        body = operation["requestBody"]["content"][JSON]
        for example in body["examples"].values():
            assert errors_of(request_schema(spec, path), example["value"]) == []
            checked += 1
        for status, response in operation["responses"].items():
            check = response_schema(spec, path, status)
            for name, example in response["content"][JSON]["examples"].items():
                assert errors_of(check, example["value"]) == [], (path, status, name)
                if status != "200":
                    assert example["value"]["http"] == int(status)
                checked += 1
    assert checked >= 15


def test_error_enums_hold_every_documented_code(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    error_types = {"invalid_request", "unauthorized", "external_api_error"}
    assert set(schemas["ErrorType"]["enum"]) == error_types
    assert set(schemas["InvalidRequestCode"]["enum"]) == INVALID_REQUEST_CODES
    assert set(schemas["UnauthorizedCode"]["enum"]) == UNAUTHORIZED_CODES
    assert set(schemas["ExternalApiErrorCode"]["enum"]) == EXTERNAL_API_CODES
    check = validator(spec, pointer("components", "schemas", "Error"))
    for code in INVALID_REQUEST_CODES | UNAUTHORIZED_CODES | EXTERNAL_API_CODES:
        assert errors_of(check, {**SEED_ERROR, "id": A_UUID, "code": code}) == []
    assert set(schemas["Error"]["required"]) == {"id", "type", "http", "code", "message"}


def test_status_and_envelope_enums(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["ConsentStatus"]["enum"] == ["ACTIVE", "DELETED", "EXPIRED"]
    assert set(schemas["OpType"]["enum"]) == {"read", "delete"}
    assert set(schemas["SuccessCode"]["enum"]) == {"credentials_info", "credentials_deleted"}
    check = response_schema(spec, GET, "200")
    for status in ("ACTIVE", "DELETED", "EXPIRED"):
        payload = copy.deepcopy(SEED_GET_CONSENT_200)
        payload["result"]["status"] = status
        assert errors_of(check, payload) == []


@pytest.mark.parametrize("status", ["REVOKED", "active", "Deleted", "", None, 1])
def test_a_wrong_status_fails(spec: dict[str, Any], status: Any) -> None:
    payload = copy.deepcopy(SEED_GET_CONSENT_200)
    payload["result"]["status"] = status
    assert errors_of(response_schema(spec, GET, "200"), payload)


def change(payload: dict[str, Any], where: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    target = changed
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    return changed


SPACE_SEPARATED = "2020-07-05 21:48:06"
WITH_OFFSET = "2020-11-03T11:22:54+00:00"
WITH_FRACTION = "2020-11-03T11:22:54.123Z"
UNAUTHORIZED = {**SEED_ERROR, "id": A_UUID, "type": "unauthorized", "http": 401}


@pytest.mark.parametrize(
    ("path", "status", "payload"),
    [
        (GET, "200", change(SEED_GET_CONSENT_200, ("op_type",), "delete")),
        (GET, "200", change(SEED_GET_CONSENT_200, ("code",), "credentials_deleted")),
        (GET, "200", change(SEED_GET_CONSENT_200, ("http",), 201)),
        (GET, "200", change(SEED_GET_CONSENT_200, ("result", "utc_created"), SPACE_SEPARATED)),
        (GET, "200", change(SEED_GET_CONSENT_200, ("result", "consent_exp"), WITH_OFFSET)),
        (GET, "200", change(SEED_GET_CONSENT_200, ("result", "consent_exp"), WITH_FRACTION)),
        (GET, "200", change(SEED_GET_CONSENT_200, ("result", "originator", "bank"), "x")),
        (GET, "200", {k: v for k, v in SEED_GET_CONSENT_200.items() if k != "result"}),
        (DELETE, "200", change(SEED_DELETE_CONSENT_200, ("op_type",), "read")),
        (DELETE, "200", change(SEED_DELETE_CONSENT_200, ("result", "max_data_retention"), "soon")),
        (TOKENS, "200", SEED_DELETE_CONSENT_200),
        (TOKENS, "200", change(DOCUMENTED_TOKEN_200, ("access_token",), None)),
        (GET, "400", {**SEED_ERROR, "id": A_UUID, "code": "no_such_code"}),
        (GET, "400", {**SEED_ERROR, "id": A_UUID, "type": "unauthorized"}),
        (GET, "400", {**SEED_ERROR, "id": A_UUID, "http": 401}),
        (GET, "400", {**SEED_ERROR, "id": A_UUID, "code": "invalid_temp_token"}),
        (GET, "401", {**SEED_ERROR, "id": A_UUID, "http": 401}),
        (GET, "401", {**UNAUTHORIZED, "code": "missing_fields"}),
        (GET, "401", {**UNAUTHORIZED, "code": "external_api_forbidden"}),
    ],
)
def test_wrong_payloads_fail(spec: dict[str, Any], path: str, status: str, payload: Any) -> None:
    assert errors_of(response_schema(spec, path, status), payload)


def test_links_chain_tokens_get_delete_get(spec: dict[str, Any]) -> None:
    expected = {
        ("createToken", "getConsent"),
        ("getConsent", "deleteConsent"),
        ("deleteConsent", "getConsent"),
    }
    found: set[tuple[str, str]] = set()
    for path in OPERATIONS.values():
        operation = spec["paths"][path]["post"]
        source_body = operation["requestBody"]["content"][JSON]["examples"]
        response = operation["responses"]["200"]
        response_example = next(iter(response["content"][JSON]["examples"].values()))["value"]
        for link in response.get("links", {}).values():
            target = spec["paths"][OPERATIONS[link["operationId"]]]["post"]
            target_schema = target["requestBody"]["content"][JSON]["schema"]["$ref"]
            target_fields = spec["components"]["schemas"][target_schema.rsplit("/", 1)[1]]
            body = link["requestBody"]
            assert set(target_fields["required"]) <= set(body) <= set(target_fields["properties"])
            for expression in body.values():
                source, _, json_pointer = expression.partition("#/")
                document = {
                    "$response.body": response_example,
                    "$request.body": next(iter(source_body.values()))["value"],
                }[source]
                value: Any = document
                for token in json_pointer.split("/"):
                    value = value[token]
                assert isinstance(value, str) and value
            found.add((operation["operationId"], link["operationId"]))
    assert expected <= found


def test_no_security_scheme_and_body_credentials_explained(spec: dict[str, Any]) -> None:
    assert spec.get("security") == []
    assert "securitySchemes" not in spec.get("components", {})
    description = spec["info"]["description"]
    assert "client_id" in description and "client_secret" in description
    assert "credentials_id" in description and "access_token" in description
