"""Mounting the portal on the app: its static files, its error pages, its security headers, and
every page module's router behind the CSRF check."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from d365xero.portal import csrf, errors
from d365xero.portal.security import SecurityHeaders
from d365xero.portal.web import STATIC

# Modules of d365xero.portal.pages, each with a `router`.
PAGES = (
    "home",
    "accounts",
    "billing",
    "connections",
    "connect_flow",
    "center",
    "settings",
    "mapping",
    "dashboard",
)


def mount_portal(app: FastAPI, form_targets: Iterable[str] = ()) -> None:
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for name in PAGES:
        module = import_module(f"d365xero.portal.pages.{name}")
        app.include_router(module.router, dependencies=[Depends(csrf.require)])
    app.add_middleware(SecurityHeaders, form_targets=tuple(form_targets))
