"""Connections: round trips, naming rules, sealed secrets, pause/resume, cascades."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from d365xero.errors import ConfigurationError, StoreError
from d365xero.store.connections import (
    add_connection,
    assign_tenant,
    delete_connection,
    get_connection,
    get_connection_by_name,
    list_connections,
    list_user_connections,
    pause_connection,
    read_secrets,
    resume_connection,
    update_secrets,
)
from d365xero.store.models import Connection, ConnectionStatus, SyncRun, User, XeroWrite
from d365xero.store.runs import start_run
from d365xero.store.secrets import SecretBox
from d365xero.store.users import create_user
from d365xero.store.writes import begin_write, hash_request

SECRETS = {"xero_client_secret": "XERO-SECRET-1", "dataverse_client_secret": "DV-SECRET-2"}


def _add(session: Session, box: SecretBox, name: str = "Main", **kw: object) -> Connection:
    return add_connection(session, box, name=name, secrets=SECRETS, **kw)  # type: ignore[arg-type]


def test_cli_connection_round_trip(sessions: sessionmaker[Session], box: SecretBox) -> None:
    with sessions() as session:
        made = add_connection(
            session,
            box,
            name=" Main ",
            secrets=SECRETS,
            xero_url="http://127.0.0.1:8001/",
            xero_client_id="d365xero-demo",
            dataverse_url="https://org.crm11.dynamics.com/",
            dataverse_tenant="demo-tenant",
            dataverse_client_id="dv-app",
        )
        assert made.id
        session.commit()
    with sessions() as session:
        found = get_connection(session, made.id)
        assert found is not None
        assert found.name == "Main" and found.user_id is None
        assert found.status == ConnectionStatus.active and found.status_message is None
        assert found.timezone == "Europe/London"
        assert found.xero_url == "http://127.0.0.1:8001"
        assert found.dataverse_url == "https://org.crm11.dynamics.com"
        assert (found.xero_client_id, found.dataverse_tenant) == ("d365xero-demo", "demo-tenant")
        assert found.xero_tenant_id is None and found.dataverse_connection_row_id is None
        assert found.created_at.tzinfo is not None
        assert read_secrets(box, found) == SECRETS
        assert get_connection_by_name(session, "Main") == found
        assert get_connection_by_name(session, " MAIN ") == found  # names ignore case
        assert get_connection(session, "no-such-id") is None


def test_defaults(session: Session, box: SecretBox) -> None:
    made = _add(session, box)
    assert made.xero_url == "https://api.xero.com"
    assert made.timezone == "Europe/London"


def test_secrets_are_not_stored_in_clear(sessions: sessionmaker[Session], box: SecretBox) -> None:
    with sessions() as session:
        made = _add(session, box)
        update_secrets(box, made, {"xero_refresh_token": "REFRESH-3"})
        session.commit()
    with sessions() as session:
        raw = session.execute(
            sa.text("select * from connections where id = :i"), {"i": made.id}
        ).one()
    row_text = " ".join(str(value) for value in raw)
    for clear in ("XERO-SECRET-1", "DV-SECRET-2", "REFRESH-3", "xero_client_secret"):
        assert clear not in row_text
    assert box.open(raw.secrets)["xero_refresh_token"] == "REFRESH-3"


def test_repr_shows_no_secrets(session: Session, box: SecretBox) -> None:
    made = _add(session, box)
    assert made.secrets not in repr(made)
    assert "SECRET" not in repr(made)
    assert "Main" in repr(made)


def test_update_secrets_merges_and_removes(sessions: sessionmaker[Session], box: SecretBox) -> None:
    with sessions() as session:
        made = _add(session, box)
        session.commit()
        before = made.updated_at
    with sessions() as session:
        found = get_connection(session, made.id)
        assert found is not None
        whole = update_secrets(
            box, found, {"xero_access_token": "AT", "dataverse_client_secret": None}
        )
        assert whole == {"xero_client_secret": "XERO-SECRET-1", "xero_access_token": "AT"}
        session.commit()
    with sessions() as session:
        found = get_connection(session, made.id)
        assert found is not None
        assert read_secrets(box, found) == whole
        assert found.updated_at > before


def test_a_changed_key_is_a_clear_error(session: Session, box: SecretBox) -> None:
    made = _add(session, box)
    other = SecretBox(b"A" * 43 + b"=")
    with pytest.raises(StoreError, match="D365XERO_SECRET_KEY changed"):
        read_secrets(other, made)


def test_names_are_unique_per_user(session: Session, box: SecretBox) -> None:
    ann = create_user(session, "ann@example.com", "pw")
    bob = create_user(session, "bob@example.com", "pw")
    _add(session, box, user_id=ann.id)
    _add(session, box, user_id=bob.id)
    _add(session, box)  # the CLI's own
    with pytest.raises(ConfigurationError, match="'Main' already exists"):
        _add(session, box, name="MAIN", user_id=ann.id)
    with pytest.raises(ConfigurationError, match="'Main' already exists"):
        _add(session, box, name="main ")
    assert get_connection_by_name(session, "Main", user_id=ann.id).user_id == ann.id  # type: ignore[union-attr]


def test_database_keeps_cli_names_unique_too(session: Session, box: SecretBox) -> None:
    # NULL user ids never clash in a unique constraint; the partial index must catch this,
    # whatever the case.
    session.add(Connection(id="c1", name="Same", secrets="x"))
    session.add(Connection(id="c2", name="SAME", secrets="x"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_database_keeps_user_names_unique(session: Session, box: SecretBox) -> None:
    ann = create_user(session, "ann@example.com", "pw")
    session.add(Connection(id="c1", user_id=ann.id, name="Same", secrets="x"))
    session.add(Connection(id="c2", user_id=ann.id, name="same", secrets="x"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_a_rename_keeps_the_name_key(session: Session, box: SecretBox) -> None:
    made = _add(session, box)
    made.name = "Renamed Ltd"
    session.flush()
    assert get_connection_by_name(session, "renamed ltd") == made
    assert get_connection_by_name(session, "Main") is None


def test_one_connection_per_pair_of_organisations(session: Session, box: SecretBox) -> None:
    url = "https://org.crm11.dynamics.com"
    first = _add(session, box, name="First", dataverse_url=url)
    assign_tenant(session, first, "tenant-1", "Demo Company (UK)")
    session.flush()
    # The same organisations under another name, the URL written differently: refused.
    second = _add(session, box, name="Second", dataverse_url="HTTPS://Org.CRM11.dynamics.com:443/")
    with pytest.raises(ConfigurationError) as refused:
        assign_tenant(session, second, "tenant-1", "Demo Company (UK)")
    assert str(refused.value) == (
        "connection 'First' already connects Xero organisation Demo Company (UK) to "
        "https://org.crm11.dynamics.com: use it, or remove it first"
    )
    assign_tenant(session, second, "tenant-2", "Other Ltd")  # another Xero organisation: fine
    session.flush()
    assert (second.xero_tenant_id, second.dataverse_url) == ("tenant-2", url)


def test_database_keeps_pairs_unique(session: Session, box: SecretBox) -> None:
    for row_id, name in (("c1", "One"), ("c2", "Two")):
        session.add(
            Connection(
                id=row_id,
                name=name,
                secrets="x",
                xero_tenant_id="tenant-1",
                dataverse_url="https://org.crm.dynamics.com",
            )
        )
    with pytest.raises(IntegrityError):
        session.flush()


def test_listing(session: Session, box: SecretBox) -> None:
    ann = create_user(session, "ann@example.com", "pw")
    b = _add(session, box, name="B", user_id=ann.id)
    a = _add(session, box, name="A", user_id=ann.id)
    cli = _add(session, box, name="C")
    pause_connection(cli, "Reconnect Xero")
    assert list_connections(session) == [a, b, cli]
    assert list_connections(session, status=ConnectionStatus.active) == [a, b]
    assert list_connections(session, status=ConnectionStatus.paused) == [cli]
    assert list_user_connections(session, ann.id) == [a, b]


def test_pause_and_resume(sessions: sessionmaker[Session], box: SecretBox) -> None:
    with sessions() as session:
        made = _add(session, box)
        pause_connection(made, "Xero consent was revoked: reconnect Xero from the portal.")
        session.commit()
    with sessions() as session:
        found = get_connection(session, made.id)
        assert found is not None
        assert found.status == "paused"
        assert found.status_message is not None and "reconnect" in found.status_message
        resume_connection(found)
        session.commit()
    with sessions() as session:
        found = get_connection(session, made.id)
        assert found is not None
        assert (found.status, found.status_message) == ("active", None)


def test_database_refuses_an_unknown_status(session: Session, box: SecretBox) -> None:
    made = _add(session, box)
    made.status = "sleeping"
    with pytest.raises(IntegrityError):
        session.flush()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus"),
        ("timezone", ""),
        ("xero_url", "api.xero.com"),
        ("dataverse_url", "ftp://org"),
        ("xero_url", "http://xero.example.com"),
        ("dataverse_url", "http://org.crm.dynamics.com"),
        ("dataverse_authority", "http://login.example.com"),
    ],
)
def test_bad_settings_are_refused(session: Session, box: SecretBox, field: str, value: str) -> None:
    with pytest.raises(ConfigurationError):
        _add(session, box, **{field: value})


def test_a_name_is_required(session: Session, box: SecretBox) -> None:
    with pytest.raises(ConfigurationError):
        _add(session, box, name="  ")


def test_other_time_zones_are_kept(session: Session, box: SecretBox) -> None:
    assert _add(session, box, timezone="Pacific/Auckland").timezone == "Pacific/Auckland"


def test_deleting_a_connection_removes_its_runs_and_writes(
    sessions: sessionmaker[Session], box: SecretBox
) -> None:
    with sessions() as session:
        made = _add(session, box)
        start_run(session, made.id)
        begin_write(session, made.id, "invoice", "src-1", "key-1", hash_request({"a": 1}))
        session.commit()
    with sessions() as session:
        found = get_connection(session, made.id)
        assert found is not None
        delete_connection(session, found)
        session.commit()
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SyncRun)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(XeroWrite)) == 0


def test_deleting_a_user_removes_their_connections(
    sessions: sessionmaker[Session], box: SecretBox
) -> None:
    with sessions() as session:
        ann = create_user(session, "ann@example.com", "pw")
        _add(session, box, user_id=ann.id)
        _add(session, box, name="CLI")
        session.commit()
    with sessions() as session:
        session.execute(sa.delete(User))
        session.commit()
    with sessions() as session:
        assert [c.name for c in list_connections(session)] == ["CLI"]


def test_timestamps_come_back_in_utc(session: Session, box: SecretBox) -> None:
    made = _add(session, box)
    session.commit()
    session.expire_all()
    found = get_connection(session, made.id)
    assert found is not None
    assert found.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert abs((datetime.now(UTC) - found.created_at).total_seconds()) < 60
