"""Bar charts as plain geometry for the SVG templates (no JavaScript): the page and the PDF report
draw the same bars, and each chart has its table beside it for screen readers and for checking."""

from __future__ import annotations

from dataclasses import dataclass

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 180
BAR_AREA = 320


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | None  # None: a group too small to show
    shown: str
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    height: int
    width: int = LABEL_WIDTH + BAR_AREA + 60
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT


def bar_chart(items: list[tuple[str, int | None, str]]) -> Chart:
    """(label, value or None, value as shown) -> bars scaled to the largest value."""
    largest = max([value for _, value, _ in items if value] or [1])
    bars = [Bar(label, value, shown, index * (BAR_HEIGHT + GAP),
                round(BAR_AREA * (value or 0) / largest)) for index, (label, value, shown) in enumerate(items)]
    return Chart(bars, max(len(bars), 1) * (BAR_HEIGHT + GAP))
