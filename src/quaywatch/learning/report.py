"""An evaluation report as JSON, as a self-contained HTML page, and as a table for the terminal.

JSON layout (``FORMAT`` names the version; keys never change meaning within one version; every
share is a number in [0, 1] or ``null`` when undefined; times are ISO 8601 UTC)::

    {
      "format": "quaywatch.evaluation/1",
      "rows": 2000,                      consignments evaluated (with ground truth)
      "without_truth": 0,                consignments left out for lack of ground truth
      "unmatched_truth": {               truth rows whose consignment was never stored
        "rows": 0,                       ... lodged in the evaluated period
        "illicit": 0, "patterns": {},    ... of which illicit, per pattern
        "examples": [],                  ... a few of their ids, illicit first
        "before_split": 0                ... lodged before it (no figure depends on them)
      },
      "illicit": 61, "base_rate": 0.0305, "critical": 9,
      "revenue_at_stake_eur": 812345.0,  total over illicit consignments
      "patterns": {"cocaine": 4, ...},   illicit consignments per fraud pattern
      "capacity_pct": 3.0, "capacity_k": 60,
      "percents": [1.0, 2.0, 5.0, 10.0],
      "lodged_from": "2026-10-01T00:00:00+00:00", "lodged_to": "...",   or null
      "notes": ["random is the analytic expectation ...", ...],
      "results": [                       random, then each scorer, then oracle
        {
          "name": "random", "kind": "random" | "scorer" | "oracle", "calibrated": false,
          "auc": 0.5,
          "at_percents": [{"percent": 1.0, "k": 20, "hits": 0.61,
                           "precision": 0.03, "recall": 0.01, "revenue": 0.01}, ...],
          "at_capacity": {"k": 60, "hits": ..., "precision": ..., "recall": ..., "revenue": ...},
          "pattern_recall": {"cocaine": 0.03, ...},     at capacity
          "critical_recall": 0.03,                      at capacity
          "brier": null,                                calibrated scorers only
          "reliability": [{"lower": 0.0, "upper": 0.1, "count": 1800,
                           "mean_predicted": 0.02, "observed_rate": 0.01}, ...],
          "curve": [{"percent": 0.5, ...}, ...]         as at_percents, for the charts
        }, ...
      ]
    }

The HTML page embeds its style and SVG charts: it opens offline, from an e-mail attachment or a
file share, and loads nothing from anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from quaywatch.errors import InputError
from quaywatch.learning.charts import curve_chart, reliability_chart
from quaywatch.learning.evaluate import AtPercent, Kind, Report, ScorerResult, Unmatched
from quaywatch.learning.metrics import AtK, ReliabilityBin

FORMAT = "quaywatch.evaluation/1"

# --- JSON ------------------------------------------------------------------------------------


def _at_percent(item: AtPercent) -> dict[str, Any]:
    return {"percent": item.percent, **asdict(item.at)}


def _result(result: ScorerResult) -> dict[str, Any]:
    return {
        "name": result.name,
        "kind": result.kind.value,
        "calibrated": result.calibrated,
        "auc": result.auc,
        "at_percents": [_at_percent(a) for a in result.at_percents],
        "at_capacity": asdict(result.at_capacity),
        "pattern_recall": result.pattern_recall,
        "critical_recall": result.critical_recall,
        "brier": result.brier,
        "reliability": [asdict(b) for b in result.reliability],
        "curve": [_at_percent(a) for a in result.curve],
    }


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data, in the layout of the module docstring."""
    return {
        "format": FORMAT,
        "rows": report.rows,
        "without_truth": report.without_truth,
        "unmatched_truth": {
            **asdict(report.unmatched),
            "examples": list(report.unmatched.examples),
        },
        "illicit": report.illicit,
        "base_rate": report.base_rate,
        "critical": report.critical,
        "revenue_at_stake_eur": report.revenue_at_stake_eur,
        "patterns": report.patterns,
        "capacity_pct": report.capacity_pct,
        "capacity_k": report.capacity_k,
        "percents": list(report.percents),
        "lodged_from": _time(report.lodged_from),
        "lodged_to": _time(report.lodged_to),
        "notes": list(report.notes),
        "results": [_result(r) for r in report.results],
    }


def to_json(report: Report) -> str:
    """The report as JSON text (strict: no NaN or Infinity)."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False, allow_nan=False)


def write_json(report: Report, path: Path) -> None:
    """Write the report as JSON to ``path``."""
    path.write_text(to_json(report) + "\n", encoding="utf-8")


def _at_k(data: dict[str, Any]) -> AtK:
    return AtK(data["k"], data["hits"], data["precision"], data["recall"], data["revenue"])


def _at_percents(items: list[dict[str, Any]]) -> tuple[AtPercent, ...]:
    return tuple(AtPercent(item["percent"], _at_k(item)) for item in items)


def _unmatched(data: dict[str, Any] | None) -> Unmatched:
    if data is None:  # written before the key existed: nothing was counted then
        return Unmatched()
    return Unmatched(
        rows=data["rows"], illicit=data["illicit"], patterns=dict(data["patterns"]),
        examples=tuple(data["examples"]), before_split=data["before_split"],
    )  # fmt: skip


def from_dict(data: dict[str, Any]) -> Report:
    """Rebuild a report from ``to_dict``'s output (e.g. to compare two evaluations)."""
    results = tuple(
        ScorerResult(
            name=r["name"],
            kind=Kind(r["kind"]),
            calibrated=r["calibrated"],
            auc=r["auc"],
            at_percents=_at_percents(r["at_percents"]),
            at_capacity=_at_k(r["at_capacity"]),
            pattern_recall=dict(r["pattern_recall"]),
            critical_recall=r["critical_recall"],
            brier=r["brier"],
            reliability=tuple(ReliabilityBin(**b) for b in r["reliability"]),
            curve=_at_percents(r["curve"]),
        )
        for r in data["results"]
    )
    return Report(
        rows=data["rows"],
        without_truth=data["without_truth"],
        illicit=data["illicit"],
        base_rate=data["base_rate"],
        revenue_at_stake_eur=data["revenue_at_stake_eur"],
        critical=data["critical"],
        patterns=dict(data["patterns"]),
        capacity_pct=data["capacity_pct"],
        capacity_k=data["capacity_k"],
        percents=tuple(data["percents"]),
        results=results,
        lodged_from=datetime.fromisoformat(data["lodged_from"]) if data["lodged_from"] else None,
        lodged_to=datetime.fromisoformat(data["lodged_to"]) if data["lodged_to"] else None,
        notes=tuple(data["notes"]),
        unmatched=_unmatched(data.get("unmatched_truth")),
    )


def read_json(path: Path) -> Report:
    """Read a report written by ``write_json``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the report ({exc})", source=str(path)) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"not a {FORMAT} report", source=str(path))
    try:
        return from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed report: {exc!r}", source=str(path)) from exc


# --- shared formatting -------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _cuts(report: Report, result: ScorerResult) -> list[tuple[str, AtK]]:
    cuts = [(f"@{p:g}%", a.at) for p, a in zip(report.percents, result.at_percents, strict=True)]
    return [*cuts, (f"@capacity {report.capacity_pct:g}%", result.at_capacity)]


def _title(report: Report) -> str:
    return (
        f"Detection on {report.rows} consignments: {report.illicit} illicit "
        f"(base rate {_pct(report.base_rate)}), capacity {report.capacity_pct:g}% = "
        f"{report.capacity_k} controls"
    )


# --- terminal ----------------------------------------------------------------------------------


def render_table(report: Report) -> Table:
    """The report's main figures for the terminal, narrow enough for 80 columns.

    One block per scorer and reference: precision, recall and revenue share when the top n %
    are controlled (one column per n, the last at the control capacity), then the recall of
    critical consignments at capacity; AUC and, for calibrated scorers, Brier under the name.
    """
    table = Table(
        title=_title(report), caption=Text(" ".join(report.notes)), caption_justify="left"
    )
    table.add_column("scorer", no_wrap=True)
    table.add_column("figure", no_wrap=True)
    for percent in report.percents:
        table.add_column(f"@{percent:g}%", justify="right", no_wrap=True)
    table.add_column(f"capacity\n@{report.capacity_pct:g}%", justify="right", no_wrap=True)
    blank = [""] * len(report.percents)
    for result in report.results:
        cuts = [a for _, a in _cuts(report, result)]
        labels: list[Text | str] = [Text(result.name), f"AUC {_num(result.auc)}"]
        if result.calibrated:
            labels.append(f"Brier {_num(result.brier)}")
        rows = [
            ("precision", [_pct(a.precision) for a in cuts]),
            ("recall", [_pct(a.recall) for a in cuts]),
            ("revenue", [_pct(a.revenue) for a in cuts]),
            ("critical", [*blank, _pct(result.critical_recall)]),
        ]
        for i, (figure, cells) in enumerate(rows):
            label = labels[i] if i < len(labels) else ""
            table.add_row(label, figure, *cells, end_section=i == len(rows) - 1)
    return table


def render_patterns(report: Report) -> Table:
    """Recall at the control capacity per fraud pattern, each scorer beside what is reachable.

    One row per pattern (with its number of illicit consignments), then the critical ones and
    all illicit ones together; one column per scorer, then random and **reachable**: the
    oracle's recall with the same controls, the most any selection can reach at this
    capacity. A scorer's figure is read against that column, not against 100 %.
    """
    table = Table(
        title=f"Recall per fraud pattern at capacity {report.capacity_pct:g}% "
        f"= {report.capacity_k} controls",
        caption="reachable: the oracle's recall with the same controls (the ceiling at this "
        "capacity); random: the share controlled.",
        caption_justify="left",
    )
    table.add_column("pattern", no_wrap=True)
    table.add_column("illicit", justify="right", no_wrap=True)
    scorers = [r for r in report.results if r.kind is Kind.SCORER]
    for result in scorers:
        table.add_column(Text(result.name), justify="right", no_wrap=True)
    random, oracle = report.result(Kind.RANDOM.value), report.result(Kind.ORACLE.value)
    table.add_column("random", justify="right", no_wrap=True)
    table.add_column("reachable", justify="right", no_wrap=True)
    ordered = [*scorers, random, oracle]
    for pattern in sorted(report.patterns):
        cells = [_pct(r.pattern_recall.get(pattern)) for r in ordered]
        table.add_row(Text(pattern), f"{report.patterns[pattern]:,}", *cells)
    table.add_row(
        "critical", f"{report.critical:,}", *(_pct(r.critical_recall) for r in ordered),
        end_section=False,
    )  # fmt: skip
    table.add_row(
        "all illicit", f"{report.illicit:,}", *(_pct(r.at_capacity.recall) for r in ordered)
    )
    return table


def render(report: Report) -> Group:
    """What ``quaywatch evaluate`` prints: ``render_table`` then ``render_patterns``."""
    return Group(render_table(report), render_patterns(report))


# --- HTML and SVG ------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #111827; max-width: 72rem; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #d1d5db; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.reference td { color: #4b5563; font-style: italic; }
figure { display: inline-block; margin: 0.5rem 1rem 1rem 0; }
figcaption { font-size: 0.9rem; color: #374151; }
"""


def _row(result: ScorerResult, cells: Sequence[str]) -> str:
    kind = ' class="reference"' if result.kind is not Kind.SCORER else ""
    return (
        f"<tr{kind}><td>{escape(result.name)}</td>"
        + "".join(f"<td>{escape(c)}</td>" for c in cells)
        + "</tr>"
    )


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page: summary, tables, curves, reliability."""
    head = ["scorer", "AUC", "Brier"]
    for label, _ in _cuts(report, report.results[0]):
        head += [f"P{label}", f"R{label}", f"revenue{label}"]
    rows = []
    for result in report.results:
        cells = [_num(result.auc), _num(result.brier)]
        for _, a in _cuts(report, result):
            cells += [_pct(a.precision), _pct(a.recall), _pct(a.revenue)]
        rows.append(_row(result, cells))
    patterns = sorted(report.patterns)
    pattern_rows = [
        _row(r, [*(_pct(r.pattern_recall.get(p)) for p in patterns), _pct(r.critical_recall)])
        for r in report.results
    ]
    calibrated = [r for r in report.results if r.reliability]
    period = (
        f"lodged {_time(report.lodged_from)} to {_time(report.lodged_to)}"
        if report.lodged_from
        else "test period not recorded"
    )
    charts = "\n".join(
        f"<figure>{curve_chart(report, r)}<figcaption>{escape(r.name)}: precision (solid) and "
        "recall (dashed) against the share controlled</figcaption></figure>"
        for r in report.results
    )
    reliability = (
        f"<figure>{reliability_chart(calibrated)}<figcaption>On the dashed diagonal a predicted "
        "probability means what it says.</figcaption></figure>"
        if calibrated
        else "<p>No scorer in this evaluation gives calibrated probabilities.</p>"
    )
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    pattern_header = "".join(f"<th>{escape(p)} ({report.patterns[p]})</th>" for p in patterns)
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>quaywatch evaluation</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Detection evaluation</h1>
<p>{escape(_title(report))}; revenue at stake {report.revenue_at_stake_eur:,.0f} EUR;
{report.critical} critical; {escape(period)}; {report.without_truth} without ground truth;
{report.unmatched.rows} ground-truth rows of the period never stored
({report.unmatched.illicit} illicit).</p>
<ul>{notes}</ul>
<h2>Precision, recall and revenue caught</h2>
<table><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>
<h2>Recall per fraud pattern at capacity</h2>
<table><thead><tr><th>scorer</th>{pattern_header}<th>critical ({report.critical})</th></tr>
</thead><tbody>{"".join(pattern_rows)}</tbody></table>
<h2>Precision and recall by share controlled</h2>
{charts}
<h2>Reliability</h2>
{reliability}
</body>
</html>
"""


def write_html(report: Report, path: Path) -> None:
    """Write the report as a self-contained HTML page to ``path``."""
    path.write_text(render_html(report), encoding="utf-8")
