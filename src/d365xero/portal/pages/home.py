"""The front door: the signed-in user's connections, or the way in for everyone else."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.routing import NoMatchFound

from d365xero.portal.auth import current_user
from d365xero.portal.web import redirect, render
from d365xero.store.models import User

router = APIRouter()


@router.get("/")
def home(request: Request, user: User | None = Depends(current_user)) -> Response:
    if user is not None:
        try:
            return redirect(str(request.app.url_path_for("connections")))
        except NoMatchFound:  # no connections page mounted: the welcome page
            pass
    return render(request, "home.html")
