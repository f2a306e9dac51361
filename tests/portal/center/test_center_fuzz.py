"""No input makes the three pages answer 500: arbitrary fields and values, posted with a good
CSRF token to every form of the Synchronisation Center, Connector Settings and Field mapping,
and arbitrary ids and kinds in their paths."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.portal.center.conftest import HTML, Center

NAMES = st.sampled_from(
    [
        "etag", "base_timezone", "timezone", "default_status", "default_sales_account",
        "create_contacts", "loaded", "from_0", "from_6", "track_name_0", "track_from_0",
        "track_name_7", "track_from_99",
    ]
) | st.text(min_size=1, max_size=20)  # fmt: skip
VALUES = st.text(max_size=200) | st.sampled_from(
    ["Yes", "No", "Draft", 'W/"1"', "*", "invoice.name", "line.", ".x", "account.revenue"]
)
FORMS = st.dictionaries(NAMES, VALUES, max_size=8)
PATHS = st.sampled_from(["/settings", "/mapping", "/sync-center/taxrates", "/sync-center/x"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(form=FORMS, path=PATHS, other=st.text(max_size=80))
def test_no_form_or_path_answers_500(
    center: Center, form: dict[str, str], path: str, other: str
) -> None:
    form = {k: v.replace("\x00", "") for k, v in form.items() if k != "csrf_token"}
    answer = center.client.post(
        center.url(path), data={**form, "csrf_token": center.token("/settings")}, headers=HTML
    )
    assert answer.status_code < 500, (path, form, answer.text[-500:])
    odd = center.client.get(f"/connections/{quote(other, safe='') or 'x'}/mapping", headers=HTML)
    assert odd.status_code == 404
