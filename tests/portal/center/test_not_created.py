"""Before Create Connection (no Xero organisation or Dynamics row linked yet) the
Synchronisation Center's buttons are disabled, as the guide says, and nothing can start."""

from __future__ import annotations

import re

from d365xero.store.models import Connection
from tests.portal.center.conftest import HTML
from tests.portal.conftest import Portal, csrf_token


def test_the_buttons_wait_for_the_connection(portal: Portal) -> None:
    client, ada = portal.signed_in_client()
    with portal.runtime.sessions.begin() as session:
        made = Connection(name="Half made", user_id=ada.id, secrets=portal.runtime.box.seal({}))
        session.add(made)
        session.flush()
        url = f"/connections/{made.id}"
    page = client.get(f"{url}/sync-center", headers=HTML)
    assert page.status_code == 200
    buttons = re.findall(
        r"<button[^>]*>(?:Tax Rates|Account Codes|Branding Themes)</button>", page.text
    )
    assert len(buttons) == 3 and all("disabled" in b for b in buttons)
    assert "Enabled once you have created the connection" in page.text
    token = csrf_token(client, f"{url}/sync-center")
    refused = client.post(f"{url}/sync-center/taxrates", data={"csrf_token": token}, headers=HTML)
    assert refused.status_code == 409 and "Create the connection first" in refused.text
    for tab in ("/settings", "/mapping"):
        shown = client.get(f"{url}{tab}", headers=HTML)
        assert shown.status_code == 200 and "Create the connection first" in shown.text
        posted = client.post(f"{url}{tab}", data={"csrf_token": token}, headers=HTML)
        assert posted.status_code == 409
