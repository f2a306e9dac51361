"""The two clients for one stored connection, built from its settings and sealed secrets."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from d365xero.budget import CallBudget
from d365xero.config import Settings
from d365xero.dataverse.auth import DataverseTokens, RefreshedTokens, entra_token_url
from d365xero.dataverse.client import DataverseClient
from d365xero.dataverse.gateway import DynamicsGateway
from d365xero.errors import ConfigurationError
from d365xero.jobs.kept import DATAVERSE_REFRESH, XERO_REFRESH, KeptSecrets, MemorySecrets
from d365xero.store.budgets import DATAVERSE_LIMITS, XERO_LIMITS, Limit, StoreBudget
from d365xero.store.models import Connection
from d365xero.trust import ca_bundle_file, extra_cas, ssl_context
from d365xero.urls import remote_url
from d365xero.xero.cache import ReferenceCache
from d365xero.xero.client import TokenSource, XeroClient
from d365xero.xero.endpoints import XeroEndpoints
from d365xero.xero.tokens import ClientCredentialsTokens, RefreshTokens


@dataclass
class ConnectionClients:
    xero: XeroClient
    dataverse: DataverseClient
    dynamics: DynamicsGateway
    http: httpx.Client

    def close(self) -> None:
        self.xero.close()
        self.dataverse.close()
        self.http.close()

    def __enter__(self) -> ConnectionClients:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _require(value: str | None, what: str) -> str:
    if not value:
        raise ConfigurationError(f"the connection has no {what}")
    return value


def build_clients(
    settings: Settings,
    connection: Connection,
    secrets: dict[str, Any],
    cache: ReferenceCache | None = None,
    budgets: Engine | None = None,
    kept: KeptSecrets | None = None,
) -> ConnectionClients:
    """With `budgets` (the store's engine), every call first takes its place in the budgets
    shared with every other process (store.budgets): the Xero tenant's, the Dynamics user's.
    A side the user authorised in the portal has a refresh token in `secrets`: its rotations
    are read from and kept in `kept` (the store's copy; by default `secrets` itself)."""
    kept = kept or MemorySecrets(secrets)
    # Stored URLs pass the policy again: a row written before it, or edited by hand, must not
    # send a secret over plain http either.
    of = f"of connection {connection.name!r}"
    xero_url = remote_url(connection.xero_url, f"the Xero URL {of}")
    org_url = remote_url(
        _require(connection.dataverse_url, "Dynamics URL"), f"the Dynamics URL {of}"
    )
    authority = remote_url(connection.dataverse_authority, f"the Entra ID authority {of}")
    cas = extra_cas(settings)
    http = httpx.Client(verify=ssl_context(cas), timeout=httpx.Timeout(60.0))
    ca_bundle = ca_bundle_file(cas, settings.data_dir)  # xero-python and msal take only a path
    endpoints = XeroEndpoints(xero_url)
    xero_tokens = _xero_tokens(http, endpoints, connection, secrets, kept)
    xero = XeroClient(
        endpoints=endpoints,
        tenant_id=connection.xero_tenant_id or "",
        tokens=xero_tokens,
        ca_bundle=ca_bundle,
        cache=cache,
        budget=_budget(budgets, f"xero:{connection.xero_tenant_id}", XERO_LIMITS, "xero"),
    )
    tenant = _require(connection.dataverse_tenant, "Dynamics tenant")
    client_id = _require(connection.dataverse_client_id, "Dynamics client id")
    client_secret = _require(secrets.get("dataverse_client_secret"), "Dynamics client secret")
    dataverse_tokens: DataverseTokens | RefreshedTokens
    if secrets.get(DATAVERSE_REFRESH):  # a user's consent (Connect to Dynamics)
        dataverse_tokens = RefreshedTokens(
            http,
            org_url=org_url,
            token_url=entra_token_url(authority, tenant),
            client_id=client_id,
            client_secret=client_secret,
            load=lambda: kept.load(DATAVERSE_REFRESH),
            keep=lambda value: kept.save(DATAVERSE_REFRESH, value),
        )
        # Dataverse counts its limits per user: here the user who consented.
        user = f"dataverse:{org_url}:user:{connection.id}"
    else:
        dataverse_tokens = DataverseTokens(
            org_url=org_url,
            tenant=tenant,
            client_id=client_id,
            client_secret=client_secret,
            authority=authority,
            ca_bundle=ca_bundle,
        )
        # Here the application user of (organisation, app).
        user = f"dataverse:{org_url}:{connection.dataverse_client_id}"
    dataverse = DataverseClient(
        http,
        org_url,
        dataverse_tokens,
        budget=_budget(budgets, user, DATAVERSE_LIMITS, "dataverse"),
    )
    dynamics = DynamicsGateway(
        dataverse, _require(connection.dataverse_connection_row_id, "Dynamics connection row")
    )
    return ConnectionClients(xero=xero, dataverse=dataverse, dynamics=dynamics, http=http)


def _xero_tokens(
    http: httpx.Client,
    endpoints: XeroEndpoints,
    connection: Connection,
    secrets: dict[str, Any],
    kept: KeptSecrets,
) -> TokenSource:
    client_id = _require(connection.xero_client_id, "Xero client id")
    client_secret = _require(secrets.get("xero_client_secret"), "Xero client secret")
    if secrets.get(XERO_REFRESH):  # a user's consent (Connect to Xero): Xero rotates it
        return RefreshTokens(
            http,
            endpoints.token_url,
            client_id,
            client_secret,
            load=lambda: kept.load(XERO_REFRESH),
            keep=lambda value: kept.save(XERO_REFRESH, value),
        )
    return ClientCredentialsTokens(http, endpoints.token_url, client_id, client_secret)


def _budget(
    engine: Engine | None, key: str, limits: tuple[Limit, ...], service: str
) -> CallBudget | None:
    return StoreBudget(engine, key, limits, service) if engine is not None else None
