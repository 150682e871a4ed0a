"""The Fliqa bank page acts only with the bank key the tenant's own API answers carry (issue
18 point 9): a consent id alone, or another consent's key, opens and decides nothing."""

from __future__ import annotations

from flask.testing import FlaskClient
from test_fliqa import CONSENTS, _open_bank, add, app, auth, bank_link, create

from tests_helpers import json_of

__all__ = ["app"]  # the Fliqa app fixture

IBAN = "AT611904300234573201"


def received(client: FlaskClient, tenant: str) -> tuple[str, str]:
    """A consent of `tenant`, received through its own API: its id and bank page path."""
    h = auth(client, tenant)
    consent = create(client, h)
    shown = json_of(add(client, h, consent["consentId"], iban=IBAN))
    return consent["consentId"], bank_link(shown)


def status(client: FlaskClient, tenant: str, consent_id: str) -> str:
    found: str = json_of(client.get(f"{CONSENTS}/{consent_id}", headers=auth(client, tenant)))[
        "status"
    ]
    return found


def test_another_tenants_consent_is_not_moved_without_its_key(client: FlaskClient) -> None:
    theirs, _ = received(client, "tenant-b")
    mine, my_link = received(client, "tenant-a")
    my_key = my_link.rsplit("/", 1)[1]
    page = "/__sandbox/fliqa/bank"
    for url in (f"{page}/{theirs}", f"{page}/{theirs}/{my_key}", f"{page}/{theirs}/guess"):
        assert client.get(url).status_code == 403, url
    # the decision needs the key too, even with a journey opened on a page of one's own
    journey = _open_bank(client, my_link)
    for key in ("", my_key, "guess"):
        forged = client.post(
            f"{page}/{theirs}/{key}/decision".replace("//", "/"),
            data={"journey": journey, "decision": "approve"},
        )
        assert forged.status_code in (403, 404, 405), key
    assert status(client, "tenant-b", theirs) == "received"
    done = client.post(f"{my_link}/decision", data={"journey": journey, "decision": "approve"})
    assert done.status_code == 200 and status(client, "tenant-a", mine) == "valid"


def test_a_new_journey_gets_a_new_key(client: FlaskClient) -> None:
    _, first = received(client, "tenant-a")
    _, second = received(client, "tenant-a")
    assert first.rsplit("/", 1)[1] != second.rsplit("/", 1)[1]
    assert len(first.rsplit("/", 1)[1]) >= 32
