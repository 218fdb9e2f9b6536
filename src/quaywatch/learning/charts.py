"""Inline SVG charts for the evaluation report: no JavaScript, no fonts or files to fetch.

Each function returns one ``<svg>`` element as text, ready to embed in an HTML page. Inline SVG
in HTML needs no namespace declaration, so the page carries no URL at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from quaywatch.learning.evaluate import AtPercent, Kind, Report, ScorerResult

_WIDTH, _HEIGHT = 520, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 50, 130, 20, 40
_PALETTE = ["#1f5fa8", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0f766e"]
_GREY = "#9ca3af"
#: References in greys: the floor light, the ceiling dark.
_REFERENCE_TONES = {Kind.RANDOM: "#c4c8cf", Kind.ORACLE: "#6b7280"}


def _x(value: float, x_max: float) -> float:
    return _LEFT + (_WIDTH - _LEFT - _RIGHT) * value / x_max


def _y(value: float) -> float:
    return _HEIGHT - _BOTTOM - (_HEIGHT - _TOP - _BOTTOM) * value


def _axes(x_max: float, x_label: str, y_label: str, x_ticks: Sequence[float]) -> list[str]:
    parts = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = _y(tick)
        parts.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_x(x_max, x_max):.1f}" '
                     f'y2="{y:.1f}" stroke="#e5e7eb"/>')  # fmt: skip
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:.0%}</text>')
    for tick in x_ticks:
        x = _x(tick, x_max)
        parts.append(f'<line x1="{x:.1f}" y1="{_y(0):.1f}" x2="{x:.1f}" y2="{_y(0) + 4:.1f}" '
                     f'stroke="#374151"/>')  # fmt: skip
        parts.append(f'<text x="{x:.1f}" y="{_y(0) + 16:.1f}" text-anchor="middle">{tick:g}</text>')
    parts.append(f'<line x1="{_LEFT}" y1="{_y(0):.1f}" x2="{_x(x_max, x_max):.1f}" '
                 f'y2="{_y(0):.1f}" stroke="#374151"/>')  # fmt: skip
    parts.append(f'<line x1="{_LEFT}" y1="{_y(0):.1f}" x2="{_LEFT}" y2="{_y(1):.1f}" '
                 f'stroke="#374151"/>')  # fmt: skip
    mid = (_LEFT + _x(x_max, x_max)) / 2
    parts.append(f'<text x="{mid:.1f}" y="{_HEIGHT - 6}" text-anchor="middle">{x_label}</text>')
    parts.append(f'<text x="12" y="{_y(0.5):.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {_y(0.5):.1f})">{y_label}</text>')  # fmt: skip
    return parts


def _svg(parts: list[str], title: str) -> str:
    body = "\n".join(parts)
    return (
        f'<svg viewBox="0 0 {_WIDTH} {_HEIGHT}" width="{_WIDTH}" height="{_HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" font-size="11" font-family="sans-serif">'
        f"<title>{escape(title)}</title>\n{body}\n</svg>"
    )


def _polyline(points: Sequence[tuple[float, float]], colour: str, dash: str, width: float) -> str:
    coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<polyline points="{coordinates}" fill="none" stroke="{colour}" '
            f'stroke-width="{width}"{dashes}/>')  # fmt: skip


def _series(curve: Sequence[AtPercent], metric: str, x_max: float) -> list[tuple[float, float]]:
    points = []
    for item in curve:
        value = getattr(item.at, metric)
        if value is not None and item.percent <= x_max:
            points.append((_x(item.percent, x_max), _y(value)))
    return points


def curve_chart(report: Report, result: ScorerResult) -> str:
    """Precision@n (solid) and recall@n (dashed) against n % controlled, with the references.

    The scorer is drawn in colour, random (light) and oracle (dark) in grey unless it is one of
    them; a vertical line marks the control capacity.
    """
    x_max = max(item.percent for item in result.curve)
    colour = _PALETTE[report.results.index(result) % len(_PALETTE)]
    parts = _axes(x_max, "% of consignments controlled", "share", _ticks(x_max))
    cap = _x(report.capacity_pct, x_max)
    parts.append(f'<line x1="{cap:.1f}" y1="{_y(0):.1f}" x2="{cap:.1f}" y2="{_y(1):.1f}" '
                 f'stroke="#111827" stroke-dasharray="2 3"/>')  # fmt: skip
    parts.append(f'<text x="{cap + 3:.1f}" y="{_y(1) + 10:.1f}">capacity</text>')
    legend: list[tuple[str, str, str]] = []
    for other in report.results:
        if other.kind is Kind.SCORER or other is result:
            continue
        tone = _REFERENCE_TONES[other.kind]
        for metric, dash in (("precision", ""), ("recall", "6 4")):
            parts.append(_polyline(_series(other.curve, metric, x_max), tone, dash, 1.2))
        legend.append((other.name, tone, ""))
    for metric, dash in (("precision", ""), ("recall", "6 4")):
        parts.append(_polyline(_series(result.curve, metric, x_max), colour, dash, 2.2))
        legend.append((f"{result.name} {metric}", colour, dash))
    for i, (label, tone, dash) in enumerate(legend):
        y = _TOP + 14 * i + 6
        x = _WIDTH - _RIGHT + 10
        parts.append(_polyline([(x, y), (x + 18, y)], tone, dash, 2))
        parts.append(f'<text x="{x + 22}" y="{y + 4}">{escape(label)}</text>')
    return _svg(parts, f"precision and recall at n % for {result.name}")


def _ticks(x_max: float) -> list[float]:
    step = next(s for s in (1, 2, 5, 10, 20, 25) if x_max / s <= 8)
    return [float(step * i) for i in range(int(x_max // step) + 1)]


def reliability_chart(results: Sequence[ScorerResult]) -> str:
    """Observed illicit rate against mean predicted probability per bin, for calibrated scorers.

    Points on the diagonal are calibrated; a point's area grows with its bin's count.
    """
    parts = _axes(1.0, "mean predicted probability", "observed illicit rate",
                  [0.0, 0.25, 0.5, 0.75, 1.0])  # fmt: skip
    parts.append(_polyline([(_x(0, 1), _y(0)), (_x(1, 1), _y(1))], _GREY, "4 4", 1))
    for i, result in enumerate(results):
        colour = _PALETTE[(i + 1) % len(_PALETTE)]
        filled = [b for b in result.reliability if b.count]
        biggest = max((b.count for b in filled), default=1)
        points = []
        for b in filled:
            assert b.mean_predicted is not None and b.observed_rate is not None
            x, y = _x(b.mean_predicted, 1), _y(b.observed_rate)
            points.append((x, y))
            radius = 2 + 6 * (b.count / biggest) ** 0.5
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{colour}" '
                         f'fill-opacity="0.6"><title>{escape(result.name)}: {b.count} in '
                         f'[{b.lower:g}, {b.upper:g})</title></circle>')  # fmt: skip
        parts.append(_polyline(points, colour, "", 1.5))
        y = _TOP + 14 * i + 6
        parts.append(f'<circle cx="{_WIDTH - _RIGHT + 16}" cy="{y}" r="4" fill="{colour}"/>')
        parts.append(f'<text x="{_WIDTH - _RIGHT + 26}" y="{y + 4}">{escape(result.name)}</text>')
    return _svg(parts, "reliability diagram")


def weekly_chart(series: Mapping[str, Sequence[float | None]], title: str) -> str:
    """One line per named series of shares (0-1), week by week; a missing week breaks no line.

    Used by the policy lab: each strategy's weekly figure, on a shared 0-100 % scale.
    """
    weeks = max((len(values) for values in series.values()), default=1)
    x_max = float(max(weeks, 2))
    parts = _axes(x_max, "week", "share", [float(w) for w in range(1, weeks + 1)])
    for i, (name, values) in enumerate(series.items()):
        colour = _PALETTE[i % len(_PALETTE)]
        points = [(_x(w + 1, x_max), _y(v)) for w, v in enumerate(values) if v is not None]
        parts.append(_polyline(points, colour, "", 2.0))
        y = _TOP + 14 * i + 6
        x = _WIDTH - _RIGHT + 10
        parts.append(_polyline([(x, y), (x + 18, y)], colour, "", 2))
        parts.append(f'<text x="{x + 22}" y="{y + 4}">{escape(name)}</text>')
    return _svg(parts, title)
