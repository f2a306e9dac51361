"""$batch as Dataverse does it (PAD:webapi/execute-batch-operations-using-web-api.md)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from tests.emulators.conftest import DataverseClient

from d365xero.emulators.dataverse.sample import sample_id

CRLF = "\r\n"
BASE = "http://testserver/api/data/v9.2/"


def _request(
    method: str, url: str, body: dict[str, Any] | None = None, content_id: int | None = None
) -> str:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        head.append(f"Content-ID: {content_id}")
    lines = [f"{method} {url} HTTP/1.1"]
    if body is not None:
        lines.append("Content-Type: application/json; type=entry")
    text = CRLF.join(head) + CRLF + CRLF + CRLF.join(lines) + CRLF + CRLF
    if body is not None:
        text += json.dumps(body) + CRLF
    return text


def _changeset(boundary: str, *parts: str) -> str:
    inner = "".join(f"--{boundary}{CRLF}{p}" for p in parts) + f"--{boundary}--{CRLF}"
    return f"Content-Type: multipart/mixed; boundary={boundary}{CRLF}{CRLF}{inner}"


def _batch(*parts: str) -> str:
    return "".join(f"--batch_AAA123{CRLF}{p}" for p in parts) + f"--batch_AAA123--{CRLF}"


def _send(dv: DataverseClient, body: str, prefer: str | None = None) -> Any:
    headers = {"Content-Type": "multipart/mixed; boundary=batch_AAA123"}
    if prefer:
        headers["Prefer"] = prefer
    return dv.post("$batch", content=body.encode(), headers=headers)


def _statuses(response: Any) -> list[int]:
    return [int(s) for s in re.findall(r"HTTP/1\.1 (\d{3})", response.text)]


def test_changeset_with_content_id_references(dv: DataverseClient) -> None:
    body = _batch(
        _changeset(
            "changeset_BBB456",
            _request("POST", f"{BASE}contacts", {"firstname": "Contact first name"}, 1),
            _request(
                "POST",
                f"{BASE}accounts",
                {"name": "Account name", "primarycontactid@odata.bind": "$1"},
                2,
            ),
            _request("PATCH", "$1", {"lastname": "Patched"}, 3),
        )
    )
    response = _send(dv, body)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    assert "changesetresponse_" in response.text
    assert _statuses(response) == [204, 204, 204]
    assert re.findall(r"Content-ID: (\d)", response.text) == ["1", "2", "3"]
    contact_id = re.search(r"OData-EntityId: \S+contacts\((\S+)\)", response.text).group(1)  # type: ignore[union-attr]
    account = dv.get(
        "accounts?$filter=name eq 'Account name'&$select=_primarycontactid_value"
    ).json()
    assert account["value"][0]["_primarycontactid_value"] == contact_id
    assert dv.get(f"contacts({contact_id})").json()["fullname"] == "Contact first name Patched"


def test_a_failed_changeset_rolls_back_and_stops_the_batch(dv: DataverseClient) -> None:
    body = _batch(
        _changeset(
            "changeset_1",
            _request("POST", "accounts", {"name": "Kept?"}, 1),
            _request("POST", "accounts", {"nmae": "typo"}, 2),
        ),
        _request("POST", "accounts", {"name": "After the failure"}),
    )
    response = _send(dv, body)
    assert response.status_code == 400
    assert _statuses(response) == [400]
    assert "0x80048d19" in response.text
    names = [a["name"] for a in dv.get("accounts?$select=name").json()["value"]]
    assert "Kept?" not in names and "After the failure" not in names


def test_continue_on_error_runs_every_part(dv: DataverseClient) -> None:
    body = _batch(
        _request("GET", f"accounts({'00000000-0000-0000-0000-000000000001'})"),
        _request("POST", "accounts", {"name": "Still created"}),
        _request("GET", f"accounts({sample_id('account', 'Fourth Coffee (sample)')})?$select=name"),
    )
    response = _send(dv, body, prefer="odata.continue-on-error")
    assert response.status_code == 200
    assert _statuses(response) == [404, 204, 200]
    assert '"name": "Fourth Coffee (sample)"' in response.text
    assert "application/json; odata.metadata=minimal; odata.streaming=true" in response.text
    assert dv.get("accounts?$filter=name eq 'Still created'").json()["value"]


def test_forward_or_unknown_content_id_is_400(dv: DataverseClient) -> None:
    body = _batch(
        _changeset(
            "changeset_2",
            _request("POST", "accounts", {"name": "x", "primarycontactid@odata.bind": "$9"}, 1),
        )
    )
    response = _send(dv, body)
    assert response.status_code == 400
    assert "Content-ID Reference: '$9' does not exist in the batch context." in response.text


def test_malformed_batches_are_400(dv: DataverseClient) -> None:
    lf_only = _batch(_request("POST", "accounts", {"name": "x"})).replace(CRLF, "\n")
    assert _send(dv, lf_only).status_code == 400
    get_in_changeset = _batch(_changeset("cs", _request("GET", "accounts")))
    assert _send(dv, get_in_changeset).status_code == 400
    too_many = _batch(*[_request("GET", "WhoAmI")] * 1001)
    response = _send(dv, too_many)
    assert response.status_code == 400 and "1000" in response.json()["error"]["message"]
    no_boundary = dv.post("$batch", content=b"x", headers={"Content-Type": "application/json"})
    assert no_boundary.status_code == 400
    garbage = _send(dv, "--batch_AAA123\r\nnot a part\r\n--batch_AAA123--\r\n")
    assert garbage.status_code == 400


def test_a_thousand_requests_are_allowed(dv: DataverseClient) -> None:
    parts = [_request("POST", "dxc_taxtypes", {"dxc_name": f"Rate {n}"}) for n in range(1000)]
    response = _send(dv, _batch(_changeset("cs", *parts)))
    assert response.status_code == 200
    assert dv.get("dxc_taxtypes/$count").text == "1000"


def test_a_long_query_fits_in_a_batch(dv: DataverseClient) -> None:
    names = (
        " or ".join(f"name eq 'Company {n:05d}'" for n in range(1500))
        + " or name eq 'Fourth Coffee (sample)'"
    )
    url = f"accounts?$select=name&$filter={quote(names)}"
    assert 32_768 < len(BASE + url) < 65_536
    response = _send(dv, _batch(_request("GET", url)))
    assert response.status_code == 200
    assert _statuses(response) == [200]
    assert re.findall(r'"name": "([^"]+)"', response.text) == ["Fourth Coffee (sample)"]
