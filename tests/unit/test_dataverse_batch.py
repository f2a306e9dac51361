"""The $batch body we send, read back by a multipart parser nobody here wrote (the email
package), and the response shape of Microsoft's documentation parsed by ours."""

import email
import email.policy
import json

from d365xero.dataverse import batch

DOC_RESPONSE = (
    "--batchresponse_3cace264\r\n"
    "Content-Type: multipart/mixed; boundary=changesetresponse_1a5d\r\n"
    "\r\n"
    "--changesetresponse_1a5d\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "Content-ID: 1\r\n"
    "\r\n"
    "HTTP/1.1 204 No Content\r\n"
    "OData-Version: 4.0\r\n"
    "OData-EntityId: https://org/api/data/v9.2/contacts(495195a4-7a75-e911-a97a-000d3a34a1bd)\r\n"
    "\r\n"
    "\r\n"
    "--changesetresponse_1a5d--\r\n"
    "--batchresponse_3cace264\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: application/json; odata.metadata=minimal\r\n"
    "\r\n"
    '{"error":{"code":"0x80040217","message":"Not there"}}\r\n'
    "--batchresponse_3cace264--\r\n"
)


def test_request_is_multipart_with_crlf_and_one_changeset_per_group() -> None:
    ops = [
        [
            batch.Operation("PATCH", "dxc_synchistories(1)", {"dxc_name": "Sync"}),
            batch.Operation("PATCH", "invoicedetails(2)", {"tax": 1.5}, (("If-Match", "*"),)),
        ],
        [batch.Operation("POST", "accounts", {"name": "x"})],
    ]
    content_type, body = batch.encode("https://org/api/data/v9.2", ops)
    assert b"\n" not in body.replace(b"\r\n", b"")
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=email.policy.HTTP
    )
    changesets = list(message.iter_parts())
    assert [len(list(cs.iter_parts())) for cs in changesets] == [2, 1]
    first = next(changesets[0].iter_parts()).get_payload()
    assert first.startswith("PATCH https://org/api/data/v9.2/dxc_synchistories(1) HTTP/1.1")
    assert json.loads(first.split("\r\n\r\n", 1)[1]) == {"dxc_name": "Sync"}
    second = list(changesets[0].iter_parts())[1].get_payload()
    assert "\r\nIf-Match: *\r\n" in second


def test_response_parts_are_flattened_in_order() -> None:
    results = batch.decode(
        "multipart/mixed; boundary=batchresponse_3cace264", DOC_RESPONSE.encode()
    )
    assert [r.status for r in results] == [204, 400]
    assert results[0].headers["odata-entityid"].endswith("a1bd)")
    assert results[1].body == {"error": {"code": "0x80040217", "message": "Not there"}}


def test_a_query_goes_outside_any_change_set() -> None:
    """Dataverse refuses a GET inside a change set; a query is a part of the batch itself."""
    ops = [
        [batch.Operation("GET", "dxc_xerodetails?$filter=dxc_xeroinvoiceid eq 'a'")],
        [batch.Operation("PATCH", "invoices(1)", {"dxc_amountdue": 1.0})],
    ]
    content_type, body = batch.encode("https://org/api/data/v9.2", ops)
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=email.policy.HTTP
    )
    query, changeset = message.iter_parts()
    assert query.get_content_type() == "application/http"
    assert query.get_payload().startswith(
        "GET https://org/api/data/v9.2/dxc_xerodetails?$filter=dxc_xeroinvoiceid eq 'a' HTTP/1.1"
    )
    assert changeset.get_content_type() == "multipart/mixed"
