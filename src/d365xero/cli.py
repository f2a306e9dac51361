"""The `d365xero` command line. Commands import what they need when they run, so `--help` is fast
and nothing is built at import time."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

app = typer.Typer(help="Keeps Microsoft Dynamics 365 Sales and Xero in step.", no_args_is_help=True)


class EmulatedService(StrEnum):
    xero = "xero"
    dataverse = "dataverse"


@app.command()
def emulate(
    service: EmulatedService = typer.Argument(..., help="Which service to emulate."),
    port: int = typer.Option(8000, help="TCP port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    tls: bool = typer.Option(
        False, "--tls", help="Serve HTTPS with a certificate from the local CA."
    ),
    seed: bool = typer.Option(False, "--seed", help="Load the sample data at start."),
    client_id: str = typer.Option("d365xero-demo", help="The registered app's client id."),
    client_secret: str = typer.Option("demo-secret", help="The registered app's client secret."),
    rate_limits: bool = typer.Option(
        True,
        "--rate-limits/--no-rate-limits",
        help="Enforce the service's documented limits (Xero: 60 calls a minute per tenant, 5,000 "
        "a day; Dataverse: 6,000 requests per 5 minutes).",
    ),
    state: Path | None = typer.Option(
        None,
        "--state",
        metavar="FILE",
        help="Keep the emulator's whole state in FILE: loaded at start, saved a second after "
        "changes and at exit, so a restart is the same organisation.",
    ),
) -> None:
    """Run one emulator (Xero or Dataverse) until Ctrl-C."""
    from contextlib import nullcontext

    from d365xero.config import get_settings
    from d365xero.emulators.core.connect_hint import connection_half, trust_hint
    from d365xero.emulators.core.server import serve_forever
    from d365xero.emulators.core.state_file import Autosave, StateFileError
    from d365xero.emulators.core.tls import LocalCA

    settings = get_settings()
    if service is EmulatedService.xero:
        from d365xero.emulators.xero.app import create_app as create_xero

        asgi = create_xero(
            client_id=client_id, client_secret=client_secret, rate_limits=rate_limits
        )
    else:
        from d365xero.emulators.dataverse.app import create_app as create_dataverse

        asgi = create_dataverse(
            client_id=client_id, client_secret=client_secret, service_protection=rate_limits
        )
    emulator = asgi.state.emulator
    try:
        autosave = Autosave.open(state, service.value, emulator) if state else None
    except StateFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if seed:
        emulator.seed()
    files = None
    if tls:
        ca = LocalCA.load_or_create(settings.ensure_data_dir())
        files = ca.issue(f"{service.value}-emulator", hosts=(host, "localhost", "127.0.0.1"))
        typer.echo(f"CA certificate: {ca.cert_path.resolve()}")
        typer.echo(trust_hint(settings.data_dir, ca.cert_path))
    scheme = "https" if tls else "http"
    url = f"{scheme}://{host}:{port}"
    if state:
        typer.echo(f"State kept in {state.resolve()}")
    tenant = emulator.entra.tenant if service is EmulatedService.dataverse else None
    for line in connection_half(service.value, url, client_id, client_secret, tenant):
        typer.echo(line)
    typer.echo(f"{service.value} emulator on {url}")
    with autosave.running() if autosave else nullcontext():
        serve_forever(autosave.middleware(asgi) if autosave else asgi, host, port, files)


db_app = typer.Typer(help="The connector's own database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", help="The Alembic revision to reach."),
) -> None:
    """Create or migrate the store at D365XERO_DATABASE_URL (default: SQLite in the data folder)."""
    from d365xero.config import get_settings
    from d365xero.store.migrate import current_revision, upgrade

    url = get_settings().database()
    upgrade(url, revision)
    typer.echo(f"database at revision {current_revision(url)}")


solution_app = typer.Typer(help="The Dynamics 365 solution d365xero needs.", no_args_is_help=True)
app.add_typer(solution_app, name="solution")


@solution_app.command("build")
def solution_build(
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the .zip file."),
    version: str | None = typer.Option(None, help="Solution version (default: the current one)."),
) -> None:
    """Write the solution .zip to import into Dynamics 365 (Settings > Solutions > Import)."""
    from d365xero.errors import D365XeroError
    from d365xero.solution.build import build_solution
    from d365xero.solution.report import describe, write_zip

    try:
        data = build_solution(version) if version else build_solution()
        write_zip(output, data)
    except D365XeroError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Wrote {output} ({len(data):,} bytes)")
    typer.echo(describe(data))


@solution_app.command("check")
def solution_check(file: Path = typer.Argument(..., help="A solution .zip file.")) -> None:
    """Say what a solution .zip holds, or why d365xero would refuse it."""
    from d365xero.errors import D365XeroError
    from d365xero.solution.report import describe, read_zip

    try:
        typer.echo(describe(read_zip(file)))
    except D365XeroError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from exc


connection_app = typer.Typer(help="Connections between Xero and Dynamics.", no_args_is_help=True)
app.add_typer(connection_app, name="connection")


def _fail(exc: Exception) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


@connection_app.command("add")
def connection_add(
    name: str = typer.Option(..., help="A name for the connection."),
    xero_url: str = typer.Option("https://api.xero.com", help="Xero's API origin."),
    xero_client_id: str = typer.Option(..., help="The Xero custom connection's client id."),
    xero_client_secret: str = typer.Option(
        ..., envvar="D365XERO_XERO_CLIENT_SECRET", help="Its client secret."
    ),
    xero_tenant_id: str | None = typer.Option(None, help="Which organisation, if several."),
    dataverse_url: str = typer.Option(..., help="The Dynamics organisation's URL."),
    dataverse_tenant: str = typer.Option(..., help="The Entra ID tenant (id or domain)."),
    dataverse_client_id: str = typer.Option(..., help="The application user's client id."),
    dataverse_client_secret: str = typer.Option(
        ..., envvar="D365XERO_DATAVERSE_CLIENT_SECRET", help="Its client secret."
    ),
    dataverse_authority: str | None = typer.Option(
        None, help="Entra ID's origin (default login.microsoftonline.com)."
    ),
    timezone: str = typer.Option("Europe/London", help="IANA time zone of the organisations."),
) -> None:
    """Connect a Xero organisation and a Dynamics organisation without a browser, using a Xero
    custom connection and a Dataverse application user."""
    from d365xero.config import get_settings
    from d365xero.errors import D365XeroError
    from d365xero.jobs.runtime import open_runtime
    from d365xero.jobs.setup import NewConnection, add_connection

    runtime = open_runtime(get_settings())
    new = NewConnection(
        name=name,
        xero_url=xero_url,
        xero_client_id=xero_client_id,
        xero_client_secret=xero_client_secret,
        xero_tenant_id=xero_tenant_id,
        dataverse_url=dataverse_url,
        dataverse_tenant=dataverse_tenant,
        dataverse_client_id=dataverse_client_id,
        dataverse_client_secret=dataverse_client_secret,
        dataverse_authority=dataverse_authority,
        timezone=timezone,
    )
    try:
        connection, counts = add_connection(runtime.settings, runtime.sessions, runtime.box, new)
    except D365XeroError as exc:
        raise _fail(exc) from exc
    finally:
        runtime.close()
    typer.echo(f"Connected '{connection.name}' to Xero organisation {connection.xero_tenant_name}")
    for table, count in counts.items():
        typer.echo(f"  {table}: {count}")


@connection_app.command("list")
def connection_list() -> None:
    """The connections and their state."""
    from d365xero.config import get_settings
    from d365xero.jobs.runtime import open_runtime
    from d365xero.store import connections

    runtime = open_runtime(get_settings())
    with runtime.sessions() as session:
        for c in connections.list_connections(session):
            note = f" ({c.status_message})" if c.status_message else ""
            typer.echo(f"{c.name}\t{c.status}{note}\t{c.xero_tenant_name}\t{c.dataverse_url}")
    runtime.close()


@connection_app.command("remove")
def connection_remove(name: str = typer.Option(..., help="The connection's name.")) -> None:
    """Forget a connection and its credentials (its records in Dynamics and Xero stay)."""
    from d365xero.config import get_settings
    from d365xero.jobs.runtime import open_runtime
    from d365xero.store import connections

    runtime = open_runtime(get_settings())
    try:
        with runtime.sessions.begin() as session:
            found = connections.get_connection_by_name(session, name)
            if found is None:
                raise _fail(ValueError(f"no connection named {name!r}"))
            connections.delete_connection(session, found)
    finally:
        runtime.close()
    typer.echo(f"'{name}' removed.")


@connection_app.command("resume")
def connection_resume(name: str = typer.Option(..., help="The connection's name.")) -> None:
    """Sync a paused connection again (after reconnecting what paused it)."""
    from d365xero.config import get_settings
    from d365xero.jobs.runtime import open_runtime
    from d365xero.store import connections

    runtime = open_runtime(get_settings())
    try:
        with runtime.sessions.begin() as session:
            found = connections.get_connection_by_name(session, name)
            if found is None:
                raise _fail(ValueError(f"no connection named {name!r}"))
            connections.resume_connection(found)
    finally:
        runtime.close()
    typer.echo(f"'{name}' resumed: the next pass syncs it.")


@app.command()
def sync(
    connection: str | None = typer.Option(None, help="Only this connection (by name)."),
    once: bool = typer.Option(False, "--once", help="One pass, then exit."),
    interval: float = typer.Option(30.0, help="Seconds between passes."),
    wait: float = typer.Option(
        0.0,
        min=0.0,
        help="If a pass of the connection is already running (another process or machine), "
        "wait up to this many seconds for it to end; by default skip it and say so.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what one pass would send and why, changing nothing."
    ),
) -> None:
    """Push ready Dynamics invoices to Xero and write the results back. One pass of a connection
    runs at a time: a pass that finds another running says so and does nothing."""
    from d365xero.config import get_settings
    from d365xero.errors import D365XeroError
    from d365xero.jobs.passes import dry_run_pass
    from d365xero.jobs.runtime import open_runtime
    from d365xero.jobs.scheduler import connection_ids, describe_dry_run, run_passes

    runtime = open_runtime(get_settings())
    if dry_run:
        try:
            for connection_id in connection_ids(runtime, connection):
                result = dry_run_pass(runtime, connection_id)
                typer.echo(describe_dry_run(result))
        except D365XeroError as exc:
            raise _fail(exc) from exc
        finally:
            runtime.close()
        return
    try:
        run_passes(
            runtime,
            connection_name=connection,
            once=once,
            interval=interval,
            wait=wait,
            echo=typer.echo,
        )
    except KeyboardInterrupt:
        typer.echo("stopped")
    except D365XeroError as exc:
        raise _fail(exc) from exc
    finally:
        runtime.close()


@app.command("reference-data")
def reference_data(connection: str = typer.Option(..., help="The connection's name.")) -> None:
    """Import Xero's tax rates, then accounts, then branding themes into Dynamics."""
    from d365xero.config import get_settings
    from d365xero.errors import D365XeroError
    from d365xero.jobs.runtime import open_runtime
    from d365xero.store import connections
    from d365xero.sync.reference import sync_reference_data

    runtime = open_runtime(get_settings())
    try:
        with runtime.sessions() as session:
            found = connections.get_connection_by_name(session, connection)
            if found is None:
                raise _fail(ValueError(f"no connection named {connection!r}"))
            secrets = connections.read_secrets(runtime.box, found)
            clients = runtime.clients_for(found, secrets)
            _, counts = sync_reference_data(
                clients.xero, clients.dynamics, found.xero_tenant_id or ""
            )
    except D365XeroError as exc:
        raise _fail(exc) from exc
    finally:
        runtime.close()
    for table, count in counts.items():
        typer.echo(f"{table}: {count}")


@app.command()
def demo(
    once: bool = typer.Option(False, "--once", help="One sync pass, then exit."),
    interval: float = typer.Option(10.0, help="Seconds between sync passes."),
) -> None:
    """Both emulators with sample data, a connection and sync passes, in one process."""
    from d365xero.config import get_settings
    from d365xero.demo import run_demo

    run_demo(get_settings(), once=once, interval=interval, echo=typer.echo)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
