"""Checks of the hand-written Atto spec, specs/atto.yaml.

The seed payloads below are transcribed from ../shared/seeds/atto.txt exactly as the seed shows
them (the list example's elided `permissions: [ … ]` is written as the get example's
`["string"]`).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "specs" / "atto.yaml"
ASSUMPTIONS_PATH = ROOT / "docs" / "assumptions" / "atto.md"
SPEC_URI = "urn:consent-mockserver:specs:atto"

# --- Seed payloads (../shared/seeds/atto.txt) -------------------------------------------------

SEED_CONSENT: dict[str, Any] = {
    "consentId": "e521cf62-a45f-49c5-8372-94853fffeb55",
    "applicationId": "97ab27fa-30e2-43e3-92a3-160e80f4c0d5",
    "userId": "2c4a230c-5085-4924-a3e1-25fb4fc5965b",
    "providerId": 0,
    "providerName": "string",
    "configurationName": "string",
    "customerReference": "string",
    "consentDurationType": "Single",
    "consentStatus": "Pending",
    "consentStart": "2019-08-24T14:15:22Z",
    "consentEnd": "2019-08-24T14:15:22Z",
    "duration": "string",
    "daysOfHistoricalTransactions": 0,
    "statusUpdated": "2019-08-24T14:15:22Z",
    "statusDetails": "string",
    "permissions": ["string"],
    "invitationId": "string",
    "journeyType": "Reauthentication",
}

SEED_CONSENT_LIST: list[dict[str, Any]] = [
    {
        "consentId": "e521cf62-a45f-49c5-8372-94853fffeb55",
        "applicationId": "97ab27fa-30e2-43e3-92a3-160e80f4c0d5",
        "userId": "2c4a230c-5085-4924-a3e1-25fb4fc5965b",
        "providerId": 0,
        "providerName": "string",
        "configurationName": "string",
        "customerReference": "string",
        "consentDurationType": "Single",
        "consentStatus": "Pending",
        "consentStart": "2019-08-24T14:15:22Z",
        "consentEnd": "2019-08-24T14:15:22Z",
        "duration": "string",
        "daysOfHistoricalTransactions": 0,
        "statusUpdated": "2019-08-24T14:15:22Z",
        "statusDetails": "string",
        "permissions": ["string"],
        "invitationId": "string",
        "journeyType": "Reauthentication",
    }
]

# Nullable Consent fields per FACTS.md §4.2 (and journeyType: null = initial journey).
NULLABLE_FIELDS = [
    "providerName",
    "configurationName",
    "customerReference",
    "consentStart",
    "consentEnd",
    "duration",
    "daysOfHistoricalTransactions",
    "statusDetails",
    "permissions",
    "invitationId",
    "journeyType",
]
NON_NULLABLE_FIELDS = sorted(set(SEED_CONSENT) - set(NULLABLE_FIELDS))

# FACTS.md §4.4, by HTTP status.
ERROR_CODES: dict[int, set[str]] = {
    400: {"application_invalid", "parameters_invalid", "template_invalid"},
    401: {"unauthorised_client"},
    403: {
        "account_refresh_not_allowed",
        "consent_denied",
        "consent_expired",
        "consent_revoked",
        "sca_error",
    },
    404: {
        "account_not_found",
        "client_not_found",
        "configuration_not_found",
        "consent_not_found",
        "invitation_not_found",
    },
    422: {"provider_unsupported_feature"},
    # Simulator choice (not in FACTS §4.4): 5xx answers carry Atto Connect's unexpected_error.
    500: {"unexpected_error"},
}

OPERATIONS: dict[tuple[str, str], str] = {
    ("get", "/consents/v1"): "listConsents",
    ("get", "/consents/v1/{consentId}"): "getConsent",
    ("get", "/consents/v2"): "listConsentsV2",
    ("post", "/consents/v1/{consentId}/revoke"): "revokeConsent",
    ("post", "/v1/oauth2/token"): "createToken",
}

EXPECTED_STATUSES: dict[str, set[str]] = {
    "listConsents": {"200", "400", "401"},
    "listConsentsV2": {"200", "400", "401"},
    "getConsent": {"200", "400", "401", "404"},
    "revokeConsent": {"204", "400", "401", "403", "404"},
    "createToken": {"200", "400", "401"},
}

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

# --- Helpers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def registry(spec: dict[str, Any]) -> Registry:
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    return Registry().with_resources([(SPEC_URI, resource)])


def validator_for(schema: dict[str, Any], registry: Registry) -> Draft202012Validator:
    """A validator for a schema of the spec whose local `#/...` refs resolve in the spec."""
    return Draft202012Validator(
        _rebase(schema),
        registry=registry,
        format_checker=FormatChecker(),
    )


def _rebase(node: Any) -> Any:
    """Copy of a schema with every local ref `#/...` rewritten to point into the spec."""
    if isinstance(node, dict):
        return {
            key: (
                SPEC_URI + value
                if key == "$ref" and isinstance(value, str) and value.startswith("#/")
                else _rebase(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    return node


def component_validator(name: str, registry: Registry) -> Draft202012Validator:
    return validator_for({"$ref": f"#/components/schemas/{name}"}, registry)


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow a local `$ref` (one level, repeatedly) inside the spec."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert isinstance(ref, str) and ref.startswith("#/"), ref
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def operations(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                found[operation["operationId"]] = (method, path, operation)
    return found


def is_valid(validator: Draft202012Validator, instance: Any) -> bool:
    return not list(validator.iter_errors(instance))


# --- (a) the document --------------------------------------------------------------------------


def test_spec_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_info_and_servers(spec: dict[str, Any]) -> None:
    for key in ("title", "version", "description"):
        assert spec["info"][key]
    assert "seeds/atto.txt" in spec["info"]["description"]
    assert "FACTS.md" in spec["info"]["description"]
    assert [server["url"] for server in spec["servers"]] == [
        "https://uk.api.atto.co",
        "https://us.api.atto.co",
    ]


def test_operations_and_ids(spec: dict[str, Any]) -> None:
    found = {(method, path): op_id for op_id, (method, path, _) in operations(spec).items()}
    assert found == OPERATIONS
    for _, _, operation in operations(spec).values():
        assert re.fullmatch(r"[a-z][A-Za-z0-9]*", operation["operationId"])
        assert operation["summary"]
        assert operation["description"]
        assert operation["tags"]


def test_refs_are_local(spec: dict[str, Any]) -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None:
                assert isinstance(ref, str) and ref.startswith("#/components/"), ref
                resolve(spec, node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)


def test_status_codes_per_operation(spec: dict[str, Any]) -> None:
    for op_id, (_, _, operation) in operations(spec).items():
        assert set(operation["responses"]) == EXPECTED_STATUSES[op_id], op_id
        for status, response in operation["responses"].items():
            response = resolve(spec, response)
            if status == "204":
                assert "content" not in response
                continue
            assert list(response["content"]) == ["application/json"], (op_id, status)
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (op_id, status)


def test_security(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        **spec["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    for op_id, (_, _, operation) in operations(spec).items():
        if op_id == "createToken":
            assert operation["security"] == []
        else:
            assert operation.get("security", spec["security"]) == [{"bearerAuth": []}]


def _params(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resolved = [resolve(spec, param) for param in operation.get("parameters", [])]
    return {param["name"]: param for param in resolved}


def test_list_query_parameters(spec: dict[str, Any]) -> None:
    ops = operations(spec)
    v1 = _params(spec, ops["listConsents"][2])
    v2 = _params(spec, ops["listConsentsV2"][2])
    names = [
        "consentStatus",
        "configurationName",
        "providerId",
        "customerReference",
        "userId",
        "from",
        "to",
        "offset",
        "limit",
    ]
    assert list(v1) == names
    assert list(v2) == [*names, "dataSourceType"]
    for param in v2.values():
        assert param["in"] == "query"
        assert param.get("required", False) is False
    assert resolve(spec, v1["consentStatus"]["schema"])["enum"] == [
        "Pending",
        "Active",
        "Revoked",
        "Abandoned",
        "Failed",
        "Expired",
    ]
    assert v1["providerId"]["schema"] == {"type": "integer", "format": "int32"}
    assert v1["userId"]["schema"] == {"type": "string"}
    for bound in ("from", "to"):
        assert v1[bound]["schema"] == {"type": "string", "format": "date-time"}
    for paging in ("offset", "limit"):
        assert v1[paging]["schema"] == {
            "type": "integer",
            "format": "int32",
            "minimum": 0,
            "default": 0,
        }
    assert v2["dataSourceType"]["schema"]["enum"] == ["OpenBanking", "CreditInformation"]


def test_consent_id_path_parameter(spec: dict[str, Any]) -> None:
    ops = operations(spec)
    for op_id in ("getConsent", "revokeConsent"):
        param = _params(spec, ops[op_id][2])["consentId"]
        assert param["in"] == "path"
        assert param["required"] is True
        assert param["schema"] == {"type": "string", "format": "uuid"}


def test_list_responses_are_bare_arrays(spec: dict[str, Any]) -> None:
    ops = operations(spec)
    for op_id in ("listConsents", "listConsentsV2"):
        media = ops[op_id][2]["responses"]["200"]["content"]["application/json"]
        schema = resolve(spec, media["schema"])
        assert schema["type"] == "array"
        assert schema["items"] == {"$ref": "#/components/schemas/Consent"}


def test_revoke_has_no_body(spec: dict[str, Any]) -> None:
    assert "requestBody" not in operations(spec)["revokeConsent"][2]


def test_token_request_body(spec: dict[str, Any]) -> None:
    body = operations(spec)["createToken"][2]["requestBody"]
    assert body["required"] is True
    assert list(body["content"]) == ["application/x-www-form-urlencoded"]
    schema = resolve(spec, body["content"]["application/x-www-form-urlencoded"]["schema"])
    assert set(schema["required"]) == {"grant_type", "client_id", "client_secret", "scope"}
    assert schema["properties"]["grant_type"]["enum"] == ["client_credentials"]
    token = spec["components"]["schemas"]["Token"]
    assert set(token["required"]) == {"tokenType", "expiresIn", "accessToken"}
    assert token["properties"]["expiresIn"] == {
        **token["properties"]["expiresIn"],
        "type": "integer",
        "format": "int64",
    }


@pytest.mark.parametrize(
    ("scope", "valid"),
    [
        ("api:consent", True),
        ("api:data api:consent", True),
        ("api:consent api:stored_data api:cis", True),
        ("api:data", False),
        ("api:consents", False),
        ("api:consent ", False),
        ("", False),
    ],
)
def test_token_scope_pattern(scope: str, valid: bool, registry: Registry) -> None:
    request = {
        "grant_type": "client_credentials",
        "client_id": "client",
        "client_secret": "secret",
        "scope": scope,
    }
    assert is_valid(component_validator("TokenRequest", registry), request) is valid


def test_links(spec: dict[str, Any]) -> None:
    ops = operations(spec)
    expected = {
        ("listConsents", "200"): ("getConsent", "$response.body#/0/consentId"),
        ("listConsentsV2", "200"): ("getConsent", "$response.body#/0/consentId"),
        ("getConsent", "200"): ("revokeConsent", "$response.body#/consentId"),
        ("revokeConsent", "204"): ("getConsent", "$request.path.consentId"),
    }
    for (op_id, status), (target, expression) in expected.items():
        links = ops[op_id][2]["responses"][status]["links"]
        assert [(link["operationId"], link["parameters"]) for link in links.values()] == [
            (target, {"consentId": expression})
        ]
    for _, _, operation in ops.values():
        for response in operation["responses"].values():
            for link in resolve(spec, response).get("links", {}).values():
                assert link["operationId"] in ops


# --- (b) the seed payloads and every example validate -------------------------------------------


def test_consent_schema_fields_match_seed(spec: dict[str, Any]) -> None:
    consent = spec["components"]["schemas"]["Consent"]
    assert list(consent["properties"]) == list(SEED_CONSENT)
    properties = consent["properties"]
    for field in NULLABLE_FIELDS:
        assert "null" in properties[field]["type"], field
    for field in NON_NULLABLE_FIELDS:
        field_schema = resolve(spec, properties[field])
        assert "null" not in field_schema["type"], field
    assert properties["consentDurationType"]["enum"] == ["Single", "Limited", "Infinite"]
    assert properties["journeyType"]["enum"] == ["Reauthentication", "Reconfirmation", None]
    for uuid_field in ("consentId", "applicationId", "userId"):
        assert properties[uuid_field]["format"] == "uuid"


def test_seed_consent_validates(registry: Registry) -> None:
    component_validator("Consent", registry).validate(SEED_CONSENT)


def test_seed_consent_list_validates(registry: Registry) -> None:
    component_validator("ConsentList", registry).validate(SEED_CONSENT_LIST)


def test_seed_payloads_are_the_spec_examples(spec: dict[str, Any]) -> None:
    examples = spec["components"]["examples"]
    assert examples["ConsentSeed"]["value"] == SEED_CONSENT
    assert examples["ConsentListSeed"]["value"] == SEED_CONSENT_LIST
    assert spec["components"]["schemas"]["Consent"]["examples"] == [SEED_CONSENT]


def test_every_spec_example_validates(spec: dict[str, Any], registry: Registry) -> None:
    checked = 0
    for op_id, (_, _, operation) in operations(spec).items():
        media_types: list[tuple[str, dict[str, Any]]] = []
        body = operation.get("requestBody")
        if body is not None:
            media_types += [("request", media) for media in resolve(spec, body)["content"].values()]
        for status, response in operation["responses"].items():
            content = resolve(spec, response).get("content", {})
            media_types += [(status, media) for media in content.values()]
        for where, media in media_types:
            validator = validator_for(media["schema"], registry)
            for name, example in media.get("examples", {}).items():
                validator.validate(resolve(spec, example)["value"])
                checked += 1
                if where in {"400", "401", "403", "404"}:
                    code = resolve(spec, example)["value"]["code"]
                    assert code in ERROR_CODES[int(where)], (op_id, where, name)
    assert checked >= 12


def test_nulls_accepted_where_nullable(registry: Registry) -> None:
    consent = dict(SEED_CONSENT, **dict.fromkeys(NULLABLE_FIELDS))
    component_validator("Consent", registry).validate(consent)


@pytest.mark.parametrize(
    "status", ["Pending", "Active", "Revoked", "Abandoned", "Failed", "Expired"]
)
def test_every_status_accepted(status: str, registry: Registry) -> None:
    component_validator("Consent", registry).validate(dict(SEED_CONSENT, consentStatus=status))


def test_error_codes(spec: dict[str, Any], registry: Registry) -> None:
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"code", "description", "details", "correlationId"}
    assert set(error["properties"]["code"]["enum"]) == set().union(*ERROR_CODES.values())
    validator = component_validator("Error", registry)
    for code in error["properties"]["code"]["enum"]:
        validator.validate(
            {
                "code": code,
                "description": "d",
                "details": None,
                "correlationId": "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b",
            }
        )


# --- (c) negative cases --------------------------------------------------------------------------


def _consent_with(**changes: Any) -> dict[str, Any]:
    consent = copy.deepcopy(SEED_CONSENT)
    consent.update(changes)
    return consent


@pytest.mark.parametrize(
    "consent",
    [
        pytest.param(_consent_with(consentStatus="Cancelled"), id="wrong-consentStatus"),
        pytest.param(_consent_with(consentStatus="active"), id="lowercase-consentStatus"),
        pytest.param(_consent_with(consentStatus=None), id="null-consentStatus"),
        pytest.param(_consent_with(consentDurationType="Forever"), id="wrong-durationType"),
        pytest.param(_consent_with(journeyType="Initial"), id="wrong-journeyType"),
        pytest.param(_consent_with(consentId="not-a-uuid"), id="consentId-not-uuid"),
        pytest.param(_consent_with(userId=None), id="null-userId"),
        pytest.param(_consent_with(providerId="0"), id="providerId-string"),
        pytest.param(_consent_with(statusUpdated=None), id="null-statusUpdated"),
        pytest.param(_consent_with(statusUpdated="yesterday"), id="statusUpdated-not-date-time"),
        pytest.param(_consent_with(consentEnd="2019-08-24"), id="consentEnd-date-only"),
        pytest.param(_consent_with(permissions=[1]), id="permissions-not-strings"),
        pytest.param(_consent_with(daysOfHistoricalTransactions=1.5), id="days-not-integer"),
        pytest.param(_consent_with(dataSourceType="OpenBanking"), id="unknown-field"),
    ],
)
def test_invalid_consent_rejected(consent: dict[str, Any], registry: Registry) -> None:
    with pytest.raises(jsonschema.ValidationError):
        component_validator("Consent", registry).validate(consent)


@pytest.mark.parametrize("field", NULLABLE_FIELDS + NON_NULLABLE_FIELDS)
def test_missing_field_rejected(field: str, registry: Registry) -> None:
    consent = copy.deepcopy(SEED_CONSENT)
    del consent[field]
    with pytest.raises(jsonschema.ValidationError):
        component_validator("Consent", registry).validate(consent)


def test_wrong_status_in_list_rejected(registry: Registry) -> None:
    consents = copy.deepcopy(SEED_CONSENT_LIST)
    consents[0]["consentStatus"] = "Deleted"
    with pytest.raises(jsonschema.ValidationError):
        component_validator("ConsentList", registry).validate(consents)


def test_enveloped_list_rejected(registry: Registry) -> None:
    with pytest.raises(jsonschema.ValidationError):
        component_validator("ConsentList", registry).validate({"data": SEED_CONSENT_LIST})


@pytest.mark.parametrize(
    "error",
    [
        pytest.param({"code": "not_a_code"}, id="unknown-code"),
        pytest.param({"correlationId": "abc"}, id="correlationId-not-uuid"),
        pytest.param({"Code": "consent_not_found"}, id="pascal-case-field"),
    ],
)
def test_invalid_error_rejected(error: dict[str, Any], registry: Registry) -> None:
    body = {
        "code": "consent_not_found",
        "description": "The consent was not found.",
        "details": None,
        "correlationId": "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b",
    }
    body.update(error)
    with pytest.raises(jsonschema.ValidationError):
        component_validator("Error", registry).validate(body)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param({"tokenType": "Bearer", "expiresIn": "3600", "accessToken": "t"}, id="str"),
        pytest.param({"token_type": "Bearer", "expires_in": 3600, "access_token": "t"}, id="snake"),
        pytest.param({"tokenType": "Bearer", "accessToken": "t"}, id="missing-expiresIn"),
    ],
)
def test_invalid_token_rejected(token: dict[str, Any], registry: Registry) -> None:
    with pytest.raises(jsonschema.ValidationError):
        component_validator("Token", registry).validate(token)


def test_wrong_grant_type_rejected(registry: Registry) -> None:
    request = {
        "grant_type": "authorization_code",
        "client_id": "client",
        "client_secret": "secret",
        "scope": "api:consent",
    }
    with pytest.raises(jsonschema.ValidationError):
        component_validator("TokenRequest", registry).validate(request)


# --- assumptions -------------------------------------------------------------------------------


def test_every_choice_has_an_assumption_line(spec: dict[str, Any]) -> None:
    text = SPEC_PATH.read_text(encoding="utf-8")
    choices = text.count("Simulator choice:")
    assert choices > 0
    bullets = [
        line
        for line in ASSUMPTIONS_PATH.read_text(encoding="utf-8").splitlines()
        if line.startswith("- ")
    ]
    assert len(bullets) >= choices
