"""Bad input never makes the Dataverse emulator fail with a 500: random query options, paths,
bodies and batches get a 4xx with Dataverse's error shape (or succeed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from tests.support.dataverse_fixtures import DataverseHarness

from d365xero.emulators.dataverse.app import create_app

API = "/api/data/v9.2/"
WORDS = [
    "name",
    "Name",
    "accountid",
    "_primarycontactid_value",
    "primarycontactid",
    "contact_customer_accounts",
    "eq",
    "ne",
    "gt",
    "and",
    "or",
    "not",
    "null",
    "true",
    "(",
    ")",
    "'x'",
    "'O''Bryan'",
    "1",
    "-2.5",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "00000000-0000-0000-0000-000000000001",
    "contains(",
    ",",
    "startswith(name,'A')",
    "/",
    "any(c:c/firstname eq 'a')",
    "@p1",
    "$",
    ";",
    "=",
    "[",
    "]",
    "Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['a'])",
    " ",
]
OPTIONS = [
    "$filter",
    "$select",
    "$orderby",
    "$top",
    "$expand",
    "$count",
    "$skiptoken",
    "$deltatoken",
]
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

text = st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join)
json_values: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def harness() -> Iterator[tuple[TestClient, dict[str, str]]]:
    harness = DataverseHarness(create_app())
    harness.org.seed()
    yield harness.client(), harness.headers()
    harness.close()


def _check(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        assert set(response.json()["error"]) == {"code", "message"}


@SETTINGS
@given(
    option=st.sampled_from(OPTIONS),
    value=text,
    entity_set=st.sampled_from(["accounts", "invoices", "EntityDefinitions"]),
)
def test_random_query_options(
    harness: tuple[TestClient, dict[str, str]], option: str, value: str, entity_set: str
) -> None:
    client, headers = harness
    _check(client.get(API + entity_set, params={option: value}, headers=headers))


@SETTINGS
@given(
    path=st.lists(
        st.sampled_from(
            [
                "accounts",
                "(",
                ")",
                "'",
                "/",
                "$ref",
                "$count",
                "name",
                "=",
                "x",
                "00000000-0000-0000-0000-000000000001",
                "primarycontactid",
                "%",
                "Microsoft.Dynamics.CRM.CreateMultiple",
            ]
        ),
        max_size=6,
    ).map("".join),
    method=st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE"]),
)
def test_random_paths(harness: tuple[TestClient, dict[str, str]], path: str, method: str) -> None:
    client, headers = harness
    _check(client.request(method, API + path, headers=headers, content=b"{}"))


@SETTINGS
@given(
    body=json_values,
    entity_set=st.sampled_from(["accounts", "invoices", "invoicedetails", "dxc_settings"]),
)
def test_random_bodies(
    harness: tuple[TestClient, dict[str, str]], body: Any, entity_set: str
) -> None:
    client, headers = harness
    _check(client.post(API + entity_set, content=json.dumps(body).encode(), headers=headers))


@SETTINGS
@given(body=st.binary(max_size=300) | text.map(str.encode))
def test_random_batches(harness: tuple[TestClient, dict[str, str]], body: bytes) -> None:
    client, headers = harness
    content = b"--b\r\n" + body + b"\r\n--b--\r\n"
    response = client.post(
        API + "$batch",
        content=content,
        headers={**headers, "Content-Type": "multipart/mixed; boundary=b"},
    )
    _check(response)
