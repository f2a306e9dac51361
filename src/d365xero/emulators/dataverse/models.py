"""One Dataverse organisation: tables, rows and the platform's rules, without HTTP.

Rows are dicts keyed by column logical name; a lookup holds a Ref. Every write takes a new
version number (the row's `versionnumber`, its ETag, and the change-tracking watermark); deletes
leave a tombstone for change tracking. `transaction()` makes a $batch change set all-or-nothing.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from d365xero.emulators.core.calls import CallLog
from d365xero.emulators.core.clock import Clock
from d365xero.emulators.core.faultplan import FaultPlan
from d365xero.emulators.core.state_codec import StateCodec
from d365xero.emulators.core.state_file import StateFileError
from d365xero.emulators.dataverse import sales
from d365xero.emulators.dataverse.entra import Entra, Grant, User
from d365xero.emulators.dataverse.errors import (
    ConcurrencyVersionMismatch,
    DuplicateRecord,
    InvalidStateCodeStatusCode,
    ObjectDoesNotExist,
    PropertyNotFound,
    ValidationError,
)
from d365xero.emulators.dataverse.limits import ServiceProtection
from d365xero.emulators.dataverse.metadata import CHOICE_TYPES, Attr, Entity, Metadata, T
from d365xero.emulators.dataverse.security import Security
from d365xero.emulators.dataverse.systemtables import build_metadata
from d365xero.emulators.dataverse.webhooks import Webhooks

ORG_NAME = "d365xerodemo"
BUSINESS_UNIT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "d365xero-emulator:businessunit"))
ADMIN_USER_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "d365xero-emulator:admin"))


@dataclass(frozen=True)
class Ref:
    entity: str
    id: str


Row = dict[str, Any]
ChangeListener = Callable[[str, str, Row | None, Row | None], None]


def new_id() -> str:
    return str(uuid.uuid4())


class Organisation:
    """The emulator's backend (`app.state.emulator`): an organisation plus Entra in front."""

    codec = StateCodec((Ref, User, Grant))

    def __init__(
        self,
        *,
        client_id: str = "d365xero-demo",
        client_secret: str = "demo-secret",
        tenant: str = "demo-tenant",
        with_solution: bool = True,
        name: str = ORG_NAME,
        directory: Entra | None = None,
    ) -> None:
        """`directory`: an Entra tenant shared with other organisations (several environments
        of one tenant); by default the organisation has a tenant of its own."""
        self.clock = Clock()
        self.calls = CallLog()
        self.with_solution = with_solution
        self.name = name
        self.organization_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"d365xero-emulator:{name}"))
        self._owns_directory = directory is None
        self.entra = directory or Entra(
            self.clock, tenant=tenant, client_id=client_id, client_secret=client_secret
        )
        self.lock = threading.RLock()
        self.faults = FaultPlan()
        self.protection = ServiceProtection(self.clock)
        self.security = Security()
        self.listeners: list[ChangeListener] = []
        self.metadata: Metadata = build_metadata(with_solution=with_solution)
        self.tables: dict[str, dict[str, Row]] = {}
        self.version = 0
        self.tombstones: list[tuple[str, str, int]] = []
        self._undo: list[tuple[str, str, Row | None]] | None = None
        self._committed: list[Callable[[], None]] = []
        self._refs: dict[tuple[str, str], dict[str, dict[str, None]]] = {}
        self._invoice_number = 1000
        self.base_currency: str | None = None
        self.webhooks = Webhooks(self)
        self.reset()

    # --- control plane ---------------------------------------------------------------------

    def reset(self) -> None:
        """Back to a bare organisation: reference data only (base currency, users, unit group)."""
        from d365xero.emulators.dataverse import sample, webhooks

        with self.lock:
            self.security.reset()
            self.metadata = build_metadata(with_solution=self.with_solution)
            self.tables = {name: {} for name in self.metadata.entities}
            self._refs = {}
            self.version = 1000
            self.tombstones = []
            self._invoice_number = 1000
            self.base_currency = None
            if self._owns_directory:
                self.entra.reset()
            self.faults.clear()
            self.protection.reset()
            self.webhooks.stop()
            sample.load_reference_data(self)
            webhooks.load_reference_data(self)

    def seed(self) -> dict[str, int]:
        from d365xero.emulators.dataverse import sample

        with self.lock:
            return sample.load_sample_data(self)

    # --- state file (emulators/core/state_file.py) -----------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Every table's rows, the version counter and tombstones (change tracking goes on
        where it was), the invoice numbering, the clock and, when the organisation has a
        directory of its own, Entra's state. Not kept: call counts, faults, service-protection
        windows, webhook deliveries still queued, and solutions imported at run time (their
        tables must exist at start: `d365xero emulate dataverse` always has ours)."""
        return {
            "app": self.entra.default_client_id,
            "tenant": self.entra.tenant,
            "clock_offset": self.clock.offset,
            "tables": self.tables,
            "version": self.version,
            "tombstones": self.tombstones,
            "invoice_number": self._invoice_number,
            "base_currency": self.base_currency,
            "entra": self.entra.snapshot() if self._owns_directory else None,
            "revoked_privileges": sorted(self.security.revoked),
        }

    def restore(self, state: dict[str, Any]) -> None:
        for key, mine in (("app", self.entra.default_client_id), ("tenant", self.entra.tenant)):
            if state[key] != mine:
                raise StateFileError(
                    f"the saved organisation's {key} is {state[key]!r}, not {mine!r}: "
                    "start the emulator as it was"
                )
        unknown = sorted(set(state["tables"]) - set(self.metadata.entities))
        if unknown:
            raise StateFileError(f"the saved organisation has tables this one lacks: {unknown}")
        with self.lock:
            self.clock.offset = state["clock_offset"]
            self.tables = {name: {} for name in self.metadata.entities}
            for name, rows in state["tables"].items():
                columns = self.metadata.entities[name].attributes
                for row in rows.values():
                    for column in columns:
                        row.setdefault(column, None)  # a column added since the save: empty
                self.tables[name] = rows
            self._reindex()
            self.version = int(state["version"])
            self.tombstones = state["tombstones"]
            self.security.revoked = set(state.get("revoked_privileges", ()))
            self._invoice_number = int(state["invoice_number"])
            self.base_currency = state["base_currency"]
            if self._owns_directory and state["entra"] is not None:
                self.entra.restore(state["entra"])

    # --- metadata --------------------------------------------------------------------------

    def entity(self, logical_name: str) -> Entity:
        return self.metadata.get(logical_name)

    @property
    def user_id(self) -> str:
        """The application user that client-credential tokens act as."""
        return self.entra.application_user_id

    # --- reads -----------------------------------------------------------------------------

    def get(self, entity: str, record_id: str) -> Row:
        row = self.tables[entity].get(record_id.lower())
        if row is None:
            raise ObjectDoesNotExist(entity, record_id)
        return row

    def find(self, entity: str, record_id: str) -> Row | None:
        return self.tables[entity].get(record_id.lower())

    def rows(self, entity: str) -> list[Row]:
        return list(self.tables[entity].values())

    def find_by_key(self, entity: str, key: dict[str, Any]) -> Row | None:
        for row in self.tables[entity].values():
            if all(_same(row.get(k), v) for k, v in key.items()):
                return row
        return None

    def children(self, entity: str, attr: str, parent_id: str) -> list[Row]:
        ids = self._refs.get((entity, attr), {}).get(parent_id, {})
        table = self.tables[entity]
        return [table[i] for i in ids if i in table]

    # --- the lookup index: (table, lookup column) -> target id -> referencing ids, in order ---

    def _index(self, entity: str, row: Row, add: bool) -> None:
        record_id = row[self.entity(entity).primary_id]
        for name, value in row.items():
            if isinstance(value, Ref):
                ids = self._refs.setdefault((entity, name), {}).setdefault(value.id, {})
                if add:
                    ids[record_id] = None
                else:
                    ids.pop(record_id, None)

    def _reindex(self) -> None:
        self._refs = {}
        for entity, table in self.tables.items():
            for row in table.values():
                self._index(entity, row, add=True)

    def primary_name(self, ref: Ref) -> str | None:
        row = self.find(ref.entity, ref.id)
        if row is None:
            return None
        return row.get(self.entity(ref.entity).primary_name)

    # --- writes ----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing: on an exception every row written inside is put back."""
        with self.lock:
            outer = self._undo is None
            if outer:
                self._undo = []
                self._committed = []
                tombstones = len(self.tombstones)
            try:
                yield
            except BaseException:
                if outer:
                    for entity, record_id, before in reversed(self._undo or []):
                        if before is None:
                            self.tables[entity].pop(record_id, None)
                        else:
                            self.tables[entity][record_id] = before
                    del self.tombstones[tombstones:]
                    self._reindex()
                    self._committed = []
                raise
            finally:
                if outer:
                    self._undo = None
            if outer:
                callbacks, self._committed = self._committed, []
                for callback in callbacks:
                    callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Runs `callback` once the current transaction commits (now, outside one); never if it
        rolls back. Asynchronous webhooks are queued this way."""
        if self._undo is None:
            callback()
        else:
            self._committed.append(callback)

    def _remember(self, entity: str, record_id: str) -> None:
        if self._undo is not None:
            before = self.tables[entity].get(record_id)
            self._undo.append((entity, record_id, copy.copy(before) if before else None))

    def _stamp(self, row: Row) -> None:
        self.version += 1
        row["versionnumber"] = self.version
        row["modifiedon"] = self.clock.now().replace(microsecond=0)
        row["modifiedby"] = Ref("systemuser", self.user_id)

    def create(self, entity: str, values: dict[str, Any], record_id: str | None = None) -> str:
        with self.transaction():
            meta = self.entity(entity)
            record_id = (record_id or values.get(meta.primary_id) or new_id()).lower()
            if record_id in self.tables[entity]:
                raise DuplicateRecord()
            row: Row = {name: None for name in meta.attributes}
            for name, value in values.items():
                if meta.attributes[name].create:
                    row[name] = value
            row[meta.primary_id] = record_id
            now = self.clock.now().replace(microsecond=0)
            row["createdon"] = now
            row["createdby"] = Ref("systemuser", self.user_id)
            if "ownerid" in meta.attributes and row.get("ownerid") is None:
                row["ownerid"] = Ref("systemuser", self.user_id)
            self._default_state(meta, row)
            self._default_currency(meta, row)
            self._check_required(meta, row)  # before the rules, which read required columns
            sales.before_create(self, entity, row)
            self._check_required(meta, row)
            self._check_state(meta, row)
            self._stamp(row)
            self._remember(entity, record_id)
            self.tables[entity][record_id] = row
            self._index(entity, row, add=True)
            sales.after_write(self, entity, row)
            self._notify(entity, "Create", None, row)
            return record_id

    def update(
        self, entity: str, record_id: str, values: dict[str, Any], if_match: str | None = None
    ) -> Row:
        with self.transaction():
            meta = self.entity(entity)
            row = self.get(entity, record_id)
            self._check_etag(row, if_match)
            before = copy.copy(row)
            changes = {k: v for k, v in values.items() if meta.attributes[k].update}
            sales.before_update(self, entity, row, changes)
            self._remember(entity, row[meta.primary_id])
            self._index(entity, row, add=False)
            row.update(changes)
            self._index(entity, row, add=True)
            self._check_required(meta, row)
            self._check_state(meta, row, changed="statuscode" in changes or "statecode" in changes)
            self._stamp(row)
            sales.after_write(self, entity, row)
            self._notify(entity, "Update", before, row)
            return row

    def delete(self, entity: str, record_id: str, if_match: str | None = None) -> None:
        with self.transaction():
            meta = self.entity(entity)
            row = self.get(entity, record_id)
            self._check_etag(row, if_match)
            sales.before_delete(self, entity, row)
            # Cascade delete of parental relationships (invoice_details: invoice -> lines).
            for child, attr in sales.CASCADE.get(entity, ()):
                for line in self.children(child, attr, row[meta.primary_id]):
                    self._delete_row(child, line)
            self._delete_row(entity, row)
            sales.after_delete(self, entity, row)

    def _delete_row(self, entity: str, row: Row) -> None:
        record_id = row[self.entity(entity).primary_id]
        self._remember(entity, record_id)
        self._index(entity, row, add=False)
        del self.tables[entity][record_id]
        self.version += 1
        self.tombstones.append((entity, record_id, self.version))
        self._notify(entity, "Delete", row, None)

    def touch(self, entity: str, row: Row, change: Callable[[], None]) -> None:
        """A system-side Update of a row (recalculated totals): `change` mutates it; the row gets
        a new version and the listeners hear an Update."""
        self._remember(entity, row[self.entity(entity).primary_id])
        before = copy.copy(row)
        change()
        self._stamp(row)
        self._notify(entity, "Update", before, row)

    # --- rules every table has -------------------------------------------------------------

    def _check_etag(self, row: Row, if_match: str | None) -> None:
        if if_match is None or if_match.strip() == "*":
            return
        if etag(row) not in [tag.strip() for tag in if_match.split(",")]:
            raise ConcurrencyVersionMismatch()

    def _default_state(self, meta: Entity, row: Row) -> None:
        state = meta.attributes.get("statecode")
        status = meta.attributes.get("statuscode")
        if state is None or status is None:
            return
        if row.get("statecode") is None:
            row["statecode"] = sales.DEFAULT_STATE.get(meta.logical_name, 0)
        if row.get("statuscode") is None:
            row["statuscode"] = default_status(status, row["statecode"])

    def _default_currency(self, meta: Entity, row: Row) -> None:
        attr = meta.attributes.get("transactioncurrencyid")
        if attr is None or row.get("transactioncurrencyid") is not None:
            return
        if any(a.type is T.MONEY and row.get(n) is not None for n, a in meta.attributes.items()):
            row["transactioncurrencyid"] = Ref("transactioncurrency", self.base_currency_id())

    def base_currency_id(self) -> str:
        if self.base_currency is None:
            raise ObjectDoesNotExist("transactioncurrency", "base")
        return self.base_currency

    def _check_required(self, meta: Entity, row: Row) -> None:
        for name, attr in meta.attributes.items():
            if attr.required and row.get(name) in (None, ""):
                raise ValidationError(
                    f"Attribute '{name}' of entity '{meta.logical_name}' cannot be NULL."
                )

    def _check_state(self, meta: Entity, row: Row, changed: bool = True) -> None:
        status = meta.attributes.get("statuscode")
        if not changed or status is None or not status.status_state:
            return
        state = status.status_state.get(row.get("statuscode"))  # type: ignore[arg-type]
        if state is not None and state != row.get("statecode"):
            raise InvalidStateCodeStatusCode(row["statuscode"], row["statecode"], meta.schema_name)

    def _notify(self, entity: str, message: str, before: Row | None, after: Row | None) -> None:
        for listener in self.listeners:
            listener(entity, message, before, after)

    # --- the OData resolver (see odata.Resolver) -------------------------------------------

    def value(self, entity: str, row: Row, name: str) -> Any:
        attr = self.entity(entity).by_value_property(name)
        if attr is None:
            raise PropertyNotFound(name, entity)
        value = row.get(attr.logical_name)
        return value.id if isinstance(value, Ref) else value

    def follow(self, entity: str, row: Row, nav: str) -> tuple[str, Row] | None:
        found = self.entity(entity).single_navs.get(nav)
        if found is None:
            raise PropertyNotFound(nav, entity)
        attr, target = found
        ref = row.get(attr.logical_name)
        if not isinstance(ref, Ref) or ref.entity != target:
            return None
        target_row = self.find(target, ref.id)
        return (target, target_row) if target_row is not None else None

    def related(self, entity: str, row: Row, nav: str) -> tuple[str, list[Row]]:
        child, attr = self.entity(entity).collection_navs[nav]
        return child, self.children(child, attr, row[self.entity(entity).primary_id])

    def check_property(self, entity: str, name: str) -> None:
        if self.entity(entity).by_value_property(name) is None:
            raise PropertyNotFound(name, entity)

    def nav_kind(self, entity: str, nav: str) -> tuple[str, str] | None:
        meta = self.entity(entity)
        if nav in meta.single_navs:
            return meta.single_navs[nav][1], "single"
        if nav in meta.collection_navs:
            return meta.collection_navs[nav][0], "collection"
        return None


def default_status(status: Attr, state: int) -> int | None:
    for value, owner in status.status_state.items():
        if owner == state:
            return value
    return None


def etag(row: Row) -> str:
    return f'W/"{row["versionnumber"]}"'


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Ref):
        a = a.id
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return bool(a == b)


def is_choice(attr: Attr) -> bool:
    return attr.type in CHOICE_TYPES
