"""The `d365xero` command line. Commands import what they need when they run, so `--help` is fast
and nothing is built at import time.

Every command ends the same way (d365xero.exits): an error the connector raises on purpose, or
one the system raises about a file, port or database, is one line on stderr and exit code 1 or 2;
options are checked when parsed (click's usage errors exit 2 too). Commands that only read open
the store with create=False: they never make a folder, a database or a secret key.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import typer
from typer.core import TyperGroup

from d365xero.exits import HELP as EXIT_CODES
from d365xero.exits import exit_code, one_line

if TYPE_CHECKING:
    from pydantic import SecretStr

    from d365xero.errors import D365XeroError
    from d365xero.jobs.passes import PassResult


def _fail(exc: BaseException) -> typer.Exit:
    """Say why in one line on stderr; the exit code follows the error's kind."""
    typer.secho(f"error: {one_line(exc)}", fg=typer.colors.RED, err=True)
    return typer.Exit(exit_code(exc) or 1)


class _Commands(TyperGroup):
    """The root group: whatever command runs, an error of a known kind ends it through _fail."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if exit_code(exc) is None:
                raise  # a bug: its traceback is what a report needs
            raise _fail(exc) from exc


app = typer.Typer(
    cls=_Commands,
    help="Keeps Microsoft Dynamics 365 Sales and Xero in step.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a traceback must never print a secret held in a local
)

MAX_INTERVAL = 86_400  # a day: beyond that, a timer (cron, systemd) is the better tool


def _within(low: float, high: float, allowed: str) -> Callable[[Any], Any]:
    """A callback refusing values outside [low, high], naming what is allowed. Written out
    rather than typer's min/max, whose messages give one bound only and which let nan through
    where the type is click's."""

    def check(value: Any) -> Any:
        if value is not None and not low <= value <= high:  # nan fails both comparisons
            raise typer.BadParameter(f"{allowed}, not {value}")
        return value

    return check


def _text(value: str | None) -> str | None:
    """A name or identifier option: something other than blanks."""
    if value is not None and not value.strip():
        raise typer.BadParameter("must not be empty")
    return value


def _solution_version(value: str | None) -> str | None:
    if value is None:
        return None
    from d365xero.errors import ConfigurationError
    from d365xero.solution.build import check_version

    try:
        return check_version(value)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _interval(default: float, what: str) -> Any:
    return typer.Option(
        default,
        callback=_within(1, MAX_INTERVAL, f"give seconds from 1 to {MAX_INTERVAL}"),
        help=f"Seconds between {what} (1 to {MAX_INTERVAL}).",
    )


class EmulatedService(StrEnum):
    xero = "xero"
    dataverse = "dataverse"
    stripe = "stripe"


@app.command(epilog=EXIT_CODES)
def emulate(
    service: EmulatedService = typer.Argument(..., help="Which service to emulate."),
    port: int = typer.Option(
        8000,
        callback=_within(0, 65535, "give a TCP port from 0 to 65535 (0: any free one)"),
        help="TCP port to listen on (0 to 65535; 0: any free one, printed).",
    ),
    host: str = typer.Option("127.0.0.1", callback=_text, help="Address to listen on."),
    tls: bool = typer.Option(
        False, "--tls", help="Serve HTTPS with a certificate from the local CA."
    ),
    seed: bool = typer.Option(False, "--seed", help="Load the sample data at start."),
    client_id: str = typer.Option(
        "d365xero-demo", callback=_text, help="The registered app's client id."
    ),
    client_secret: str = typer.Option(
        "demo-secret", callback=_text, help="The registered app's client secret."
    ),
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
        "changes and at exit, so a restart is the same organisation (Xero and Dataverse).",
    ),
    webhook_url: str | None = typer.Option(
        None,
        "--webhook-url",
        callback=_text,
        help="Stripe: where to send its signed webhook events (e.g. "
        "http://127.0.0.1:8000/webhooks/stripe).",
    ),
) -> None:
    """Run one emulator (Xero, Dataverse or the Stripe stand-in) until Ctrl-C."""
    from contextlib import nullcontext

    from d365xero.config import get_settings
    from d365xero.emulators.core.connect_hint import connection_half, trust_hint
    from d365xero.emulators.core.server import listen, serve_forever
    from d365xero.emulators.core.state_file import Autosave, StateFileError
    from d365xero.emulators.core.tls import LocalCA

    settings = get_settings()
    if service is EmulatedService.stripe and state:
        typer.echo("error: --state is for the Xero and Dataverse emulators only", err=True)
        raise typer.Exit(2)
    sock = listen(host, port)  # first: a port in use or out of reach is said before anything
    port = sock.getsockname()[1]
    if service is EmulatedService.stripe:
        from d365xero.emulators.stripe.app import create_app as create_stripe

        asgi = create_stripe()
    elif service is EmulatedService.xero:
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
    if service is EmulatedService.stripe:
        from d365xero.emulators.core.connect_hint import stripe_settings

        if webhook_url:
            emulator.sender.register(webhook_url)
        lines = stripe_settings(url, emulator.secret_key, emulator.webhook_secret, webhook_url)
    else:
        tenant = emulator.entra.tenant if service is EmulatedService.dataverse else None
        lines = connection_half(service.value, url, client_id, client_secret, tenant)
    for line in lines:
        typer.echo(line)
    typer.echo(f"{service.value} emulator on {url}")
    with autosave.running() if autosave else nullcontext():
        serve_forever(autosave.middleware(asgi) if autosave else asgi, sock, files)


db_app = typer.Typer(help="The connector's own database.", epilog=EXIT_CODES, no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade", epilog=EXIT_CODES)
def db_upgrade(
    revision: str = typer.Argument("head", callback=_text, help="The Alembic revision to reach."),
) -> None:
    """Create or migrate the store at D365XERO_DATABASE_URL (default: SQLite in the data folder)."""
    from d365xero.config import get_settings
    from d365xero.store.migrate import current_revision, upgrade

    url = get_settings().database()
    upgrade(url, revision)
    typer.echo(f"database at revision {current_revision(url)}")
    if not url.startswith("postgresql"):
        typer.echo("procrastinate's queue not installed: `d365xero worker` needs PostgreSQL")
        return
    from d365xero.jobs.queue import install_schema

    added = install_schema(url)
    typer.echo(f"procrastinate's queue {'installed' if added else 'already installed'}")


@app.command(epilog=EXIT_CODES)
def worker(
    concurrency: int = typer.Option(
        1,
        callback=_within(1, 64, "give 1 to 64 passes at once"),
        help="Passes this worker runs at once (threads), 1 to 64.",
    ),
) -> None:
    """A scale-out worker: runs the passes queued in PostgreSQL (procrastinate), queues every
    connection that is due (checked every 5 seconds), and shares the Xero and Dynamics rate
    budgets with every other worker through the store. Needs PostgreSQL and `d365xero db
    upgrade`. SIGTERM or Ctrl-C: running passes finish, then it exits."""
    from d365xero.config import get_settings
    from d365xero.errors import ConfigurationError
    from d365xero.jobs.queue import NEEDS_POSTGRES, libpq_dsn, run_worker
    from d365xero.jobs.runtime import open_runtime

    settings = get_settings()
    libpq_dsn(settings.database())  # PostgreSQL or a one-line refusal, before anything starts
    runtime = open_runtime(settings, migrate=False, create=False)
    runtime.shared_budgets = True
    try:
        if not _queue_installed(settings.database()):
            raise ConfigurationError(f"{NEEDS_POSTGRES} (procrastinate's tables are missing)")
        run_worker(runtime, concurrency)
    finally:
        runtime.close()


def _queue_installed(url: str) -> bool:
    import sqlalchemy as sa

    from d365xero.store.db import connect

    engine = connect(url, create=False)
    try:
        with engine.connect() as connection:
            return sa.inspect(connection).has_table("procrastinate_jobs")
    finally:
        engine.dispose()


secrets_app = typer.Typer(
    help="The key that seals stored credentials.", epilog=EXIT_CODES, no_args_is_help=True
)
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("rotate", epilog=EXIT_CODES)
def secrets_rotate(
    new_key: bool = typer.Option(
        False,
        "--new-key",
        help="Generate a new key into the data folder first (the current one is kept in "
        "secret.key.old until the rotation ends). With D365XERO_SECRET_KEY set, put the new key "
        "there and the old ones in D365XERO_OLD_SECRET_KEYS instead.",
    ),
) -> None:
    """Seal every stored credential again with the current key (D365XERO_SECRET_KEY, or the data
    folder's secret.key), reading with the old ones (D365XERO_OLD_SECRET_KEYS, secret.key.old).
    Committed in batches: an interrupted rotation is resumed by running it again."""
    from d365xero.config import get_settings
    from d365xero.jobs.runtime import open_runtime
    from d365xero.store.rotation import rotate
    from d365xero.store.secrets import forget_old_key_file, new_key_file

    settings = get_settings()
    if new_key:
        new_key_file(settings)
        typer.echo("new key written to the data folder; the old one is read until this ends")
    runtime = open_runtime(settings, migrate=False, create=False)
    try:
        done = rotate(runtime.sessions, runtime.box)
    finally:
        runtime.close()
    typer.echo(f"{done.resealed} re-encrypted, {done.current} already under the current key")
    if forget_old_key_file(settings):
        typer.echo("the replaced key is removed from the data folder")
    elif settings.old_secret_keys:
        typer.echo("every secret is under the current key: D365XERO_OLD_SECRET_KEYS may go")


solution_app = typer.Typer(
    help="The Dynamics 365 solution d365xero needs.", epilog=EXIT_CODES, no_args_is_help=True
)
app.add_typer(solution_app, name="solution")


@solution_app.command("build", epilog=EXIT_CODES)
def solution_build(
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the .zip file."),
    version: str | None = typer.Option(
        None,
        callback=_solution_version,
        help="Solution version, major.minor[.build[.revision]] (default: the current one).",
    ),
) -> None:
    """Write the solution .zip to import into Dynamics 365 (Settings > Solutions > Import)."""
    from d365xero.solution.build import build_solution
    from d365xero.solution.report import describe, write_zip

    data = build_solution(version) if version else build_solution()
    write_zip(output, data)
    typer.echo(f"Wrote {output} ({len(data):,} bytes)")
    typer.echo(describe(data))


@solution_app.command("check", epilog=EXIT_CODES)
def solution_check(file: Path = typer.Argument(..., help="A solution .zip file.")) -> None:
    """Say what a solution .zip holds (exit 0), or why d365xero would refuse it (exit 1)."""
    from d365xero.solution.reader import SolutionRejected
    from d365xero.solution.report import describe, read_zip

    data = read_zip(file)  # a file that cannot be read is bad usage (2), not a refusal
    try:
        typer.echo(describe(data))
    except SolutionRejected as exc:  # the answer to the question asked: the command did its job
        typer.secho(f"refused: {one_line(exc)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc


connection_app = typer.Typer(
    help="Connections between Xero and Dynamics.", epilog=EXIT_CODES, no_args_is_help=True
)
app.add_typer(connection_app, name="connection")


@connection_app.command("add", epilog=EXIT_CODES)
def connection_add(
    name: str = typer.Option(..., help="A name for the connection (unique, whatever the case)."),
    dataverse_url: str = typer.Option(
        ..., help="The Dynamics organisation's URL, e.g. https://ORG.crm.dynamics.com."
    ),
    xero_client_id: str = typer.Option(..., help="The Xero custom connection's client id."),
    dataverse_client_id: str = typer.Option(..., help="The application user's client id."),
    xero_client_secret: str | None = typer.Option(
        None,
        help="Its client secret; better from D365XERO_XERO_CLIENT_SECRET or the hidden prompt, "
        "which keep it out of `ps` and shell history.",
    ),
    dataverse_client_secret: str | None = typer.Option(
        None,
        help="The application user's client secret; better from "
        "D365XERO_DATAVERSE_CLIENT_SECRET or the hidden prompt.",
    ),
    xero_url: str | None = typer.Option(
        None, help="Xero's origin (default D365XERO_XERO_URL, else https://api.xero.com)."
    ),
    xero_tenant_id: str | None = typer.Option(None, help="Which organisation, if several."),
    dataverse_tenant: str | None = typer.Option(
        None, help="The Entra ID tenant (default: the one the organisation names)."
    ),
    dataverse_authority: str | None = typer.Option(
        None, help="Entra ID's origin (default: the one the organisation names)."
    ),
    timezone: str = typer.Option("Europe/London", help="IANA time zone of the organisations."),
) -> None:
    """Connect a Xero organisation and a Dynamics organisation without a browser, using a Xero
    custom connection and a Dataverse application user. Only https URLs are accepted (plain
    http to this machine only)."""
    from d365xero.config import get_settings
    from d365xero.errors import D365XeroError
    from d365xero.jobs.runtime import open_runtime
    from d365xero.jobs.setup import NewConnection, add_connection
    from d365xero.urls import organisation_url, remote_url

    try:
        settings = get_settings()
        # The URL policy before any prompt: a refused URL should not cost the user a secret.
        organisation_url(dataverse_url)
        remote_url(xero_url or settings.xero_url, "the Xero URL")
        if dataverse_authority:
            remote_url(dataverse_authority, "the Entra ID authority")
        new = NewConnection(
            name=name,
            xero_url=xero_url or settings.xero_url,
            xero_client_id=xero_client_id,
            xero_client_secret=_secret(
                xero_client_secret, settings.xero_client_secret, "Xero client secret", "XERO"
            ),
            xero_tenant_id=xero_tenant_id,
            dataverse_url=dataverse_url,
            dataverse_tenant=dataverse_tenant,
            dataverse_client_id=dataverse_client_id,
            dataverse_client_secret=_secret(
                dataverse_client_secret,
                settings.dataverse_client_secret,
                "Dynamics client secret",
                "DATAVERSE",
            ),
            dataverse_authority=dataverse_authority,
            timezone=timezone,
        )
        runtime = open_runtime(settings)
    except D365XeroError as exc:
        raise _fail(exc) from exc
    try:
        connection, counts = add_connection(runtime.settings, runtime.sessions, runtime.box, new)
        typer.echo(
            f"Connected '{connection.name}' to Xero organisation {connection.xero_tenant_name}"
        )
        for table, count in counts.items():
            typer.echo(f"  {table}: {count}")
        _dataverse_webhook(runtime, connection.id)
    except D365XeroError as exc:
        raise _fail(exc) from exc
    finally:
        runtime.close()


def _dataverse_webhook(runtime: Any, connection_id: str) -> None:
    """Registers the connection's Dynamics webhook, or says why not (polling still syncs)."""
    from d365xero.errors import D365XeroError
    from d365xero.jobs.hooks import ensure_dataverse_webhook

    try:
        typer.echo(ensure_dataverse_webhook(runtime, connection_id))
    except D365XeroError as exc:
        typer.secho(
            f"warning: Dynamics webhook not registered ({one_line(exc)}); polling still syncs",
            err=True,
        )


def _secret(flag: str | None, setting: SecretStr | None, what: str, service: str) -> str:
    """A client secret from its flag, else D365XERO_<service>_CLIENT_SECRET, else a hidden
    prompt."""
    from d365xero.errors import ConfigurationError

    if flag:
        return flag
    if setting is not None and setting.get_secret_value():
        return setting.get_secret_value()
    try:
        value = str(typer.prompt(what, hide_input=True)).strip()
    except typer.Abort:  # no terminal to ask on (stdin closed)
        value = ""
    if not value:
        raise ConfigurationError(
            f"no {what}: set D365XERO_{service}_CLIENT_SECRET, type it at the prompt, or give "
            f"--{service.lower()}-client-secret"
        )
    return value


@connection_app.command("list", epilog=EXIT_CODES)
def connection_list() -> None:
    """The connections and their state (reads the store; creates nothing)."""
    from d365xero.config import get_settings
    from d365xero.jobs.runtime import open_runtime
    from d365xero.store import connections

    runtime = open_runtime(get_settings(), migrate=False, create=False)
    try:
        with runtime.sessions() as session:
            found = connections.list_connections(session)
    finally:
        runtime.close()
    if not found:
        typer.echo(connections.NONE_YET)
        return
    from d365xero.jobs.hooks import liveness

    header = ("NAME", "STATUS", "PLAN", "XERO ORGANISATION", "DYNAMICS URL", "WEBHOOKS")
    plans = [connections.connection_entitlement(c) for c in found]
    rows = [
        (c.name, c.status, p.reason, c.xero_tenant_name or "", c.dataverse_url or "", liveness(c))
        for c, p in zip(found, plans, strict=True)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row, c in zip([header, *rows], [None, *found], strict=True):
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if c is not None and c.status_message:
            typer.echo(f"    {c.status_message}")  # why it is paused, and what to do


def _named(session: Any, name: str) -> Any:
    """The connection of that name, or a ConfigurationError saying where to look."""
    from d365xero.errors import ConfigurationError
    from d365xero.store import connections

    found = connections.find_connection(session, name)
    if found is None:
        raise ConfigurationError(f"no connection named {name!r} (see `d365xero connection list`)")
    return found


@connection_app.command("remove", epilog=EXIT_CODES)
def connection_remove(
    name: str = typer.Option(..., callback=_text, help="The connection's name."),
) -> None:
    """Forget a connection and its credentials (its records in Dynamics and Xero stay)."""
    from d365xero.config import get_settings
    from d365xero.errors import D365XeroError
    from d365xero.jobs.hooks import remove_dataverse_webhook
    from d365xero.jobs.runtime import open_runtime
    from d365xero.store import connections

    runtime = open_runtime(get_settings(), create=False)
    try:
        with runtime.sessions.begin() as session:
            found = _named(session, name)
            try:
                if line := remove_dataverse_webhook(runtime, found):
                    typer.echo(line)
            except D365XeroError as exc:  # Dynamics unreachable: the connection still goes
                typer.secho(
                    f"warning: could not remove the Dynamics webhook ({one_line(exc)}); delete "
                    f"the service endpoint 'd365xero {found.id}' in the Plug-in Registration Tool",
                    err=True,
                )
            connections.delete_connection(session, found)
    finally:
        runtime.close()
    typer.echo(f"'{name}' removed.")


@connection_app.command("resume", epilog=EXIT_CODES)
def connection_resume(
    name: str = typer.Option(..., callback=_text, help="The connection's name."),
) -> None:
    """Sync a paused connection again (after reconnecting what paused it)."""
    from d365xero.config import get_settings
    from d365xero.jobs.runtime import open_runtime
    from d365xero.store import connections

    runtime = open_runtime(get_settings(), create=False)
    try:
        with runtime.sessions.begin() as session:
            found = _named(session, name)
            connections.resume_connection(found)
            connection_id = found.id
        typer.echo(f"'{name}' resumed: the next pass syncs it.")
        _dataverse_webhook(runtime, connection_id)
    finally:
        runtime.close()


@app.command(epilog=EXIT_CODES)
def sync(
    connection: str | None = typer.Option(
        None, callback=_text, help="Only this connection (by name)."
    ),
    once: bool = typer.Option(False, "--once", help="One pass, then exit."),
    interval: float = _interval(30.0, "passes"),
    wait: float = typer.Option(
        0.0,
        callback=_within(0, MAX_INTERVAL, f"give seconds from 0 to {MAX_INTERVAL}"),
        help="If a pass of the connection is already running (another process or machine), "
        "wait up to this many seconds for it to end; by default skip it and say so.",
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Show what one pass would send and why, changing nothing (creates no store).",
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Counts per connection only, not a line per invoice."
    ),
) -> None:
    """Push ready Dynamics invoices to Xero and write the results back: a line per connection
    and pass, then a line per invoice it created, updated, failed or deferred (with why). One
    pass of a connection runs at a time: a pass that finds another running says so and does
    nothing (exit 0: the other pass is doing the work)."""
    from d365xero.config import get_settings
    from d365xero.exits import DONE, FAILED
    from d365xero.jobs.runtime import open_runtime
    from d365xero.store.models import RunStatus

    worst = DONE

    def failed(name: str, exc: D365XeroError) -> None:
        nonlocal worst
        typer.secho(f"error: {name}: {one_line(exc)}", fg=typer.colors.RED, err=True)
        worst = max(worst, exit_code(exc) or FAILED)

    def finished(result: PassResult) -> None:
        nonlocal worst
        if result.status not in (RunStatus.succeeded, RunStatus.skipped):
            worst = max(worst, FAILED)

    runtime = open_runtime(get_settings(), migrate=not dry_run, create=False)
    try:
        if dry_run:
            _dry_run(runtime, connection, failed)
        else:
            from d365xero.jobs.scheduler import run_passes

            run_passes(
                runtime,
                connection_name=connection,
                once=once,
                interval=interval,
                wait=wait,
                echo=typer.echo,
                on_result=finished,
                on_error=failed,
                invoices=not quiet,
            )
    except KeyboardInterrupt:  # how a looping sync is stopped; a single pass cut short is not done
        typer.echo("stopped")
        worst = max(worst, FAILED) if once or dry_run else DONE
    finally:
        runtime.close()
    if worst:
        raise typer.Exit(worst)


def _dry_run(runtime: Any, name: str | None, failed: Callable[[str, D365XeroError], None]) -> None:
    from d365xero.errors import D365XeroError
    from d365xero.jobs.passes import dry_run_pass
    from d365xero.jobs.scheduler import connections_to_run, describe_dry_run
    from d365xero.store import connections

    found = connections_to_run(runtime, name)
    if not found:
        typer.echo(connections.NONE_YET)
    for connection_id, connection_name in found:
        try:
            typer.echo(describe_dry_run(dry_run_pass(runtime, connection_id)))
        except D365XeroError as exc:  # this one cannot be tried; the others still are
            failed(connection_name, exc)


class ReferenceKind(StrEnum):
    taxrates = "taxrates"
    accounts = "accounts"
    brandingthemes = "brandingthemes"


def _connection_clients(runtime: Any, name: str) -> tuple[Any, Any]:
    """(the connection of that name, its clients)."""
    from d365xero.store import connections

    with runtime.sessions() as session:
        found = _named(session, name)
        return found, runtime.clients_for(found, connections.read_secrets(runtime.box, found))


def _progress() -> Any:
    """A Rich progress bar on stderr, so stdout keeps only the results."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )


@app.command("reference-data", epilog=EXIT_CODES)
def reference_data(
    connection: str = typer.Option(..., callback=_text, help="The connection's name."),
    only: ReferenceKind | None = typer.Option(
        None,
        "--only",
        help="Only this kind. The order is tax rates, accounts, branding themes: a kind is "
        "refused while Dynamics has none of the kinds before it.",
    ),
) -> None:
    """Import Xero's tax rates, then accounts, then branding themes into Dynamics (upserted by
    Xero id; rows archived or removed in Xero are deactivated, never deleted)."""
    from d365xero.config import get_settings
    from d365xero.errors import D365XeroError, PassInProgress
    from d365xero.jobs.runtime import open_runtime
    from d365xero.store import locks
    from d365xero.store.locks import released as lock_released
    from d365xero.sync.reference import KINDS, LABELS, sync_reference_data

    kinds = [only.value] if only else list(KINDS)
    runtime = open_runtime(get_settings(), create=False)
    try:
        found, clients = _connection_clients(runtime, connection)
        # The pass lock, as the Synchronisation Center's imports take it: never two imports
        # of one connection at once, nor one beside a pass (whose first step writes these rows).
        try:
            lock = locks.take_pass_lock(runtime.engine, found.id)
        except PassInProgress as busy:
            raise D365XeroError(f"reference-data: {busy}; run it again when it has ended") from busy
        with lock_released(lock), _progress() as progress:
            task = progress.add_task("Reference data", total=len(kinds))

            def done(kind: str, counts: dict[str, int]) -> None:
                progress.update(task, advance=1, description=LABELS[kind])

            _, counts = sync_reference_data(
                clients.xero, clients.dynamics, found.xero_tenant_id or "", kinds, done
            )
    finally:
        runtime.close()
    for table, count in counts.items():
        typer.echo(f"{table}: {count}")


@app.command(epilog=EXIT_CODES)
def retry(
    connection: str = typer.Option(..., callback=_text, help="The connection's name."),
    invoice: str | None = typer.Option(
        None, callback=_text, help="The Dynamics invoice number of one Failed invoice."
    ),
    all_failed: bool = typer.Option(
        False, "--all-failed", help="Every Failed invoice of the connection."
    ),
) -> None:
    """Set Failed invoices back to export status No (and forget their retry backoff), so the
    next pass sends them again; says how many."""
    from d365xero.config import get_settings
    from d365xero.domain.retry import RetryPolicy
    from d365xero.errors import ConfigurationError
    from d365xero.jobs.retries import StoreRetries
    from d365xero.jobs.retry_failed import reset_failed
    from d365xero.jobs.runtime import open_runtime

    if (invoice is None) == (not all_failed):
        raise ConfigurationError("retry: give either --invoice NUMBER or --all-failed (not both)")
    runtime = open_runtime(get_settings(), create=False)
    try:
        found, clients = _connection_clients(runtime, connection)
        # Clearing rows needs no policy: the default one is never consulted.
        retries = StoreRetries(runtime.sessions, found.id, RetryPolicy())
        result = reset_failed(clients, retries, invoice)
    finally:
        runtime.close()
    if invoice is not None and not result.reset:
        typer.echo(f"{invoice} is not Failed: nothing to retry")
        return
    for item in result.reset:
        typer.echo(f"  {item.number}")
    typer.echo(
        f"{len(result.reset)} invoice(s) set back to export status No: the next pass sends them"
    )


def _day_option(value: str | None) -> Any:
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"give a date as YYYY-MM-DD, not {value!r}") from exc


@app.command(epilog=EXIT_CODES)
def backfill(
    connection: str = typer.Option(..., callback=_text, help="The connection's name."),
    since: str = typer.Option(
        ..., callback=_day_option, metavar="YYYY-MM-DD", help="Invoices dated on or after."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List what would be linked, changing nothing."
    ),
) -> None:
    """Link invoices that already exist in both Dynamics and Xero (by invoice number; else by
    contact, date and total; never guessing between two candidates, which are listed), give
    them their Xero details, and bring back their status and payments. Resumable: run it again
    after an interruption. Exit 1 when some invoices had two candidates (left unlinked)."""
    from datetime import UTC, datetime

    from d365xero.config import get_settings
    from d365xero.exits import FAILED
    from d365xero.jobs import backfill as job
    from d365xero.jobs.marks import StoreMarks
    from d365xero.jobs.runtime import open_runtime
    from d365xero.store import locks
    from d365xero.sync.backsync import BackSync

    day: Any = since
    runtime = open_runtime(get_settings(), migrate=not dry_run, create=False)
    try:
        found, clients = _connection_clients(runtime, connection)
        if dry_run:
            result = job.plan(clients, day)
        else:
            marks = StoreMarks(runtime.sessions, found.id)
            back = BackSync(clients.xero, clients.dynamics, marks, lambda: datetime.now(UTC))
            lock = locks.take_pass_lock(runtime.engine, found.id)  # no pass writes meanwhile
            try:
                with _progress() as progress:
                    task = progress.add_task("Linking", total=None)

                    def advance(done: int, total: int) -> None:
                        progress.update(task, completed=done, total=total)

                    result = job.backfill(clients, marks, day, back.settle, advance)
            finally:
                lock.release()
    finally:
        runtime.close()
    verb = "would link" if dry_run else "linked"
    for link in result.links:
        typer.echo(
            f"{verb} {link.invoice.name} to Xero invoice {link.xero.number or link.xero.xero_id} "
            f"(same {link.by})"
        )
    for doubt in result.ambiguous:
        names = ", ".join(x.number or x.xero_id for x in doubt.candidates)
        typer.echo(f"not linked: {doubt.invoice.name} could be any of {names} (link it by hand)")
    if result.resumed:
        typer.echo(f"finished {result.resumed} invoice(s) an interrupted run had linked")
    typer.echo(
        f"{len(result.links)} invoice(s) {verb}, {len(result.ambiguous)} with several "
        f"candidates, {result.unmatched} with none"
    )
    if result.ambiguous and not dry_run:
        raise typer.Exit(FAILED)


@app.command(epilog=EXIT_CODES)
def reconcile(
    connection: str = typer.Option(..., callback=_text, help="The connection's name."),
    csv: Path | None = typer.Option(
        None, "--csv", metavar="FILE", help="Also write the findings to FILE as CSV."
    ),
) -> None:
    """Compare every linked invoice's total, tax, status and amount due in Dynamics and Xero,
    and list invoices only one side has. Exit 0 when all agree, 1 when something differs."""
    from d365xero.config import get_settings
    from d365xero.exits import FAILED
    from d365xero.jobs.reconcile import reconcile_connection, report_lines, write_csv
    from d365xero.jobs.runtime import open_runtime

    runtime = open_runtime(get_settings(), create=False)
    try:
        _, clients = _connection_clients(runtime, connection)
        result = reconcile_connection(clients)
    finally:
        runtime.close()
    found = result.reconciliation
    for line in report_lines(found):
        typer.echo(line)
    if csv is not None:
        write_csv(csv, found)
    verdict = "all agree" if found.agrees else "differences found"
    typer.echo(
        f"{found.linked} linked invoice(s) compared: {verdict} "
        f"({result.xero_calls} Xero call(s), {result.dataverse_calls} Dynamics call(s))"
    )
    if not found.agrees:
        raise typer.Exit(FAILED)


@app.command(epilog=EXIT_CODES)
def serve(
    host: str = typer.Option("127.0.0.1", callback=_text, help="Address to listen on."),
    port: int = typer.Option(
        8000,
        callback=_within(1, 65535, "give a TCP port from 1 to 65535"),
        help="TCP port to listen on (1 to 65535).",
    ),
    no_scheduler: bool = typer.Option(
        False,
        "--no-scheduler",
        help="Serve the web app only; passes are run elsewhere (e.g. by `d365xero worker`).",
    ),
) -> None:
    """The web app (webhooks, /healthz, /readyz, /metrics) and the scheduler: every active
    connection gets a pass at start, then every 5 minutes (30 while its webhooks work), and
    soon after a webhook says something changed. Ctrl-C or SIGTERM stops it cleanly."""
    from d365xero.config import get_settings
    from d365xero.portal.server import run_serve

    run_serve(get_settings(), host=host, port=port, scheduler=not no_scheduler, echo=typer.echo)


@app.command(epilog=EXIT_CODES)
def demo(
    once: bool = typer.Option(False, "--once", help="One sync pass, then exit."),
    interval: float = _interval(10.0, "sync passes"),
    port: int = typer.Option(
        8000,
        callback=_within(1, 65535, "give a TCP port from 1 to 65535"),
        help="TCP port of the web app `serve` runs for the demo (webhooks, /metrics).",
    ),
) -> None:
    """Both emulators with sample data, a connection and sync passes, in one process: after
    the first pass, `serve` (its web app and scheduler) with both emulators' webhooks set."""
    from d365xero.config import get_settings
    from d365xero.demo import run_demo

    run_demo(get_settings(), once=once, interval=interval, port=port, echo=typer.echo)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
