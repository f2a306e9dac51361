"""The Stripe stand-in's traffic against Stripe's own OpenAPI description, in tests.

Every response to /v1/... is checked against specs/stripe/stripe_subset.yaml (specs/README.md),
and every webhook event against its `event` schema and its `data.object` against the schema of
that object's type, with the one validator of tests/support/openapi.py. What Stripe's checks
leave out or patch, and why, is below: nothing else is relaxed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import PathNotFound

from tests.support.openapi import TrafficValidator, load_spec, mappings, openapi, schema_errors

SPEC = Path(__file__).resolve().parents[2] / "specs" / "stripe" / "stripe_subset.yaml"

_NULL = {"type": "string", "nullable": True, "enum": [None]}


def _explicit_nulls(spec: dict[str, Any]) -> None:
    """Stripe's file uses `nullable` as the OpenAPI 3.0 validators of its day did, and
    openapi-core's do not: beside `anyOf` with no `type` (3.0.3 says nullable applies only with
    a type), and on enums that do not list null (3.0.3's clarification wants it listed). Both
    are made explicit: null stays allowed exactly where Stripe's file means it."""
    for node in mappings(spec):
        if node.get("nullable") is True:
            if "anyOf" in node and "type" not in node:
                node["anyOf"] = [*node["anyOf"], dict(_NULL)]
            if isinstance(node.get("enum"), list) and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]


@cache
def _raw_spec() -> dict[str, Any]:
    spec = load_spec(SPEC)
    _explicit_nulls(spec)
    return spec


@cache
def stripe_spec() -> OpenAPI:
    return openapi(_raw_spec(), "/")


def object_errors(obj: Any, schema_name: str) -> list[str]:
    """Mismatches of one object against a named schema of the spec."""
    return schema_errors(_raw_spec(), schema_name, obj)


def event_errors(event: Any) -> list[str]:
    """An event's envelope against `event`, and its object against its own type's schema."""
    errors = object_errors(event, "event")
    obj = event.get("data", {}).get("object") if isinstance(event, dict) else None
    if isinstance(obj, dict) and obj.get("object") in _raw_spec()["components"]["schemas"]:
        errors += [f"data.object {e}" for e in object_errors(obj, obj["object"])]
    return errors


class StripeValidator(TrafficValidator):
    # Requests are not validated: the spec declares form bodies whose nested `deepObject`
    # encoding openapi-core does not decode.
    validates_requests = False

    def spec_for(self, path: str) -> OpenAPI | None:
        return stripe_spec() if path.startswith("/v1/") else None

    def tolerates(self, exc: Exception, status: int) -> bool:
        # An unknown URL: Stripe's 404 "Unrecognized request URL", which no operation declares.
        return isinstance(exc, PathNotFound)
