"""No route answers 5xx to any input: every route of create_app's app (found in app.routes, so
pages added later are fuzzed without being listed here), every method, with random path
parameters, query strings and bodies (forms with the fields the templates render, multipart,
JSON, bytes), a valid CSRF token, a forged one or none, signed out, signed in as the owner of
the connections the ids name, and as someone else (tests/portal/world.py: the real app over a
real store, its outside world on closed loopback ports, nothing sent off this machine)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.portal.world import WHO, World, open_world
from tests.support.portal_routes import Endpoint

CSRF = ("valid", "forged", "none")
BODY = ("form", "multipart", "json", "bytes", "none")


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_world(tmp_path_factory.mktemp("fuzz")) as world:
        yield world


def test_routes_are_discovered_from_the_app(fuzzed: World) -> None:
    found = {str(e) for e in fuzzed.endpoints}
    for expected in ("GET /", "GET /healthz", "POST /webhooks/xero", "GET /static/{rest}"):
        assert expected in found, sorted(found)


def _send(
    fuzzed: World,
    endpoint: Endpoint,
    who: str,
    csrf: str,
    body: str,
    params: dict[str, str],
    query: dict[str, str],
    form: dict[str, str],
    htmx: bool = False,
) -> None:
    client = fuzzed.signed_as(who)
    token = {"valid": fuzzed.tokens[who], "forged": "forged-token", "none": None}[csrf]
    headers = {"accept": "text/html"}
    if htmx:
        headers["hx-request"] = "true"
    if token and body not in ("form", "multipart"):
        headers["x-csrf-token"] = token
    payload = dict(form)
    if token and body in ("form", "multipart"):
        payload["csrf_token"] = token
    kwargs: dict[str, Any] = {}
    if endpoint.method not in ("GET", "DELETE"):
        if body == "form":
            kwargs["data"] = payload
        elif body == "multipart":
            kwargs["data"] = payload
            kwargs["files"] = {"upload": ("a.txt", b"\x00\xff not a zip", "application/zip")}
        elif body == "json":
            kwargs["content"] = json.dumps(payload).encode()
            headers["content-type"] = "application/json"
        elif body == "bytes":
            kwargs["content"] = b"\xff\xfe" + repr(payload).encode()
            headers["content-type"] = "application/x-www-form-urlencoded"
    url = endpoint.url(params)
    answer = client.request(endpoint.method, url, params=query, headers=headers, **kwargs)
    assert answer.status_code < 500, (
        f"{endpoint.method} {url} ({who}, CSRF {csrf}, {body} body) answered "
        f"{answer.status_code}: {answer.text[:500]}"
    )


def test_every_route_answers_its_plain_requests(fuzzed: World) -> None:
    """Each route once per viewer and CSRF variant, path parameters set to each known id, and
    every template field empty: the coverage the random examples below cannot promise."""
    empty = dict.fromkeys(fuzzed.fields, "")
    for endpoint in fuzzed.endpoints:
        for value in fuzzed.ids:
            params = dict.fromkeys(endpoint.params, value)
            for who in WHO:
                for csrf in CSRF:
                    _send(fuzzed, endpoint, who, csrf, "form", params, {}, empty)


_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1e309",
            "NaN",
            "9" * 40,
            "2026-02-30",
            "not-an-email",
            "a@b",
            "../../etc/passwd",
            "%00",
            "\x00",
            "<script>alert(1)</script>",
            "' or 1=1 --",
            "x" * 12_000,
            "Europe/London",
            "Nowhere/Else",
            "https://evil.example/",
            "//evil.example",
            "http://127.0.0.1:1/",
        ]
    ),
)


@st.composite
def requests(draw: st.DrawFn, fuzzed: World) -> dict[str, Any]:
    endpoint = draw(st.sampled_from(fuzzed.endpoints))
    ids = st.sampled_from(fuzzed.ids)
    params = {name: draw(st.one_of(ids, _text)) for name in endpoint.params}
    names = st.one_of(st.sampled_from(fuzzed.fields or ["x"]), st.text(min_size=1, max_size=12))
    return {
        "endpoint": endpoint,
        "who": draw(st.sampled_from(WHO)),
        "csrf": draw(st.sampled_from(CSRF)),
        "body": draw(st.sampled_from(BODY)),
        "params": params,
        "query": draw(st.dictionaries(names, _text, max_size=4)),
        "form": draw(st.dictionaries(names, _text, max_size=8)),
        "htmx": draw(st.booleans()),
    }


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_input_makes_any_route_answer_5xx(fuzzed: World, data: st.DataObject) -> None:
    _send(fuzzed, **data.draw(requests(fuzzed)))
