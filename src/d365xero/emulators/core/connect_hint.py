"""What `d365xero emulate` prints so that a connector can reach it: the emulator's half of
`d365xero connection add` (a connection needs both halves: one from each emulator)."""

from __future__ import annotations

from pathlib import Path

# The emulators' published default (DESIGN, README): printing it gives nothing away. A secret
# given with --client-secret is the user's own and is never printed.
DEMO_SECRET = "demo-secret"


def _secret(client_secret: str) -> str:
    return client_secret if client_secret == DEMO_SECRET else "<the --client-secret you gave>"


def connection_half(
    service: str, url: str, client_id: str, client_secret: str, tenant: str | None = None
) -> list[str]:
    """Lines naming the environment variable and the flags of `connection add` for `service`
    ("xero" or "dataverse") served at `url`."""
    if service == "xero":
        return [
            "Xero half of `d365xero connection add` "
            "(the Dynamics half is printed by `d365xero emulate dataverse`):",
            f"  D365XERO_XERO_CLIENT_SECRET={_secret(client_secret)}",
            f"  --xero-url {url} --xero-client-id {client_id}",
        ]
    # The Entra token endpoint is the emulator's own (/<tenant>/oauth2/v2.0/token), so the
    # authority is its URL too.
    return [
        "Dynamics half of `d365xero connection add` "
        "(the Xero half is printed by `d365xero emulate xero`):",
        f"  D365XERO_DATAVERSE_CLIENT_SECRET={_secret(client_secret)}",
        f"  --dataverse-url {url} --dataverse-tenant {tenant} "
        f"--dataverse-client-id {client_id} --dataverse-authority {url}",
    ]


def stripe_settings(
    url: str, secret_key: str, webhook_secret: str, webhook_url: str | None
) -> list[str]:
    """The settings that point `serve` at the Stripe stand-in (its keys are published test
    defaults, like the other emulators' demo secret)."""
    where = webhook_url or "nowhere yet (--webhook-url URL)"
    return [
        "Settings for `d365xero serve` (the Stripe stand-in's test keys):",
        f"  D365XERO_STRIPE_URL={url}",
        f"  D365XERO_STRIPE_SECRET_KEY={secret_key}",
        f"  D365XERO_STRIPE_WEBHOOK_SECRET={webhook_secret}",
        f"Webhook events go to {where}",
    ]


def trust_hint(data_dir: Path, ca_path: Path) -> str:
    return (
        f"A connector whose D365XERO_DATA_DIR is {data_dir.resolve()} trusts this CA; "
        f"from another folder set D365XERO_CA_BUNDLE={ca_path.resolve()}"
    )
