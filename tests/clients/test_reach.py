"""A request that gets no answer is described the same way whichever library made it (httpx for
Dataverse and Xero tokens, requests under msal, urllib3 under xero-python): on real sockets."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import requests
import urllib3

from d365xero.emulators.core.server import ServerThread, free_port
from d365xero.emulators.core.tls import LocalCA
from d365xero.emulators.dataverse.app import create_app
from d365xero.errors import ConfigurationError, D365XeroError, TransientError
from d365xero.reach import transport_failure

CLIENTS: dict[str, Callable[[str], object]] = {
    "httpx": lambda url: httpx.get(url, timeout=5),
    "requests": lambda url: requests.get(url, timeout=5),
    "urllib3": lambda url: urllib3.PoolManager(retries=False, timeout=5).request("GET", url),
}


def _failure(client: str, url: str) -> D365XeroError:
    try:
        CLIENTS[client](url)
    except Exception as exc:  # each library's own error is the input here
        return transport_failure(exc, url, "dataverse")
    raise AssertionError(f"{client} reached {url}")


@pytest.fixture(scope="module")
def untrusted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ca = LocalCA.load_or_create(Path(tmp_path_factory.mktemp("ca")))
    with ServerThread(create_app(), tls=ca.issue("untrusted")) as server:
        yield server.url


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_an_untrusted_certificate(client: str, untrusted: str) -> None:
    failure = _failure(client, untrusted)
    assert isinstance(failure, ConfigurationError)
    assert str(failure).startswith(
        f"the TLS certificate of {untrusted} is not trusted (unable to get local issuer "
        "certificate); if it is signed by your own certificate authority"
    )
    assert str(failure).endswith("name that CA's PEM file in D365XERO_CA_BUNDLE")


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_connection_refused(client: str) -> None:
    url = f"https://127.0.0.1:{free_port()}/connect/token"
    failure = _failure(client, url)
    assert isinstance(failure, TransientError)
    assert str(failure).startswith(f"nothing answers at {url}: connection refused;")


def test_nothing_answering_in_time() -> None:
    # A socket that listens but never accepts: the connection is queued, no answer ever comes.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(httpx.TransportError) as raised:
            httpx.get(url, timeout=0.3)
    assert str(transport_failure(raised.value, url, "xero")).startswith(
        f"nothing answers at {url}: it timed out;"
    )


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_name_that_does_not_resolve(client: str) -> None:
    url = "https://no-such-organisation.invalid"  # .invalid never resolves (RFC 2606)
    failure = _failure(client, url)
    assert isinstance(failure, TransientError)
    assert str(failure).startswith(
        f"nothing answers at {url}: the name no-such-organisation.invalid does not resolve (DNS);"
    )
