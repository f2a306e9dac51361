"""The dashboard's parts without the app: on-demand jobs that never hold a request past their
bound nor pile up, the brief cache, the chart's geometry, and steps read from any JSON."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from d365xero.portal.chart import Day, draw, nice_top
from d365xero.portal.ondemand import Brief, Jobs
from d365xero.portal.pages.dashboard import parse_steps


def test_a_slow_job_is_left_running_and_joined_not_started_again() -> None:
    jobs, release, started = Jobs(workers=2, wait=0.05), threading.Event(), []

    def slow() -> str:
        started.append(1)
        release.wait(30)
        return "done"

    first = jobs.start("dry-run:a", slow)
    assert not first.done  # the request went back without it
    again = jobs.start("dry-run:a", slow)
    assert again is first and len(started) == 1  # a second click joins it
    assert jobs.latest("dry-run:a") is first and jobs.latest("dry-run:b") is None
    release.set()
    first.future.result(timeout=30)
    assert first.outcome() == ("done", None)
    fresh = jobs.start("dry-run:a", lambda: "again")  # once done, a click runs it anew
    assert fresh is not first and fresh.outcome() == ("again", None)
    jobs.close()


def test_a_failed_job_keeps_its_error_for_the_page() -> None:
    jobs = Jobs(wait=5)

    def broken() -> None:
        raise RuntimeError("boom")

    job = jobs.start("reconcile:a", broken)
    result, error = job.outcome()
    assert result is None and isinstance(error, RuntimeError)
    jobs.close()


def test_the_brief_cache_keeps_an_answer_for_its_seconds_until_dropped() -> None:
    now = [100.0]
    brief: Brief[int] = Brief(30.0, clock=lambda: now[0])
    asked = []

    def ask() -> int:
        asked.append(1)
        return len(asked)

    assert brief.get("c", ask) == (1, 0.0)
    now[0] += 10
    assert brief.get("c", ask) == (1, 10.0)
    now[0] += 25
    assert brief.get("c", ask) == (2, 0.0)  # older than 30 s: asked again
    brief.drop("c")
    assert brief.get("c", ask)[0] == 3


def test_the_axis_tops_are_round_numbers() -> None:
    assert [nice_top(v) for v in (0, 1, 2, 3, 7, 10, 11, 49, 51, 999)] == [
        1, 1, 2, 5, 10, 10, 20, 50, 100, 1000,
    ]  # fmt: skip


def test_the_chart_draws_each_days_bars_to_scale() -> None:
    first = date(2026, 3, 20)
    days = [Day(first + timedelta(days=n), n, n % 3) for n in range(30)]
    chart = draw(days)
    assert len(chart.bars) == 60 and chart.synced == sum(range(30))
    tallest = max(chart.bars, key=lambda b: b.height)
    assert tallest.label == "18 Apr: 29 synced"
    top = chart.ticks[-1]
    assert top.value == 50 and tallest.y > top.y  # 29 of 50 reaches past half the axis only
    assert all(b.height >= 0 and b.y + b.height <= chart.baseline + 0.01 for b in chart.bars)
    assert draw([Day(first, 0, 0)]).ticks[-1].value == 1  # nothing at all still has an axis
    assert [t.value for t in chart.ticks] == [0, 25, 50]
    assert [t.value for t in draw([Day(first, 3, 1)]).ticks] == [0, 5]  # no middle at 2 of 5


def test_steps_are_read_from_whatever_json_a_run_holds() -> None:
    assert parse_steps(None) == [] and parse_steps("not json") == [] and parse_steps("{}") == []
    [step] = parse_steps(
        '[{"name": "push", "status": "partial", "counts": {"created": 2, "x": "y"},'
        ' "xero_calls": 3, "dataverse_calls": 4, "message": "1 invoice failed"}, 7]'
    )
    assert (step.name, step.counts, step.xero_calls, step.dataverse_calls) == (
        "push",
        {"created": 2},
        3,
        4,
    )
