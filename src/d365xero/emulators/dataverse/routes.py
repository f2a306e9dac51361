"""The HTTP shape: Entra's endpoints and the Web API's, as explicit Starlette routes (one per
entity set, so /_emulator/calls counts calls per table)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from d365xero.emulators.dataverse.batch import BatchRunner, boundary_of, parse
from d365xero.emulators.dataverse.consent import consent_routes
from d365xero.emulators.dataverse.entra import EntraError, redeem
from d365xero.emulators.dataverse.errors import BatchError, DataverseError
from d365xero.emulators.dataverse.models import Organisation
from d365xero.emulators.dataverse.webapi import API, ApiRequest, ApiResponse, WebApi

METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def origin(request: Request) -> str:
    """The organisation's URL is wherever the client reached it (any port, http or https)."""
    return f"{request.url.scheme}://{request.url.netloc}"


def _to_starlette(response: ApiResponse) -> Response:
    return Response(response.body or None, response.status, headers=response.headers)


# --- Entra ID -----------------------------------------------------------------------------------


def entra_routes(org: Organisation) -> list[BaseRoute]:
    def error(err: EntraError) -> JSONResponse:
        return JSONResponse(err.body(org.entra.now()), status_code=err.status)

    async def openid_configuration(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if not org.entra.knows_tenant(tenant):
            return error(EntraError(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found."))
        return JSONResponse(org.entra.openid_configuration(origin(request)))

    async def keys(request: Request) -> Response:
        return JSONResponse({"keys": []})

    async def token(request: Request) -> Response:
        org.entra.register_organisation(origin(request), org.name)
        raw = (await request.body()).decode("utf-8", "replace")
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = _basic(request.headers.get("authorization", ""))
        if basic:
            client_id, secret = basic
        grant = form.get("grant_type")
        try:
            if grant == "client_credentials":
                body = org.entra.client_credentials(
                    request.path_params["tenant"],
                    client_id,
                    secret,
                    form.get("scope"),
                    origin(request),
                )
            elif grant in ("authorization_code", "refresh_token"):
                tenant = request.path_params["tenant"]
                body = redeem(org.entra, tenant, client_id, secret, form, origin(request))
            else:
                raise EntraError(
                    400,
                    "unsupported_grant_type",
                    70003,
                    f"The app requested an unsupported grant type '{grant}'.",
                )
        except EntraError as err:
            return error(err)
        return JSONResponse(
            body, headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
        )

    return [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration),
        Route("/{tenant}/.well-known/openid-configuration", openid_configuration),
        Route("/{tenant}/discovery/v2.0/keys", keys),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    ]


def _basic(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:]).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    return unquote(user), unquote(password)


# --- Web API ------------------------------------------------------------------------------------


def _unauthorized(org: Organisation, request: Request, invalid: bool) -> Response:
    # Dataverse answers 401 with where to get a token (authority and resource).
    parts = [
        f"authorization_uri={origin(request)}/{org.entra.tenant_id}/oauth2/authorize",
        f"resource_id={origin(request)}/",
    ]
    if invalid:
        parts = ["error=invalid_token", "error_description=Error during token validation!", *parts]
    return Response(status_code=401, headers={"WWW-Authenticate": "Bearer " + ", ".join(parts)})


def _authorize(org: Organisation, request: Request) -> Response | str:
    """The caller's user id, or the 401 Dataverse gives a request without a valid token."""
    org.entra.register_organisation(origin(request), org.name)
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return _unauthorized(org, request, invalid=False)
    claims = org.entra.validate(header[7:].strip(), origin(request))
    if claims is None:
        return _unauthorized(org, request, invalid=True)
    return str(claims["oid"])


def _api_request(request: Request, body: bytes, user_id: str) -> ApiRequest:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    path = path[len(API) :].lstrip("/")
    headers = {k.lower(): v for k, v in request.headers.items()}
    return ApiRequest(
        request.method, path, request.url.query, headers, body, origin(request), user_id
    )


def api_routes(org: Organisation) -> list[BaseRoute]:
    api = WebApi(org)

    async def handle(request: Request) -> Response:
        user = _authorize(org, request)
        if isinstance(user, Response):
            return user
        body = await request.body()
        return _to_starlette(api.handle(_api_request(request, body, user)))

    async def batch(request: Request) -> Response:
        user = _authorize(org, request)
        if isinstance(user, Response):
            return user
        body = await request.body()
        boundary = boundary_of(request.headers.get("content-type", ""))
        try:
            if boundary is None:
                raise BatchError("The batch request must have a 'multipart/mixed' content type.")
            items = parse(body, boundary)
        except DataverseError as err:
            return _to_starlette(ApiResponse.error(err))
        headers = {k.lower(): v for k, v in request.headers.items()}
        with org.lock:
            response = BatchRunner(api, origin(request), headers, user).run(items)
        return _to_starlette(response)

    routes: list[BaseRoute] = [Route(f"{API}/$batch", batch, methods=["POST"])]
    for path in (API, f"{API}/", f"{API}/$metadata", f"{API}/WhoAmI", f"{API}/WhoAmI()"):
        routes.append(Route(path, handle, methods=METHODS))
    routes.append(Route(f"{API}/EntityDefinitions", handle, methods=METHODS))
    routes.append(Route(f"{API}/EntityDefinitions({{key}})", handle, methods=METHODS))
    routes.append(Route(f"{API}/EntityDefinitions({{key}})/{{rest:path}}", handle, methods=METHODS))
    for entity in org.metadata.entities.values():
        base = f"{API}/{entity.entity_set}"
        routes.append(Route(base, handle, methods=METHODS))
        routes.append(Route(f"{base}/$count", handle, methods=METHODS))
        routes.append(Route(f"{base}/{{action}}", handle, methods=METHODS))
        routes.append(Route(f"{base}({{key}})", handle, methods=METHODS))
        routes.append(Route(f"{base}({{key}})/{{rest:path}}", handle, methods=METHODS))
    # Tables that arrive later (an imported solution) and unknown segments (404 as Dataverse).
    routes.append(Route(f"{API}/{{rest:path}}", handle, methods=METHODS))
    return routes


def all_routes(org: Organisation) -> list[Any]:
    return [*api_routes(org), *entra_routes(org), *consent_routes(org)]
