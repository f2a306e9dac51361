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
    tls: bool = typer.Option(False, "--tls", help="Serve HTTPS with a certificate from the local CA."),
    seed: bool = typer.Option(False, "--seed", help="Load the sample data at start."),
    client_id: str = typer.Option("d365xero-demo", help="The registered app's client id."),
    client_secret: str = typer.Option("demo-secret", help="The registered app's client secret."),
) -> None:
    """Run one emulator (Xero or Dataverse) until Ctrl-C."""
    from d365xero.config import get_settings
    from d365xero.emulators.core.server import serve_forever
    from d365xero.emulators.core.tls import LocalCA

    settings = get_settings()
    if service is EmulatedService.xero:
        from d365xero.emulators.xero.app import create_app as create_xero

        asgi = create_xero(client_id=client_id, client_secret=client_secret)
    else:
        from d365xero.emulators.dataverse.app import create_app as create_dataverse

        asgi = create_dataverse(client_id=client_id, client_secret=client_secret)
    if seed:
        asgi.state.emulator.seed()
    files = None
    if tls:
        ca = LocalCA.load_or_create(settings.ensure_data_dir())
        files = ca.issue(f"{service.value}-emulator", hosts=(host, "localhost", "127.0.0.1"))
        typer.echo(f"CA certificate: {ca.cert_path.resolve()}")
    scheme = "https" if tls else "http"
    typer.echo(f"{service.value} emulator on {scheme}://{host}:{port}")
    serve_forever(asgi, host, port, files)


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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
