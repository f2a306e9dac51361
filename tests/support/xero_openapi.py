"""The Xero emulator's traffic against Xero's own OpenAPI files, in tests.

Every request to /api.xro/2.0 or /Connections, and every 2xx or 400 response to one, is checked
against the repository's specs/xero (xero_accounting.yaml, xero-identity.yaml), and every
webhook delivery against xero-webhooks.yaml, with the one validator of tests/support/openapi.py
(specs/README.md). Xero's files differ from what Xero really sends in the ways patched below,
each with its reason; nothing else is relaxed. Mismatches are collected; the fixtures fail the
test if any remain.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from openapi_core import OpenAPI
from openapi_core.templating.responses.exceptions import ResponseNotFound

from tests.support.openapi import TrafficValidator, load_spec, mappings, openapi, schema_errors

SPEC_DIR = Path(__file__).resolve().parents[2] / "specs" / "xero"
ACCOUNTING_PREFIX = "/api.xro/2.0"


def _fix_booleans(spec: dict[str, Any]) -> None:
    """The 23 defects strict validators report: `default: "false"` on boolean schemas."""
    for node in mappings(spec):
        for key in ("default", "example"):
            if node.get(key) in ("false", "true") and node.get("type") == "boolean":
                node[key] = node[key] == "true"


def _allow_sdk_flags(spec: dict[str, Any]) -> None:
    """xero-python always sends HasAttachments/HasErrors/HasValidationErrors (false), which the
    spec marks readOnly and the real API ignores (reference/xero.md §8)."""
    for node in mappings(spec):
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name in ("HasAttachments", "HasErrors", "HasValidationErrors"):
                if isinstance(properties.get(name), dict):
                    properties[name].pop("readOnly", None)


def _load(name: str) -> dict[str, Any]:
    spec = load_spec(SPEC_DIR / name)
    _fix_booleans(spec)
    _allow_sdk_flags(spec)
    return spec


@cache
def accounting_spec() -> OpenAPI:
    return openapi(_load("xero_accounting.yaml"), ACCOUNTING_PREFIX)


def _relax_connection_dates(spec: dict[str, Any]) -> None:
    """The identity spec types createdDateUtc/updatedDateUtc as RFC 3339 date-time, yet its own
    example (and the real API) sends "2019-12-07T18:46:19.5165400", with no offset."""
    properties = spec["components"]["schemas"]["Connection"]["properties"]
    for name in ("createdDateUtc", "updatedDateUtc"):
        properties[name].pop("format", None)


@cache
def identity_spec() -> OpenAPI:
    spec = _load("xero-identity.yaml")
    _relax_connection_dates(spec)
    return openapi(spec, "/")


class XeroValidator(TrafficValidator):
    def spec_for(self, path: str) -> OpenAPI | None:
        if path.startswith(ACCOUNTING_PREFIX + "/"):
            return accounting_spec()
        if path == "/Connections" or path.startswith("/Connections/"):
            return identity_spec()
        return None

    def query(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        # xero-python sends Python-capitalised booleans (summarizeErrors=False), which the real
        # API accepts; the spec's boolean casting wants lowercase.
        return [(k, v.lower() if v in ("True", "False") else v) for k, v in pairs]

    def checks_response(self, status: int) -> bool:
        # The files declare no error responses (401/403/404/429/5xx): 2xx and 400 are checked.
        return 200 <= status < 300 or status == 400

    def tolerates(self, exc: Exception, status: int) -> bool:
        # A 400 the operation does not declare has nothing to check.
        return isinstance(exc, ResponseNotFound) and status == 400


@cache
def _webhook_spec() -> dict[str, Any]:
    """xero-webhooks.yaml, with two defects relaxed: its own example gives eventDateUtc without
    an offset ("2024-06-21T01:15:39.902"), and the Intent-to-Receive payload has sequences 0
    although the schema says minimum 1 (reference/xero.md §6)."""
    spec = load_spec(SPEC_DIR / "xero-webhooks.yaml")
    event = spec["components"]["schemas"]["WebhookEvent"]
    event["properties"]["events"]["items"]["properties"]["eventDateUtc"].pop("format", None)
    for name in ("firstEventSequence", "lastEventSequence"):
        event["properties"][name]["minimum"] = 0
    return spec


def webhook_payload_errors(payload: Any) -> list[str]:
    """Mismatches of one webhook delivery against xero-webhooks.yaml."""
    events = payload.get("events", []) if isinstance(payload, dict) else []
    credit = any(e.get("eventCategory") == "CREDITNOTE" for e in events if isinstance(e, dict))
    name = "CreditNoteWebhookEvent" if credit else "WebhookEvent"
    return schema_errors(_webhook_spec(), name, payload)
