"""Every route of the portal app, discovered from `app.routes` (so a page added later is walked
without anyone listing it), with a URL maker for its path parameters; the form field names the
templates use; and a guard that keeps a test's outgoing connections on this machine.

Used by the route fuzzer and the stored-XSS test (tests/portal)."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount, Route

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "d365xero" / "portal" / "templates"
_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the route's template, e.g. /connections/{connection_id}/settings
    params: tuple[str, ...]  # its path parameters, in order
    catch_all: frozenset[str] = frozenset()  # parameters that take slashes ({x:path}, mounts)

    def url(self, values: Mapping[str, str]) -> str:
        """The path with each parameter filled in (quoted, so any text stays one segment)."""

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            safe = "/" if name in self.catch_all else ""
            return quote(values.get(name, "x"), safe=safe) or "x"

        return _PARAM.sub(fill, self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _of_route(route: Route) -> Iterator[Endpoint]:
    names = tuple(route.param_convertors)
    catch_all = frozenset(
        n for n, c in route.param_convertors.items() if type(c).__name__ == "PathConvertor"
    )
    for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
        yield Endpoint(method, route.path, names, catch_all)


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every method of every route; a mount (the static files) as GET of any path under it."""
    found: list[Endpoint] = []

    def walk(routes: list[BaseRoute], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Route):  # FastAPI's APIRoute is one
                for endpoint in _of_route(route):
                    found.append(
                        Endpoint(
                            endpoint.method,
                            prefix + endpoint.path,
                            endpoint.params,
                            endpoint.catch_all,
                        )
                    )
            elif hasattr(route, "original_router"):
                # FastAPI 0.16x keeps an included router whole (older ones copy its routes in).
                context = getattr(route, "include_context", None)
                walk(list(route.original_router.routes), prefix + getattr(context, "prefix", ""))
            elif isinstance(route, Mount):
                inner = getattr(route.app, "routes", None)
                if inner:
                    walk(list(inner), prefix + route.path)
                else:
                    found.append(
                        Endpoint("GET", f"{prefix}{route.path}/{{rest}}", ("rest",), {"rest"})
                    )

    walk(list(app.routes), "")
    return found


def template_field_names() -> list[str]:
    """The names of the form fields the portal's templates render (inputs, selects, textareas
    and the macros' first arguments), so fuzzed forms hit the fields routes read."""
    names: set[str] = set()
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        names.update(
            re.findall(r'<(?:input|select|textarea|button)\b[^>]*?\bname="([A-Za-z_][\w-]*)"', text)
        )
        names.update(re.findall(r"\bm\.\w+\(\s*[\"']([A-Za-z_][\w-]*)[\"']", text))
    names.discard("csrf_token")
    return sorted(names)


# --- only this machine ---------------------------------------------------------------------------


def _loopback(host: object) -> bool:
    if not isinstance(host, str | bytes):
        return False
    name = host.decode() if isinstance(host, bytes) else host
    if name.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


@contextmanager
def loopback_only() -> Iterator[list[str]]:
    """Outgoing connections and name lookups for anything but this machine fail as they would
    on a closed network (fuzzed URLs must never send traffic elsewhere); the list says which
    were refused."""
    refused: list[str] = []
    real_getaddrinfo: Callable[..., Any] = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _loopback(host):
            refused.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, "refused off this machine by the test")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            refused.append(str(address[0]))
            raise ConnectionRefusedError("refused off this machine by the test")
        return real_connect(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        patch.setattr(socket.socket, "connect", connect)
        yield refused
