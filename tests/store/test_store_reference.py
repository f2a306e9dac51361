"""Xero reference data cached across processes: the cache over its store backing."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from d365xero.jobs.refstore import StoreCacheBacking
from d365xero.store.models import XeroReference
from d365xero.sync.ports import (
    Account,
    BrandingTheme,
    Organisation,
    ReferenceData,
    TaxRate,
    TrackingCategory,
)
from d365xero.xero import refcodec
from d365xero.xero.cache import ReferenceCache

REFERENCE = ReferenceData(
    tax_rates=(
        TaxRate(
            "OUTPUT2", "20% (VAT on Income)", Decimal("20.0000"), "ACTIVE", frozenset({"REVENUE"})
        ),
        TaxRate("NONE", "No VAT", Decimal(0), "ACTIVE"),
    ),
    accounts=(Account("a1", "200", "Sales", "REVENUE", "OUTPUT2", "ACTIVE", "REVENUE", None),),
    branding_themes=(BrandingTheme("t1", "Standard", 0),),
    tracking_categories=(TrackingCategory("Region", ("North", "South")),),
)
ORGANISATION = Organisation("Demo Company (UK)", "!aB1cD", "GBP", frozenset({"GBP", "USD"}))


def test_every_kind_survives_its_text() -> None:
    for value in (REFERENCE, ORGANISATION, frozenset({"CRM-ENT", "SVC"})):
        assert refcodec.decode(refcodec.encode(value)) == value


def test_a_second_process_reads_what_the_first_kept_until_it_expires(
    sessions: sessionmaker[Session],
) -> None:
    now = [1_000.0]
    first = ReferenceCache(ttl=600, clock=lambda: now[0], backing=StoreCacheBacking(sessions))
    assert first.get("tenant", "reference", lambda: REFERENCE) == REFERENCE

    second = ReferenceCache(ttl=600, clock=lambda: now[0], backing=StoreCacheBacking(sessions))
    assert second.get("tenant", "reference", lambda: 1 / 0) == REFERENCE  # not loaded again

    now[0] += 601
    third = ReferenceCache(ttl=600, clock=lambda: now[0], backing=StoreCacheBacking(sessions))
    fresh = ReferenceData((), (), ())
    assert third.get("tenant", "reference", lambda: fresh) == fresh  # expired: loaded again

    third.forget("tenant")
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(XeroReference)) == 0
