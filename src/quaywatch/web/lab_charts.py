"""The policy lab's charts, drawn on the server as SVG: the geometry here, the markup in
``templates/lab_chart_*.html``.

Each set-up is one *series* and looks the same in every chart: a colour, and, so that it can
be told apart without colour (printed in grey, or by a colour-blind reader), a marker shape
(filled or hollow) and a dash pattern; lines end with the set-up's name and bars carry the
marker on top. ``bars`` draws grouped bars (a group per figure, a bar per set-up), ``lines``
a figure week by week (a line per set-up). Values are numbers from 0 to ``top``; a missing
value (None) draws nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: Marker shapes, in the order series take them.
SHAPES = ("circle", "square", "triangle", "diamond", "triangle-down", "cross")
#: Dash patterns (classes of app.css), in the order series take them.
DASHES = 4
#: The most series the colours tell apart (app.css: ``.lab-c0`` to ``.lab-c11``).
COLOURS = 12
#: The drawing's size in SVG units (it scales to the page's width).
WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40
#: The room a line's end label takes (the line chart's right margin).
LABEL_ROOM = 170
#: The least vertical distance between two end labels.
LABEL_GAP = 13


@dataclass(frozen=True, slots=True)
class Series:
    """How one set-up is drawn."""

    name: str
    index: int

    @property
    def colour(self) -> str:
        return f"lab-c{self.index % COLOURS}"

    @property
    def dash(self) -> str:
        return f"lab-d{self.index % DASHES}"

    @property
    def shape(self) -> str:
        return SHAPES[self.index % len(SHAPES)]

    @property
    def hollow(self) -> bool:
        return (self.index // len(SHAPES)) % 2 == 1

    def marker(self, x: float, y: float, size: float = 4.5) -> str:
        """The SVG path of this series' marker centred on (x, y)."""
        return marker_path(self.shape, x, y, size)


def series_of(names: Sequence[str]) -> list[Series]:
    """One series per name, in order."""
    return [Series(name, i) for i, name in enumerate(names)]


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def marker_path(shape: str, x: float, y: float, s: float) -> str:
    """An SVG path ``d`` for ``shape`` of half-size ``s`` at (x, y)."""
    points: list[tuple[float, float]]
    if shape == "circle":
        return (f"M{_n(x - s)} {_n(y)}a{_n(s)} {_n(s)} 0 1 0 {_n(2 * s)} 0"
                f"a{_n(s)} {_n(s)} 0 1 0 {_n(-2 * s)} 0Z")  # fmt: skip
    if shape == "square":
        points = [(x - s, y - s), (x + s, y - s), (x + s, y + s), (x - s, y + s)]
    elif shape == "triangle":
        points = [(x, y - s * 1.2), (x + s * 1.1, y + s), (x - s * 1.1, y + s)]
    elif shape == "triangle-down":
        points = [(x, y + s * 1.2), (x + s * 1.1, y - s), (x - s * 1.1, y - s)]
    elif shape == "diamond":
        points = [(x, y - s * 1.3), (x + s * 1.1, y), (x, y + s * 1.3), (x - s * 1.1, y)]
    else:  # a cross: a plus sign with thick arms
        t = s * 0.4
        points = [(x - t, y - s), (x + t, y - s), (x + t, y - t), (x + s, y - t), (x + s, y + t),
                  (x + t, y + t), (x + t, y + s), (x - t, y + s), (x - t, y + t), (x - s, y + t),
                  (x - s, y - t), (x - t, y - t)]  # fmt: skip
    return "M" + "L".join(f"{_n(px)} {_n(py)}" for px, py in points) + "Z"


@dataclass(frozen=True, slots=True)
class Tick:
    """A labelled position on an axis."""

    at: float
    text: str


@dataclass(frozen=True, slots=True)
class Bar:
    """One set-up's bar in a group; ``value`` None: nothing to draw (``text`` says so)."""

    series: Series
    x: float
    y: float
    width: float
    height: float
    value: float | None
    text: str
    marker: str


@dataclass(frozen=True, slots=True)
class BarGroup:
    """The bars of one figure, and the figure's name under them."""

    label: str
    x: float
    bars: list[Bar]


@dataclass(frozen=True, slots=True)
class BarChart:
    """Grouped bars: a group per figure, a bar per set-up."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    groups: list[BarGroup]
    ticks: list[Tick]


@dataclass(frozen=True, slots=True)
class Point:
    """One week's value of a line, and what it reads as."""

    x: float
    y: float
    marker: str
    text: str


@dataclass(frozen=True, slots=True)
class Line:
    """One set-up's line: its path (broken where a week has no value), its points, and its
    name at its last point."""

    series: Series
    path: str
    points: list[Point]
    label_y: float


@dataclass(frozen=True, slots=True)
class LineChart:
    """A figure week by week, a line per set-up."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    label_x: float


def _y_ticks(low: float, top: float, percent: bool) -> list[Tick]:
    steps = 5
    values = [low + (top - low) * i / steps for i in range(steps + 1)]
    return [Tick(v, f"{100 * v:.0f} %" if percent else f"{v:.2f}") for v in values]


def _scale(low: float, top: float, y0: float, y1: float) -> tuple[float, float]:
    """Slope and offset mapping [low, top] onto [y0 (bottom), y1 (top)]."""
    slope = (y1 - y0) / (top - low)
    return slope, y0 - slope * low


def _text(value: float | None, percent: bool) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f} %" if percent else f"{value:.3f}"


def bars(
    figures: Sequence[tuple[str, Mapping[str, float | None]]],
    names: Sequence[str],
    *,
    percent: bool,
    top: float | None = None,
) -> BarChart:
    """Grouped bars of ``figures`` (each a label and a value per set-up name), the set-ups in
    the order of ``names``, on a scale from 0 to ``top`` (default: 1 for shares, else the
    largest value rounded up to a tenth, at least 1)."""
    series = series_of(names)
    values = [v for _, by in figures for v in by.values() if v is not None]
    if top is None:
        top = 1.0 if percent else max(1.0, math.ceil(10 * max(values, default=1.0)) / 10)
    plot_bottom, plot_top = HEIGHT - BOTTOM, TOP
    slope, offset = _scale(0.0, top, plot_bottom, plot_top)
    group_width = (WIDTH - LEFT - RIGHT) / max(1, len(figures))
    bar_width = min(36.0, group_width * 0.8 / max(1, len(series)))
    groups = []
    for g, (label, by) in enumerate(figures):
        centre = LEFT + group_width * (g + 0.5)
        first = centre - bar_width * len(series) / 2
        drawn = []
        for s in series:
            value = by.get(s.name)
            x = first + bar_width * s.index
            y = plot_bottom if value is None else slope * min(value, top) + offset
            drawn.append(Bar(
                s, x + 1, y, bar_width - 2, plot_bottom - y, value, _text(value, percent),
                s.marker(x + bar_width / 2, y - 7, min(4.5, bar_width / 2 - 1)),
            ))  # fmt: skip
        groups.append(BarGroup(label, centre, drawn))
    ticks = [Tick(slope * t.at + offset, t.text) for t in _y_ticks(0.0, top, percent)]
    return BarChart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, plot_top, plot_bottom, groups, ticks)


def _spread(wanted: list[tuple[float, int]], low: float, high: float) -> dict[int, float]:
    """Label heights near ``wanted`` (height, line) at least ``LABEL_GAP`` apart."""
    placed: dict[int, float] = {}
    last = low - LABEL_GAP
    for y, i in sorted(wanted):
        y = max(y, last + LABEL_GAP)
        placed[i] = y
        last = y
    overflow = last - high
    if overflow > 0:  # pushed past the bottom: move them all up, keeping their order
        placed = {i: y - overflow for i, y in placed.items()}
    return placed


def lines(
    weekly: Mapping[str, Sequence[tuple[int, float | None]]],
    names: Sequence[str],
    *,
    percent: bool,
    low: float = 0.0,
    top: float = 1.0,
) -> LineChart:
    """A line per set-up of ``weekly`` (per name, (week, value) pairs), the set-ups in the
    order of ``names``, on a scale from ``low`` to ``top``."""
    series = series_of(names)
    weeks = sorted({week for points in weekly.values() for week, _ in points})
    first, last = (weeks[0], weeks[-1]) if weeks else (1, 1)
    plot_left, plot_right = LEFT, WIDTH - LABEL_ROOM
    plot_bottom, plot_top = HEIGHT - BOTTOM, TOP
    span = max(1, last - first)

    def x_of(week: int) -> float:
        if last == first:
            return (plot_left + plot_right) / 2
        return plot_left + (plot_right - plot_left) * (week - first) / span

    slope, offset = _scale(low, top, plot_bottom, plot_top)
    drawn: list[tuple[Series, str, list[Point]]] = []
    for s in series:
        path, points, pen_down = [], [], False
        for week, value in sorted(weekly.get(s.name, ())):
            if value is None:
                pen_down = False
                continue
            x, y = x_of(week), slope * min(max(value, low), top) + offset
            path.append(f"{'L' if pen_down else 'M'}{_n(x)} {_n(y)}")
            points.append(Point(x, y, s.marker(x, y), _text(value, percent)))
            pen_down = True
        drawn.append((s, "".join(path), points))
    ends = _spread([(p[-1].y, s.index) for s, _, p in drawn if p], plot_top, plot_bottom)
    step = max(1, math.ceil(len(weeks) / 13))
    return LineChart(
        WIDTH, HEIGHT, plot_left, plot_right, plot_top, plot_bottom,
        [Line(s, path, points, ends.get(s.index, plot_bottom)) for s, path, points in drawn],
        [Tick(x_of(w), str(w)) for w in weeks[::step]],
        [Tick(slope * t.at + offset, t.text) for t in _y_ticks(low, top, percent)],
        plot_right + 14,
    )  # fmt: skip
