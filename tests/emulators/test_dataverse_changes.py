"""Change tracking (PAD:use-change-tracking-synchronize-data-external-systems.md)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.emulators.conftest import DataverseClient
from tests.support.dataverse_fixtures import DataverseHarness

from d365xero.emulators.dataverse.sample import sample_id

TRACK = {"Prefer": "odata.track-changes"}


def _follow(dv: DataverseClient, link: str, **kw: Any) -> Any:
    return dv.get(link.split("/api/data/v9.2/")[1], **kw)


def test_initial_sync_then_delta_of_changes_and_deletes(dv: DataverseClient) -> None:
    first = dv.get("accounts?$select=name,telephone1", headers=TRACK)
    assert first.status_code == 200
    assert first.headers["Preference-Applied"] == "odata.track-changes"
    body = first.json()
    assert len(body["value"]) == 10
    link = body["@odata.deltaLink"]
    assert "$deltatoken=" in link and "$select=name,telephone1" in link

    fourth = sample_id("account", "Fourth Coffee (sample)")
    litware = sample_id("account", "Litware, Inc. (sample)")
    dv.patch(f"accounts({fourth})", json={"telephone1": "0207 946 0000"})
    new = dv.create("accounts", {"name": "New since"})
    dv.delete(f"accounts({litware})")

    delta = _follow(dv, link).json()
    assert delta["@odata.context"].endswith("$metadata#accounts(name,telephone1)/$delta")
    changed = [r for r in delta["value"] if "@odata.etag" in r]
    deleted = [r for r in delta["value"] if r.get("reason") == "deleted"]
    assert [r["accountid"] for r in changed] == [fourth, new]
    assert changed[0]["telephone1"] == "0207 946 0000"
    assert deleted == [
        {
            "@odata.context": "http://testserver/api/data/v9.2/$metadata#accounts/$deletedEntity",
            "id": litware,
            "reason": "deleted",
        }
    ]
    # Changes come before deletions, and the new link starts from here.
    assert delta["value"].index(deleted[0]) == len(delta["value"]) - 1
    assert _follow(dv, delta["@odata.deltaLink"]).json()["value"] == []


def test_track_changes_refuses_filter_orderby_expand_top(dv: DataverseClient) -> None:
    for query in ("$filter=name eq 'x'", "$orderby=name", "$expand=primarycontactid", "$top=2"):
        response = dv.get(f"accounts?$select=name&{query}", headers=TRACK)
        assert response.status_code == 400
        option = query.split("=")[0]
        assert response.json()["error"]["message"] == (
            f'The "{option}" query parameter isn\'t supported when Change Tracking is enabled.'
        )


def test_initial_sync_is_paged_and_the_delta_link_comes_last(dv: DataverseClient) -> None:
    headers = {"Prefer": "odata.track-changes,odata.maxpagesize=4"}
    response = dv.get("contacts?$select=fullname", headers=headers)
    ids: list[str] = []
    while True:
        body = response.json()
        ids += [r["contactid"] for r in body["value"]]
        if "@odata.nextLink" in body:
            assert "@odata.deltaLink" not in body
            response = _follow(dv, body["@odata.nextLink"], headers=headers)
            continue
        break
    assert len(ids) == len(set(ids)) == 10
    assert _follow(dv, body["@odata.deltaLink"]).json()["value"] == []


def test_delta_tokens_expire_after_seven_days(
    dataverse_app: DataverseHarness, dv: DataverseClient
) -> None:
    link = dv.get("accounts?$select=name", headers=TRACK).json()["@odata.deltaLink"]
    dataverse_app.org.clock.advance(8 * 24 * 3600)
    dv.headers = dataverse_app.headers()  # a fresh token: the old one expired too
    response = _follow(dv, link)
    assert response.status_code == 400
    assert "expired" in response.json()["error"]["message"]


@pytest.mark.parametrize("token", ["garbage", "12!13/45/2020 00:00:00"])
def test_bad_delta_tokens_are_400(dv: DataverseClient, token: str) -> None:
    assert dv.get("accounts", params={"$select": "name", "$deltatoken": token}).status_code == 400


def test_invoice_cancel_reactivate_and_delete_reach_the_delta_link(dv: DataverseClient) -> None:
    """What the connector reads: a Canceled invoice (statecode 3, statuscode 100003) is a
    changed row, read-only until reactivated with statecode 0; a deleted invoice and its lines
    are $deletedEntity rows of their sets."""
    invoices = dv.get("invoices?$select=name,statecode,statuscode", headers=TRACK).json()
    lines = dv.get("invoicedetails?$select=quantity", headers=TRACK).json()
    office = sample_id("invoice", "Office licences (sample)")
    training = sample_id("invoice", "Training invoice (sample)")
    training_line = sample_id("invoicedetail", "Training invoice (sample):0")

    cancel = dv.patch(f"invoices({office})", json={"statecode": 3, "statuscode": 100003})
    assert cancel.status_code == 204, cancel.text
    assert dv.patch(f"invoices({office})", json={"name": "edited"}).status_code == 400
    delta = _follow(dv, invoices["@odata.deltaLink"]).json()
    assert [(r["invoiceid"], r["statecode"], r["statuscode"]) for r in delta["value"]] == [
        (office, 3, 100003)
    ]

    assert dv.patch(f"invoices({office})", json={"statecode": 0}).status_code == 204
    assert dv.patch(f"invoices({office})", json={"name": "edited"}).status_code == 204
    again = _follow(dv, delta["@odata.deltaLink"]).json()
    assert [(r["statecode"], r["statuscode"], r["name"]) for r in again["value"]] == [
        (0, 1, "edited")
    ]

    assert dv.delete(f"invoices({training})").status_code == 204
    gone = _follow(dv, again["@odata.deltaLink"]).json()["value"]
    assert gone == [
        {
            "@odata.context": "http://testserver/api/data/v9.2/$metadata#invoices/$deletedEntity",
            "id": training,
            "reason": "deleted",
        }
    ]
    gone_lines = _follow(dv, lines["@odata.deltaLink"]).json()["value"]
    assert {r["id"] for r in gone_lines if r.get("reason") == "deleted"} == {training_line}
