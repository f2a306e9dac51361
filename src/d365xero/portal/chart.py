"""The dashboard's chart of invoices synced and failed per day, drawn on the server: the
geometry of an SVG bar chart (plain numbers), which the template writes out. No JavaScript;
the same numbers go in a table beside it for screen readers and for copying."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 40  # room for the axis labels


@dataclass(frozen=True)
class Day:
    day: date
    synced: int
    failed: int


class Bar(NamedTuple):  # a tuple: 60 of them a page, made quickly
    x: float
    y: float
    width: float
    height: float
    kind: str  # synced | failed
    label: str  # its value, said in words (a <title> for a pointer's hover)


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    days: list[Day]
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[Label]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM

    @property
    def synced(self) -> int:
        return sum(d.synced for d in self.days)

    @property
    def failed(self) -> int:
        return sum(d.failed for d in self.days)


def nice_top(value: int) -> int:
    """A round number at or above `value` for the top of the axis (1, 2, 5 times a power of
    ten), at least 1."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if top * step >= value:
                return top * step
        top *= 10


def draw(days: Sequence[Day]) -> Chart:
    top = nice_top(max([1, *(max(d.synced, d.failed) for d in days)]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.38, 1.0)
    bars: list[Bar] = []
    labels: list[Label] = []
    for n, day in enumerate(days):
        x = LEFT + n * slot + slot * 0.1
        shown = day.day.strftime("%d %b")
        for offset, kind, value in ((0.0, "synced", day.synced), (bar_w, "failed", day.failed)):
            h = plot_h * value / top
            bars.append(
                Bar(
                    round(x + offset, 2),
                    round(TOP + plot_h - h, 2),
                    round(bar_w, 2),
                    round(h, 2),
                    kind,
                    f"{shown}: {value} {kind}",
                )
            )
        if n % 5 == 0 or n == len(days) - 1:
            labels.append(Label(round(LEFT + n * slot + slot / 2, 2), shown))
    ticks = [Tick(round(TOP + plot_h - plot_h * v / top, 2), v) for v in (0, top // 2, top)]
    if top % 2:  # 1 or 5 times a power of ten: no whole middle (0, 2, 5 reads as a mistake)
        ticks = [ticks[0], ticks[2]]
    return Chart(list(days), bars, ticks, labels)
