"""Webhooks: a `serviceendpoint` row with contract 8 (Webhook) and `sdkmessageprocessingstep` rows
for Create/Update/Delete of a table make the organisation POST a RemoteExecutionContext to the
endpoint's URL.

PAD:use-webhooks.md and PAD:register-web-hook.md: JSON body as below, headers
x-ms-dynamics-organization, x-ms-dynamics-entity-name, x-ms-dynamics-request-name,
x-ms-correlation-request-id (x-ms-dynamics-msg-size-exceeded past 256 KB, when ParentContext,
InputParameters and images are dropped); auth by WebhookKey (`?code=`), HttpHeader or
HttpQueryString (authvalue `<settings><setting name=".." value=".." /></settings>`); 60 s timeout;
a failure is any non-2xx answer, and only 502, 503 and 504 get one more attempt; asynchronous
steps run after the operation commits and leave a System Job (`asyncoperation`, statuscode 30
Succeeded / 31 Failed, `_owningextensionid_value` the step); a failed synchronous step fails the
operation. Update steps fire only when a column in `filteringattributes` (if set) changed.

Known differences: steps run for stage 40 (post-operation) semantics whatever stage is set; no
pre/post entity images; any port is accepted (Dataverse allows 80 and 443 only).
"""

from __future__ import annotations

import json
import os
import ssl
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import httpx

from d365xero.emulators.core.delivery import Attempt, Courier, Outbox, succeeded
from d365xero.emulators.dataverse.errors import DataverseError
from d365xero.emulators.dataverse.metadata import CHOICE_TYPES, T

if TYPE_CHECKING:
    from d365xero.emulators.dataverse.models import Organisation, Row

CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts"
MESSAGES = ("Create", "Update", "Delete")
WEBHOOK, WEBHOOK_KEY, HTTP_HEADER, HTTP_QUERY = 8, 4, 5, 6
SYNC, ASYNC = 0, 1
RETRIED = (502, 503, 504)
MAX_BYTES = 256 * 1024
TIMEOUT = 60.0
# Columns every write touches; they alone do not make an Update "change" anything.
_SYSTEM = {"modifiedon", "modifiedby", "versionnumber"}


@dataclass
class Delivery:
    step_id: str
    url: str
    headers: dict[str, str]
    body: bytes
    message: str
    entity: str
    autodelete: bool


class WebhookFailed(DataverseError):
    """A synchronous step's endpoint failed: the operation fails with it."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, "0x80040265", f"Webhook call failed. {detail}")


def message_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sdkmessage:{name}"))


def filter_id(entity: str, message: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sdkmessagefilter:{entity}:{message}"))


def load_reference_data(org: Organisation) -> None:
    """The Create/Update/Delete messages and their filters for each business table."""
    from d365xero.emulators.dataverse.models import Ref

    for name in MESSAGES:
        org.create("sdkmessage", {"name": name}, record_id=message_id(name))
    for entity in org.metadata.entities.values():
        if not entity.change_tracking:
            continue  # registration tables and system jobs have no steps
        for name in MESSAGES:
            org.create(
                "sdkmessagefilter",
                {
                    "name": f"{name} of {entity.logical_name}",
                    "primaryobjecttypecode": entity.logical_name,
                    "secondaryobjecttypecode": "none",
                    "sdkmessageid": Ref("sdkmessage", message_id(name)),
                },
                record_id=filter_id(entity.logical_name, name),
            )


class Webhooks:
    def __init__(self, org: Organisation) -> None:
        self.org = org
        # Endpoints served with the local CA (the demo's portal) are trusted through the same
        # variable the connector reads.
        bundle = os.environ.get("D365XERO_CA_BUNDLE")
        self.verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=bundle) if bundle else True
        )
        self._outbox: Outbox[Delivery] = Outbox(self._deliver, self._client)
        org.listeners.append(self.on_change)

    def drain(self, timeout: float = 10.0) -> None:
        """Waits until every queued asynchronous delivery has been tried (for tests)."""
        if not self._outbox.wait_idle(timeout):
            raise TimeoutError("webhook deliveries still pending")

    def stop(self) -> None:
        """Drops the asynchronous deliveries not made yet (the organisation's reset)."""
        self._outbox.stop()

    # --- which steps fire ----------------------------------------------------------------------

    def on_change(self, entity: str, message: str, before: Row | None, after: Row | None) -> None:
        changed = _changed(before, after) if message == "Update" else set()
        for step, endpoint in self._steps(entity, message):
            wanted = {
                a.strip() for a in (step.get("filteringattributes") or "").split(",") if a.strip()
            }
            if message == "Update" and wanted and not (wanted & changed):
                continue
            delivery = self._delivery(step, endpoint, entity, message, before, after, changed)
            if step.get("mode") == SYNC:
                with self._client() as client:
                    last = _attempts(Courier(client), delivery)[-1]
                if not succeeded(last.status):
                    raise WebhookFailed(last.detail)
            else:
                self.org.after_commit(lambda d=delivery: self._outbox.put(d))  # type: ignore[misc]

    def _steps(self, entity: str, message: str) -> list[tuple[Row, Row]]:
        found = []
        for step in self.org.rows("sdkmessageprocessingstep"):
            if step.get("statecode") != 0:
                continue
            filter_ref, message_ref = step.get("sdkmessagefilterid"), step.get("sdkmessageid")
            flt = self.org.find("sdkmessagefilter", filter_ref.id) if filter_ref else None
            msg = self.org.find("sdkmessage", message_ref.id) if message_ref else None
            if (
                not flt
                or not msg
                or flt["primaryobjecttypecode"] != entity
                or msg["name"] != message
            ):
                continue
            handler = step.get("eventhandler")
            endpoint = self.org.find("serviceendpoint", handler.id) if handler else None
            if endpoint and endpoint.get("contract") == WEBHOOK and endpoint.get("url"):
                found.append((step, endpoint))
        return sorted(found, key=lambda pair: pair[0].get("rank") or 0)

    # --- what is sent --------------------------------------------------------------------------

    def _delivery(
        self,
        step: Row,
        endpoint: Row,
        entity: str,
        message: str,
        before: Row | None,
        after: Row | None,
        changed: set[str],
    ) -> Delivery:
        context = self._context(step, entity, message, before, after, changed)
        correlation = context["CorrelationId"]
        headers = {
            "Content-Type": "application/json",
            "x-ms-dynamics-organization": urlsplit(endpoint["url"]).hostname or "",
            "x-ms-dynamics-entity-name": entity,
            "x-ms-dynamics-request-name": message,
            "x-ms-correlation-request-id": correlation,
        }
        body = json.dumps(context).encode()
        if len(body) > MAX_BYTES:
            for key in ("ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages"):
                context[key] = None if key == "ParentContext" else []
            body = json.dumps(context).encode()
            headers["x-ms-dynamics-msg-size-exceeded"] = "true"
        url, auth_headers = _authenticate(endpoint)
        headers.update(auth_headers)
        return Delivery(
            step["sdkmessageprocessingstepid"],
            url,
            headers,
            body,
            message,
            entity,
            bool(step.get("asyncautodelete")),
        )

    def _context(
        self,
        step: Row,
        entity: str,
        message: str,
        before: Row | None,
        after: Row | None,
        changed: set[str],
    ) -> dict[str, Any]:
        from d365xero.emulators.dataverse.models import BUSINESS_UNIT_ID

        meta = self.org.entity(entity)
        row = after or before or {}
        record_id = row.get(meta.primary_id)
        target: dict[str, Any]
        if message == "Delete":
            target = _reference(entity, record_id)
        else:
            names = set(row) if message == "Create" else changed | {meta.primary_id}
            attributes = [
                {"key": name, "value": _value(self.org, entity, name, row[name])}
                for name in sorted(names)
                if row.get(name) is not None or message == "Update"
            ]
            target = {
                "__type": f"Entity:{CONTRACTS}",
                "Attributes": attributes,
                "EntityState": None,
                "FormattedValues": [],
                "Id": record_id,
                "KeyAttributes": [],
                "LogicalName": entity,
                "RelatedEntities": [],
                "RowVersion": str(row.get("versionnumber")),
            }
        now = self.org.clock.now()
        user = self.org.user_id
        mode = step.get("mode") or SYNC
        output = [{"key": "id", "value": record_id}] if message == "Create" else []
        return {
            "BusinessUnitId": BUSINESS_UNIT_ID,
            "CorrelationId": str(uuid.uuid4()),
            "Depth": 1,
            "InitiatingUserAzureActiveDirectoryObjectId": user,
            "InitiatingUserId": user,
            "InputParameters": [{"key": "Target", "value": target}],
            "IsExecutingOffline": False,
            "IsInTransaction": mode == SYNC,
            "IsOfflinePlayback": False,
            "IsolationMode": 1,
            "MessageName": message,
            "Mode": mode,
            "OperationCreatedOn": f"/Date({int(now.timestamp() * 1000)})/",
            "OperationId": str(uuid.uuid4()),
            "OrganizationId": self.org.organization_id,
            "OrganizationName": self.org.name,
            "OutputParameters": output,
            "OwningExtension": {
                "Id": step["sdkmessageprocessingstepid"],
                "KeyAttributes": [],
                "LogicalName": "sdkmessageprocessingstep",
                "Name": step.get("name"),
                "RowVersion": None,
            },
            "ParentContext": None,
            "PostEntityImages": [],
            "PreEntityImages": [],
            "PrimaryEntityId": record_id,
            "PrimaryEntityName": entity,
            "RequestId": str(uuid.uuid4()),
            "SecondaryEntityName": "none",
            "SharedVariables": [],
            "Stage": step.get("stage") or 40,
            "UserAzureActiveDirectoryObjectId": user,
            "UserId": user,
        }

    # --- sending -------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        return httpx.Client(timeout=TIMEOUT, verify=self.verify)

    def _deliver(self, courier: Courier, deliveries: list[Delivery]) -> None:
        [delivery] = deliveries
        attempts = _attempts(courier, delivery)
        if attempts:  # none when a reset stopped the worker first
            self._record(delivery, succeeded(attempts[-1].status), attempts[-1].detail)

    def _record(self, delivery: Delivery, ok: bool, detail: str) -> None:
        """The System Job the asynchronous step leaves behind."""
        from d365xero.emulators.dataverse.models import Ref

        if ok and delivery.autodelete:
            return
        with self.org.lock:
            if self.org.find("sdkmessageprocessingstep", delivery.step_id) is None:
                return  # unregistered meanwhile (or the organisation was reset)
            job = self.org.create(
                "asyncoperation",
                {
                    "name": f"{delivery.message} of {delivery.entity}",
                    "messagename": delivery.message,
                    "operationtype": 1,
                    "message": None if ok else detail,
                    "friendlymessage": None
                    if ok
                    else "The webhook endpoint did not accept the call.",
                    "owningextensionid": Ref("sdkmessageprocessingstep", delivery.step_id),
                },
            )
            row = self.org.get("asyncoperation", job)
            row["statecode"], row["statuscode"] = 3, (30 if ok else 31)
            row["completedon"] = self.org.clock.now().replace(microsecond=0)


def _attempts(courier: Courier, delivery: Delivery) -> list[Attempt]:
    """One call, and one more at once only after a 502, 503 or 504."""
    return courier.post(
        delivery.url, delivery.body, lambda: delivery.headers, (0.0,), again=RETRIED.__contains__
    )


def _changed(before: Row | None, after: Row | None) -> set[str]:
    if before is None or after is None:
        return set()
    return {k for k, v in after.items() if before.get(k) != v and k not in _SYSTEM}


def _reference(entity: str, record_id: Any, name: str | None = None) -> dict[str, Any]:
    return {
        "__type": f"EntityReference:{CONTRACTS}",
        "Id": record_id,
        "KeyAttributes": [],
        "LogicalName": entity,
        "Name": name,
        "RowVersion": None,
    }


def _value(org: Organisation, entity: str, name: str, value: Any) -> Any:
    """A column value as the organization service serialises it in a RemoteExecutionContext."""
    from d365xero.emulators.dataverse.models import Ref

    attr = org.entity(entity).attributes.get(name)
    if value is None or attr is None:
        return value
    if isinstance(value, Ref):
        return _reference(value.entity, value.id, org.primary_name(value))
    if attr.type in CHOICE_TYPES:
        return {"__type": f"OptionSetValue:{CONTRACTS}", "Value": value}
    if attr.type is T.MONEY:
        return {"__type": f"Money:{CONTRACTS}", "Value": float(value)}
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return f"/Date({int(value.timestamp() * 1000)})/"
    if isinstance(value, date):
        return f"/Date({int(datetime(value.year, value.month, value.day).timestamp() * 1000)})/"
    return value


def _authenticate(endpoint: Row) -> tuple[str, dict[str, str]]:
    url = endpoint["url"]
    auth, value = endpoint.get("authtype"), endpoint.get("authvalue") or ""
    if auth == WEBHOOK_KEY and value:
        return _with_query(url, {"code": value}), {}
    if auth in (HTTP_HEADER, HTTP_QUERY) and value:
        settings = _settings(value)
        if auth == HTTP_HEADER:
            return url, settings
        return _with_query(url, settings), {}
    return url, {}


def _settings(xml: str) -> dict[str, str]:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}
    return {s.get("name", ""): s.get("value", "") for s in root.iter("setting") if s.get("name")}


def _with_query(url: str, values: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(values)
