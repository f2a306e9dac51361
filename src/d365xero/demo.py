"""`d365xero demo`: both emulators over HTTPS with sample data, a connection, sample invoices
and sync passes, in one process on SQLite. Used by the CLI only (it imports the emulators)."""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from d365xero.config import Settings
from d365xero.dataverse.client import DataverseClient
from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.core.tls import LocalCA
from d365xero.emulators.dataverse.app import create_app as create_dataverse
from d365xero.emulators.stripe.app import create_app as create_stripe
from d365xero.emulators.xero.app import create_app as create_xero
from d365xero.jobs.passes import PassResult
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.jobs.scheduler import run_passes, summary
from d365xero.jobs.setup import NewConnection, add_connection
from d365xero.portal.demo_user import EMAIL as DEMO_EMAIL
from d365xero.portal.demo_user import demo_user, sign_in_minutes, sign_in_url
from d365xero.portal.server import run_serve
from d365xero.solution import schema
from d365xero.store import connections

CLIENT_ID, CLIENT_SECRET, TENANT = "d365xero-demo", "demo-secret", "demo-tenant"
CONNECTION_NAME = "Demo Company (UK) - Dynamics"


def demo_connection(xero_url: str, dataverse_url: str, user_id: str | None = None) -> NewConnection:
    """The connection to the two emulators, with their demo app's credentials (owned by the
    portal's demo user when `user_id` is given)."""
    return NewConnection(
        user_id=user_id,
        name=CONNECTION_NAME,
        xero_url=xero_url,
        xero_client_id=CLIENT_ID,
        xero_client_secret=CLIENT_SECRET,
        dataverse_url=dataverse_url,
        dataverse_tenant=TENANT,
        dataverse_client_id=CLIENT_ID,
        dataverse_client_secret=CLIENT_SECRET,
        dataverse_authority=dataverse_url,
    )


def _one(client: DataverseClient, entity_set: str, filter_: str, select: str) -> dict[str, Any]:
    rows = client.get(entity_set, {"$filter": filter_, "$select": select, "$top": "1"})["value"]
    if not rows:
        raise LookupError(f"the demo's sample data has no {entity_set} where {filter_}")
    return dict(rows[0])


def _bind(entity_set: str, row_id: str) -> str:
    return f"/{entity_set}({row_id})"


def create_sample_invoices(client: DataverseClient, connection_row_id: str, today: date) -> int:
    """The seed's worked example and a few more: each case the sync must handle."""
    account = _one(client, "accounts", "name eq 'A. Datum Corporation (sample)'", "accountid")
    other = _one(client, "accounts", "name ne 'A. Datum Corporation (sample)'", "accountid")
    contact = _one(client, "contacts", "fullname ne null", "contactid")
    price_list = _one(client, "pricelevels", "name ne null", "pricelevelid")
    gbp = _one(client, "transactioncurrencies", "isocurrencycode eq 'GBP'", "transactioncurrencyid")
    product = _one(client, "products", "productnumber ne null", "productid,_defaultuomid_value")
    theme = _one(
        client, "dxc_brandingthemes", "dxc_name eq 'Very orange invoice!'", "dxc_brandingthemeid"
    )
    sales = schema.option_value(schema.INVOICE_TYPE, "Sales")
    exclusive = schema.option_value(schema.LINE_AMOUNT_TYPES, "Exclusive")

    def invoice(name: str, customer: tuple[str, str] | None, delivered: date, **more: Any) -> str:
        body: dict[str, Any] = {
            "name": name,
            "description": f"Demo: {name}",
            "transactioncurrencyid@odata.bind": _bind(
                "transactioncurrencies", gbp["transactioncurrencyid"]
            ),
            "datedelivered": delivered.isoformat(),
            "duedate": (delivered + timedelta(days=30)).isoformat(),
            "dxc_ConnectionId@odata.bind": _bind("dxc_connections", connection_row_id),
            "dxc_invoicetype": sales,
            "dxc_lineamounttypes": exclusive,
            **more,
        }
        if customer:
            nav, entity_set, row_id = customer[0], customer[0].split("_")[-1] + "s", customer[1]
            body[f"{nav}@odata.bind"] = _bind(entity_set, row_id)
        return client.create("invoices", body)

    def write_in(invoice_id: str, text: str, quantity: float, price: float) -> None:
        client.create(
            "invoicedetails",
            {
                "invoiceid@odata.bind": _bind("invoices", invoice_id),
                "isproductoverridden": True,
                "productdescription": text,
                "quantity": quantity,
                "priceperunit": price,
            },
        )

    price_list_bind = {"pricelevelid@odata.bind": _bind("pricelevels", price_list["pricelevelid"])}
    seed = invoice(
        "test Enrico 1",
        ("customerid_account", account["accountid"]),
        today,
        description="ygtbebf",
        **price_list_bind,
        **{
            "dxc_BrandingThemeId@odata.bind": _bind(
                "dxc_brandingthemes", theme["dxc_brandingthemeid"]
            )
        },
    )
    write_in(seed, "Test line 1 Here are some stuff", 3, 300.00)
    write_in(seed, "This is just a great comment", 0, 0)
    client.create(
        "invoicedetails",
        {
            "invoiceid@odata.bind": _bind("invoices", seed),
            "productid@odata.bind": _bind("products", product["productid"]),
            "uomid@odata.bind": _bind("uoms", product["_defaultuomid_value"]),
            "quantity": 2,
            "priceperunit": 99.00,
            "ispriceoverridden": True,
        },
    )
    second = invoice(
        "Support renewal", ("customerid_contact", contact["contactid"]), today, **price_list_bind
    )
    write_in(second, "Premium support, 12 months", 1, 1200.00)
    third = invoice(
        "Consulting", ("customerid_account", other["accountid"]), today, **price_list_bind
    )
    write_in(third, "Consulting day", 2.5, 650.00)
    no_price_list = invoice("Missing price list", ("customerid_account", other["accountid"]), today)
    write_in(no_price_list, "Anything", 1, 10.00)
    later = invoice(
        "Delivered tomorrow",
        ("customerid_account", account["accountid"]),
        today + timedelta(days=1),
        **price_list_bind,
    )
    write_in(later, "Next day delivery", 1, 50.00)
    return 5


def _table(results: list[PassResult]) -> Table:
    table = Table(title="Invoices this pass")
    for column in ("Invoice", "Result", "Xero number", "Details"):
        table.add_column(column)
    for result in results:
        for o in result.report.outcomes:
            table.add_row(o.invoice_name, o.result, o.xero_number or "", o.message[:90])
    return table


def _the_loop(
    runtime: Runtime,
    connection_id: str,
    ca_cert: Any,
    xero_url: str,
    numbers: list[str],
    echo: Callable[[str], object],
) -> None:
    """A person pays in Xero; the next pass brings it back; what Dynamics shows then."""
    import httpx

    from d365xero.demo_loop import XeroUser, balances, came_back, pay_two
    from d365xero.trust import ssl_context

    with runtime.sessions() as session:
        tenant_id = connections.get_connection(session, connection_id).xero_tenant_id or ""
    with httpx.Client(verify=ssl_context(ca_cert), timeout=30) as http:
        user = XeroUser(http, xero_url, tenant_id, CLIENT_ID, CLIENT_SECRET)
        full, part = pay_two(user, numbers)
    echo(
        f"In Xero, as a user: approved {full.number} and paid it in full ({full.amount:.2f}); "
        f"approved {part.number} and paid {part.amount:.2f} of {part.total:.2f}"
    )
    run_passes(runtime, once=True, echo=echo)
    with runtime.sessions() as session:  # the pass's clients, as they are now
        stored = connections.get_connection(session, connection_id)
        assert stored is not None
        dynamics = runtime.clients_for(stored, connections.read_secrets(runtime.box, stored))
    Console().print(came_back(dynamics.dataverse, [full, part]))
    for line in balances(dynamics.dataverse, [full, part]):
        echo(line)


def _subscribe_xero_when_up(xero_app: Any, url: str, key: str, origin: str) -> None:
    """Sets the Xero emulator's webhook (as the developer portal would) once `serve` answers:
    Intent to Receive calls it straight away."""

    def wait_and_subscribe() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        xero_app.state.emulator.webhooks.subscribe(f"{url}/webhooks/xero", key, origin)

    threading.Thread(target=wait_and_subscribe, daemon=True).start()


def run_demo(
    settings: Settings,
    *,
    once: bool = False,
    interval: float = 10.0,
    port: int = 8000,
    echo: Callable[[str], object] = print,
) -> None:
    console = Console()
    data_dir = settings.ensure_data_dir()
    ca = LocalCA.load_or_create(data_dir)
    demo_dir = data_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)  # the emulators start empty: so does the store
    demo_dir.mkdir(parents=True)
    served = f"http://127.0.0.1:{port}"
    webhook_key = secrets.token_urlsafe(32)
    settings = settings.model_copy(
        update={
            "ca_bundle": ca.cert_path,
            "database_url": f"sqlite:///{(demo_dir / 'd365xero.sqlite3').resolve()}",
            "public_url": served,
            "xero_webhook_key": SecretStr(webhook_key),
        }
    )
    # Plans and billing against the Stripe stand-in (plain http on loopback, so a browser opens
    # its checkout page without a certificate warning); its events go to serve.
    stripe_app = create_stripe()
    stripe_backend = stripe_app.state.emulator
    stripe = ServerThread(stripe_app).start()
    stripe_backend.sender.register(f"{served}/webhooks/stripe")
    settings = settings.model_copy(
        update={
            "stripe_url": stripe.url,
            "stripe_secret_key": SecretStr(stripe_backend.secret_key),
            "stripe_webhook_secret": SecretStr(stripe_backend.webhook_secret),
        }
    )
    xero_app = create_xero(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    dataverse_app = create_dataverse(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tenant=TENANT
    )
    xero_app.state.emulator.seed()
    dataverse_app.state.emulator.seed()
    xero = ServerThread(xero_app, tls=ca.issue("demo-xero")).start()
    dataverse = ServerThread(dataverse_app, tls=ca.issue("demo-dataverse")).start()
    runtime: Runtime | None = None
    try:
        echo(f"Xero emulator:      {xero.url}  (client id {CLIENT_ID}, secret {CLIENT_SECRET})")
        echo(f"Dataverse emulator: {dataverse.url}  (tenant {TENANT})")
        echo(f"Stripe stand-in:    {stripe.url}  (test card 4242 4242 4242 4242)")
        echo(f"Local CA:           {ca.cert_path.resolve()}")
        runtime = open_runtime(settings)
        with runtime.sessions.begin() as session:
            owner = demo_user(session).id
        connection, counts = add_connection(
            settings,
            runtime.sessions,
            runtime.box,
            demo_connection(xero.url, dataverse.url, owner),
        )
        echo(
            f"Connection '{connection.name}' made for the portal user {DEMO_EMAIL}; "
            f"reference data: {_reference_counts(counts)}"
        )
        with runtime.sessions() as session:
            stored = connections.get_connection(session, connection.id)
            assert stored is not None
            clients = runtime.clients_for(stored, connections.read_secrets(runtime.box, stored))
            today = datetime.now(UTC).date()
            create_sample_invoices(
                clients.dataverse, stored.dataverse_connection_row_id or "", today
            )
        xero_app.state.emulator.calls.clear()
        dataverse_app.state.emulator.calls.clear()
        results: list[PassResult] = []
        run_passes(runtime, once=True, echo=echo, on_result=results.append)
        console.print(_table(results))
        created = sum(r.report.count("created") for r in results) or 1
        xero_calls = xero_app.state.emulator.calls.total("/api.xro")
        dataverse_calls = dataverse_app.state.emulator.calls.total("/api/data")
        echo(
            f"First pass: {xero_calls} Xero API calls and {dataverse_calls} Dataverse API calls "
            f"for {created} invoices created ({xero_calls / created:.2f} and "
            f"{dataverse_calls / created:.2f} per invoice)"
        )
        created_numbers = [
            o.xero_number
            for r in results
            for o in r.report.outcomes
            if o.result == "created" and o.xero_number
        ]
        _the_loop(runtime, connection.id, ca.cert_path, xero.url, created_numbers, echo)
        if once:
            return
        with runtime.sessions.begin() as session:
            stored = connections.get_connection(session, connection.id)
            assert stored is not None
            stored.poll_seconds = max(1, round(interval))
        echo(
            f"Serving on {served} (webhooks, /metrics); passes on every change and every "
            f"{interval:.0f} s; press Ctrl-C to stop."
        )
        _subscribe_xero_when_up(xero_app, served, webhook_key, xero.url)
        with runtime.sessions.begin() as session:
            link = sign_in_url(session, demo_user(session), served)
        echo(
            f"Portal: open {link} to be signed in as {DEMO_EMAIL} (works once, for "
            f"{sign_in_minutes()} minutes; then use Forgotten password? on {served}/login: "
            f"its email is on {served}/outbox)."
        )

        def told(result: PassResult, reason: str) -> None:
            echo(f"[{reason}] {summary(result)}")

        run_serve(settings, port=port, echo=echo, runtime=runtime, on_result=told)
    except KeyboardInterrupt:
        echo("Stopping.")
    finally:
        if runtime:
            runtime.close()
        xero.stop()
        dataverse.stop()
        stripe.stop()


def _reference_counts(counts: dict[str, int]) -> str:
    """The reference data made, as a person reads it (9 tax rates, 13 account codes, ...)."""
    names = {
        "dxc_taxtypes": "tax rates",
        "dxc_chartofaccounts": "account codes",
        "dxc_brandingthemes": "branding themes",
    }
    return ", ".join(f"{counts.get(table, 0)} {label}" for table, label in names.items())
