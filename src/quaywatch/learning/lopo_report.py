"""A leave-one-pattern-out report as JSON and as a table for the terminal.

JSON layout (``FORMAT`` names the version; shares in [0, 1] or ``null`` when undefined; times
ISO 8601 UTC)::

    {
      "format": "quaywatch.lopo/1",
      "split_at": "...", "labels_until": "...",
      "capacity_pct": 5.0, "capacity_k": 1000,
      "rows": 20000, "without_truth": 0, "illicit": 819,
      "patterns": {"cocaine": 43, ...},        illicit test consignments per pattern
      "reachable": {"cocaine": 1.0, ...},      the oracle's recall per pattern at capacity
      "unmatched_truth": {...},                as in quaywatch.evaluation/1
      "seconds": 245.1, "notes": ["..."],
      "figures": [                             one per left-out pattern
        {"pattern": "cocaine", "illicit": 43, "model": 0.12, "combined": 0.95,
         "baseline_model": 0.40, "baseline_combined": 0.97, "reachable": 1.0,
         "ratio": 0.95, "model_ratio": 0.12, "refused": null}, ...
      ],
      "baseline": {run},                       nothing removed
      "runs": [{run}, ...]                     one per left-out pattern
    }

where a run is ``{"left_out": "cocaine" | null, "removed": {"consignments", "outcomes",
"hits"}, "refused": null | "why", "training": {labelled, hits, held_out_auc, ...},
"model": {pattern: recall}, "combined": {pattern: recall}, "model_auc", "combined_auc",
"seconds"}``: every pattern's recall, not only the left-out one's, so that what leaving one
pattern out does to the others can be read too.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from quaywatch.learning.lopo import LopoReport, Run

FORMAT = "quaywatch.lopo/1"


def _run(run: Run) -> dict[str, Any]:
    return {
        "left_out": run.left_out,
        "removed": asdict(run.removed),
        "refused": run.refused,
        "training": run.training,
        "model": run.model,
        "combined": run.combined,
        "model_auc": run.model_auc,
        "combined_auc": run.combined_auc,
        "seconds": round(run.seconds, 1),
    }


def to_dict(report: LopoReport) -> dict[str, Any]:
    """The report as plain JSON-ready data, in the layout of the module docstring."""
    return {
        "format": FORMAT,
        "split_at": report.split_at.isoformat(),
        "labels_until": report.labels_until.isoformat(),
        "capacity_pct": report.capacity_pct,
        "capacity_k": report.capacity_k,
        "rows": report.rows,
        "without_truth": report.without_truth,
        "illicit": report.illicit,
        "patterns": report.patterns,
        "reachable": report.reachable,
        "unmatched_truth": {
            **asdict(report.unmatched), "examples": list(report.unmatched.examples)
        },
        "seconds": round(report.seconds, 1),
        "notes": list(report.notes),
        "figures": [asdict(f) for f in report.figures()],
        "baseline": _run(report.baseline),
        "runs": [_run(r) for r in report.runs],
    }  # fmt: skip


def to_json(report: LopoReport) -> str:
    """The report as JSON text (strict: no NaN or Infinity)."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False, allow_nan=False)


def write_json(report: LopoReport, path: Path) -> None:
    """Write the report as JSON to ``path``."""
    path.write_text(to_json(report) + "\n", encoding="utf-8")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def render_table(report: LopoReport) -> Table:
    """One row per left-out pattern: its recall at capacity unseen and seen, and reachable.

    ``unseen`` columns come from the model trained and the assessment made without any of the
    pattern's outcomes, ``seen`` from the baseline; ``reachable`` is the oracle's recall with
    the same controls and ``ratio`` the combined unseen recall over it. The caption gives the
    baseline's training figures, refusals and the report's notes.
    """
    table = Table(
        title=(
            f"Leave one pattern out: recall at capacity {report.capacity_pct:g}% = "
            f"{report.capacity_k:,} controls of {report.rows:,} consignments lodged since "
            f"{report.split_at:%Y-%m-%d %H:%M} ({report.illicit:,} illicit)"
        ),
        caption_justify="left",
    )
    for name in ("pattern", "illicit"):
        table.add_column(name, justify="left" if name == "pattern" else "right", no_wrap=True)
    for name in ("model\nunseen", "combined\nunseen", "model\nseen", "combined\nseen",
                 "reachable", "ratio", "outcomes\nremoved (hits)"):  # fmt: skip
        table.add_column(name, justify="right", no_wrap=True)
    refusals = []
    for figures, run in zip(report.figures(), report.runs, strict=True):
        removed = f"{run.removed.outcomes:,} ({run.removed.hits:,})"
        if figures.refused is not None:
            refusals.append(f"{figures.pattern}: {figures.refused}")
            unseen = ["refused", "refused"]
        else:
            unseen = [_pct(figures.model), _pct(figures.combined)]
        table.add_row(
            Text(figures.pattern), f"{figures.illicit:,}", *unseen,
            _pct(figures.baseline_model), _pct(figures.baseline_combined),
            _pct(figures.reachable), _ratio(figures.ratio), removed,
        )  # fmt: skip
    base = report.baseline.training
    lines = [
        f"Baseline model: {base.get('labelled', 0):,} labelled consignments, "
        f"{base.get('hits', 0):,} hits, held-out AUC {_ratio(base.get('held_out_auc'))}; "
        f"labels known before {report.labels_until:%Y-%m-%d %H:%M}; "
        f"measured in {report.seconds:,.0f} s.",
        *(f"Refused ({line})." for line in refusals),
        *report.notes,
    ]
    table.caption = Text("\n".join(lines))
    return table
