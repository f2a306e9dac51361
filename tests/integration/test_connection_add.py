"""`d365xero connection add` as a new user meets it, in-process (typer's CliRunner) against both
emulators over HTTPS on real loopback ports: only the organisation URL is needed, secrets come
from the environment or a hidden prompt, plain http is refused, each kind of failure names its URL
and its cause in one complete line, and a pair of organisations is connected once."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from d365xero.cli import app
from d365xero.emulators.core.server import ServerThread, free_port
from d365xero.emulators.core.tls import LocalCA
from d365xero.emulators.dataverse.app import create_app as create_dataverse
from d365xero.emulators.dataverse.models import Organisation
from d365xero.emulators.xero.app import create_app as create_xero
from tests.support.xero_fixtures import CLIENT_ID, CLIENT_SECRET, build_harness


@dataclass
class Peers:
    xero_url: str
    dataverse_url: str
    ca: Path
    dataverse: Organisation


@pytest.fixture
def peers(tmp_path: Path, xero_specs: None) -> Iterator[Peers]:
    ca = LocalCA.load_or_create(tmp_path / "ca")
    xero = build_harness()
    dataverse = create_dataverse(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with (
        ServerThread(xero.validator, tls=ca.issue("xero")) as xero_server,
        ServerThread(dataverse, tls=ca.issue("dataverse")) as dataverse_server,
    ):
        yield Peers(xero_server.url, dataverse_server.url, ca.cert_path, dataverse.state.emulator)
    xero.check()


def _cli(
    peers: Peers, data_dir: Path, *args: str, input: str | None = None, **env: str | None
) -> Result:
    """`d365xero` with the environment a user would set: the data folder, the emulators' CA and
    both client secrets (each overridable; None unsets it)."""
    base: dict[str, str | None] = {
        "D365XERO_DATA_DIR": str(data_dir),
        "D365XERO_DATABASE_URL": None,
        "D365XERO_CA_BUNDLE": str(peers.ca),
        "D365XERO_XERO_URL": None,
        "D365XERO_XERO_CLIENT_SECRET": CLIENT_SECRET,
        "D365XERO_DATAVERSE_CLIENT_SECRET": CLIENT_SECRET,
    }
    return CliRunner().invoke(app, list(args), env={**base, **env}, input=input)


def _add(peers: Peers, data_dir: Path, *extra: str, **env: str | None) -> Result:
    options = {
        "--name": "Demo",
        "--xero-url": peers.xero_url,
        "--xero-client-id": CLIENT_ID,
        "--dataverse-url": peers.dataverse_url,
        "--dataverse-client-id": CLIENT_ID,
    }
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        options[flag] = value
    args = [item for pair in options.items() for item in pair]
    return _cli(peers, data_dir, "connection", "add", *args, **env)


def _one_line_error(result: Result) -> str:
    assert result.exit_code != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert CLIENT_SECRET not in result.stdout + result.stderr
    return lines[0].removeprefix("error: ")


def test_only_the_organisation_url_is_needed(peers: Peers, tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    done = _add(peers, data_dir)
    assert done.exit_code == 0, done.stderr
    assert "Connected 'Demo' to Xero organisation Demo Company (UK)" in done.stdout
    assert CLIENT_SECRET not in done.stdout + done.stderr
    listed = _cli(peers, data_dir, "connection", "list")
    trial = f"trial until {(datetime.now(UTC) + timedelta(days=30)).date().isoformat()}"
    row = ["Demo", "active", trial, "Demo Company (UK)", peers.dataverse_url]
    assert [*row, "xero quiet, dynamics not registered"] in [
        [c.strip() for c in line.split("  ") if c.strip()] for line in listed.stdout.splitlines()
    ]
    # The tenant and authority came from the organisation's challenge: its own Entra endpoint.
    from d365xero.config import Settings
    from d365xero.jobs.runtime import open_runtime
    from d365xero.store import connections

    runtime = open_runtime(Settings(data_dir=data_dir))
    with runtime.sessions() as session:
        [made] = connections.list_connections(session)
        assert made.dataverse_tenant == peers.dataverse.entra.tenant_id
        assert made.dataverse_authority == peers.dataverse_url
    runtime.close()
    # Only the owner can read the data folder (secret key, store) and the SQLite file.
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "d365xero.sqlite3").stat().st_mode) == 0o600


def test_secrets_can_come_from_a_hidden_prompt(
    peers: Peers, tmp_path: Path, database_url: str
) -> None:
    done = _cli(
        peers,
        tmp_path,
        *("connection", "add", "--name", "Demo", "--xero-url", peers.xero_url),
        *("--xero-client-id", CLIENT_ID, "--dataverse-url", peers.dataverse_url),
        *("--dataverse-client-id", CLIENT_ID),
        input=f"{CLIENT_SECRET}\n{CLIENT_SECRET}\n",
        D365XERO_DATABASE_URL=database_url,
        D365XERO_XERO_CLIENT_SECRET=None,
        D365XERO_DATAVERSE_CLIENT_SECRET=None,
    )
    assert done.exit_code == 0, done.stderr
    assert "Xero client secret:" in done.stdout and "Dynamics client secret:" in done.stdout
    assert CLIENT_SECRET not in done.stdout  # hidden: never echoed


def test_no_secret_anywhere_says_where_to_give_one(peers: Peers, tmp_path: Path) -> None:
    refused = _add(peers, tmp_path, D365XERO_XERO_CLIENT_SECRET=None)
    assert _one_line_error(refused) == (
        "no Xero client secret: set D365XERO_XERO_CLIENT_SECRET, type it at the prompt, or give "
        "--xero-client-secret"
    )


def test_one_connection_per_pair_and_names_ignore_case(
    peers: Peers, tmp_path: Path, database_url: str
) -> None:
    assert _add(peers, tmp_path, D365XERO_DATABASE_URL=database_url).exit_code == 0
    again = _add(peers, tmp_path, "--name", "DEMO", D365XERO_DATABASE_URL=database_url)
    assert _one_line_error(again) == (
        "a connection named 'Demo' already exists (names ignore case): choose another name, or "
        "remove that one first"
    )
    # The same two organisations under another name, the URL written another way.
    other_url = peers.dataverse_url.upper().replace("HTTPS", "https") + "/api/data/v9.2/"
    twin = _add(
        peers,
        tmp_path,
        *("--name", "Other", "--dataverse-url", other_url),
        D365XERO_DATABASE_URL=database_url,
    )
    assert _one_line_error(twin) == (
        "connection 'Demo' already connects Xero organisation Demo Company (UK) to "
        f"{peers.dataverse_url}: use it, or remove it first"
    )
    listed = _cli(peers, tmp_path, "connection", "list", D365XERO_DATABASE_URL=database_url)
    assert listed.stdout.count("  active  ") == 1


@pytest.mark.parametrize(
    ("flag", "variable", "what"),
    [
        ("--xero-url", None, "the Xero URL"),
        ("--dataverse-url", None, "the Dynamics URL"),
        ("--dataverse-authority", None, "the Entra ID authority"),
        (None, "D365XERO_XERO_URL", "D365XERO_XERO_URL"),
    ],
)
def test_plain_http_is_refused_unless_loopback(
    peers: Peers, tmp_path: Path, flag: str | None, variable: str | None, what: str
) -> None:
    url = "http://remote.example.com"
    extra = (flag, url) if flag else ()
    # No secret anywhere: the refusal must come before the prompt would ask for one.
    env = {variable: url} if variable else {}
    env |= {"D365XERO_XERO_CLIENT_SECRET": None, "D365XERO_DATAVERSE_CLIENT_SECRET": None}
    refused = _add(peers, tmp_path, *extra, **env)
    assert _one_line_error(refused) == (
        f"{what} {url} is plain http, which would send the client secret unencrypted: use "
        "https:// (plain http is allowed only to this machine: localhost, 127.0.0.1, ::1)"
    )


def _closed_port() -> str:
    return f"https://127.0.0.1:{free_port()}"


def test_nothing_answers_at_the_dynamics_url(peers: Peers, tmp_path: Path) -> None:
    url = _closed_port()
    message = _one_line_error(_add(peers, tmp_path, "--dataverse-url", url))
    assert message == (
        f"nothing answers at {url}: connection refused; check the URL and that the service is "
        "running and reachable from here"
    )


def test_nothing_answers_at_the_xero_url(peers: Peers, tmp_path: Path) -> None:
    url = _closed_port()
    message = _one_line_error(_add(peers, tmp_path, "--xero-url", url))
    assert message.startswith(f"nothing answers at {url}/connect/token: connection refused;")
    assert "Demo" not in _cli(peers, tmp_path, "connection", "list").stdout  # nothing kept


def test_an_untrusted_certificate_says_how_to_trust_it(peers: Peers, tmp_path: Path) -> None:
    message = _one_line_error(_add(peers, tmp_path, D365XERO_CA_BUNDLE=None))
    assert message.startswith(f"the TLS certificate of {peers.dataverse_url} is not trusted (")
    assert message.endswith(
        "); if it is signed by your own certificate authority (an on-premises Dynamics, the "
        "emulators' local CA), name that CA's PEM file in D365XERO_CA_BUNDLE"
    )


def test_a_wrong_xero_secret_blames_the_xero_credentials(peers: Peers, tmp_path: Path) -> None:
    message = _one_line_error(_add(peers, tmp_path, D365XERO_XERO_CLIENT_SECRET="wrong"))
    assert message == (
        "Xero refused the custom connection's client id and secret (invalid_client at "
        f"{peers.xero_url}/connect/token): check --xero-client-id and --xero-client-secret (or "
        "D365XERO_XERO_CLIENT_SECRET), or reconnect Xero"
    )


def test_a_wrong_dynamics_secret_quotes_entra_whole(peers: Peers, tmp_path: Path) -> None:
    message = _one_line_error(_add(peers, tmp_path, D365XERO_DATAVERSE_CLIENT_SECRET="wrong"))
    assert message == (
        f"Entra ID refused a token for {peers.dataverse_url} (invalid_client: AADSTS7000215: "
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID, for a secret added to app "
        "'d365xero-demo'.): check --dataverse-client-secret (or "
        "D365XERO_DATAVERSE_CLIENT_SECRET)"
    )
    assert "wrong" not in message


def test_a_url_that_is_not_dynamics_says_so(peers: Peers, tmp_path: Path) -> None:
    # The Xero emulator (unvalidated: the path is not Xero's) given as the Dynamics URL.
    ca = LocalCA.load_or_create(tmp_path / "ca")
    with ServerThread(create_xero(), tls=ca.issue("other")) as other:
        message = _one_line_error(_add(peers, tmp_path, "--dataverse-url", other.url))
    assert message.startswith(
        f"{other.url} does not look like a Dynamics 365 organisation: GET /api/data/v9.2/ "
        "answered HTTP 404 without Entra ID's Bearer challenge;"
    )


def test_a_missing_privilege_is_named(peers: Peers, tmp_path: Path) -> None:
    peers.dataverse.security.revoked.add("prvcreatedxc_connection")
    message = _one_line_error(_add(peers, tmp_path))
    assert message == (
        f"the application user in {peers.dataverse_url} lacks the prvCreatedxc_Connection "
        "privilege on the dxc_connection table: add it to the user's security role (the "
        'solution\'s role "d365xero integration" has it, docs/SOLUTION.md)'
    )


def test_a_missing_solution_points_at_how_to_install_it(peers: Peers, tmp_path: Path) -> None:
    bare = create_dataverse(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, with_solution=False)
    ca = LocalCA.load_or_create(tmp_path / "ca")
    with ServerThread(bare, tls=ca.issue("bare")) as server:
        message = _one_line_error(_add(peers, tmp_path, "--dataverse-url", server.url))
    assert message == (
        f"the d365xero solution is not installed in {server.url} (it has no dxc_connections "
        "table): build it with `d365xero solution build -o d365xero.zip`, import it and give "
        "the application user its role (docs/SOLUTION.md)"
    )


def test_nothing_answers_at_the_entra_authority(peers: Peers, tmp_path: Path) -> None:
    url = _closed_port()
    flags = ("--dataverse-authority", url, "--dataverse-tenant", "demo-tenant")
    message = _one_line_error(_add(peers, tmp_path, *flags))
    assert message.startswith(f"nothing answers at {url}/demo-tenant: connection refused;")


def test_an_unknown_tenant_points_at_the_tenant_flag(peers: Peers, tmp_path: Path) -> None:
    message = _one_line_error(_add(peers, tmp_path, "--dataverse-tenant", "no-such-tenant"))
    assert message == (
        f"Entra ID at {peers.dataverse_url}/no-such-tenant gave no OpenID configuration for "
        "tenant 'no-such-tenant': check --dataverse-tenant (or leave it out, so the one the "
        "organisation names is used) and --dataverse-authority"
    )
