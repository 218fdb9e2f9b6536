"""Realistic synthetic port traffic over many days, with the truth for every consignment.

    >>> traffic = generate(Path("out"), days=2, per_day=2_000)   # doctest: +SKIP
    >>> traffic.counts["cocaine"]                                 # doctest: +SKIP

Writes, under ``out``:

- ``consignments/YYYY-MM-DD.csv``: the day's lodged consignments in the flat intake format;
- ``events/YYYY-MM-DD.jsonl``: DCSA equipment events of those consignments' containers;
- ``outcomes/YYYY-MM-DD.csv``: with ``legacy_controls``, the results of the controls made
  that day by the administration's legacy selection (``controls``), in the intake outcome
  format: ordinary administration records, with no truth beyond what the control found;
- ``truth/truth.parquet``: one row per consignment (pattern, revenue at stake, ...), and
  ``truth/parties.parquet``: every generated party with its hidden attributes. Intake never
  reads ``truth/``; evaluation does.
- ``watchlists/offenders.csv``: with ``watchlist_share``, a watchlist of part of the known
  offenders (``synth.watchlist``), for ``quaywatch watchlists load``;
- ``manifest.json``: seed, parameters, counts per pattern and the generator version.

The same arguments give byte-identical files. Days are generated one at a time from a
per-day random stream, so memory follows ``per_day``, not the whole run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from quaywatch.domain.reference import shipped_ports as ports
from quaywatch.errors import ConfigurationError
from quaywatch.intake.consignments import COLUMNS
from quaywatch.intake.outcomes import COLUMNS as OUTCOME_COLUMNS
from quaywatch.synth import (
    controls,
    journeys,
    noise as feed_noise,
    parties as population,
    watchlist as offenders,
    world,
)
from quaywatch.synth.day import generate_day
from quaywatch.synth.patterns import PATTERN_NAMES, PatternRates

#: Bumped whenever the same seed would give different traffic.
GENERATOR_VERSION = "1.1"


@dataclass(frozen=True, slots=True)
class Traffic:
    """What ``generate`` wrote: the files and the counts per pattern."""

    out: Path
    consignment_files: list[Path]
    event_files: list[Path]
    truth: Path
    manifest: Path
    consignments: int
    goods_items: int
    events: int
    counts: dict[str, int] = field(default_factory=dict)
    outcome_files: list[Path] = field(default_factory=list)
    controls: int = 0


def _check(days: int, per_day: int, seed: int, port_of_discharge: str, noise: float) -> None:
    if not 0 <= seed < 10**12:
        # The seed is part of every consignment id, which has at most 35 characters.
        raise ConfigurationError("--seed must be between 0 and 999,999,999,999")
    if days < 1 or per_day < 1:
        raise ConfigurationError("--days and --per-day must be at least 1")
    if per_day >= 10_000_000:
        raise ConfigurationError(
            "--per-day must be below 10,000,000 (consignment ids have 7 digits)"
        )
    if port_of_discharge not in ports():
        raise ConfigurationError(
            f"--port {port_of_discharge!r} is not a container port in quaywatch's list"
        )
    if not 0.0 <= noise <= 0.5:
        raise ConfigurationError("--noise is a share between 0 and 0.5")


def generate(
    out: Path,
    *,
    days: int = 30,
    per_day: int = 20_000,
    seed: int = 7,
    start: date = date(2026, 10, 1),
    port_of_discharge: str = "BEANR",
    noise: float = 0.0,
    rates: PatternRates | None = None,
    with_events: bool = True,
    legacy_controls: bool = True,
    control_rates: controls.ControlRates | None = None,
    watchlist_share: float = 0.0,
) -> Traffic:
    """Generate ``days`` days of ``per_day`` consignments bound for ``port_of_discharge``.

    ``noise`` is the share of consignments with an invalid identifier (plus as many name typos
    and twice as many missing optional fields); ``rates`` sets how often each pattern occurs;
    ``with_events`` false skips the DCSA events (faster, for pattern statistics);
    ``legacy_controls`` false skips the control history, ``control_rates`` sizes it;
    ``watchlist_share`` above 0 also writes a watchlist of that share of the known offenders.
    """
    port_of_discharge = port_of_discharge.strip().upper()
    _check(days, per_day, seed, port_of_discharge, noise)
    rates = rates or PatternRates()
    control_rates = control_rates or controls.ControlRates()
    # Files of an earlier, longer run would be taken for part of this one: start afresh.
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigurationError(f"{out} exists and is not an empty folder; choose a new one")
    base = np.random.default_rng([seed, 0])
    setting = world.build(base, port_of_discharge)
    people = population.build(base, setting, start, days, per_day, rates.shell_company)

    try:
        for folder in ("consignments", "events", "truth"):
            (out / folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"cannot write traffic into {out}: {exc.strerror}") from None
    csv_files, event_files, truths, history = [], [], [], []
    items = events = boxes = 0
    issued: dict[str, int] = {}
    for index in range(days):
        day = start + timedelta(days=index)
        rng = np.random.default_rng([seed, 1, index])
        generated = generate_day(rng, setting, people, rates, index=index, day=day,
                                 count=per_day, seed=seed, first_box=boxes, issued=issued)  # fmt: skip
        rows = feed_noise.add_noise(generated.rows, rng, per_day, noise)
        path = out / "consignments" / f"{day.isoformat()}.csv"
        rows.select(COLUMNS).write_csv(path)
        csv_files.append(path)
        items += rows.height
        boxes += generated.boxes.height
        if with_events:
            frame = journeys.events(generated.boxes, port_of_discharge)
            path = out / "events" / f"{day.isoformat()}.jsonl"
            frame.write_ndjson(path)
            event_files.append(path)
            events += frame.height
        truths.append(generated.truth)
        if legacy_controls:  # a stream of its own: the other files do not depend on it
            history.append(controls.draw(np.random.default_rng([seed, 2, index]), generated,
                                         control_rates))  # fmt: skip

    truth = pl.concat(truths).select(
        "consignment_id", "version", "lodged_at", "illicit", "pattern", "revenue_at_stake_eur",
        "critical", "displaced", "true_hs6", "true_value_eur",
    )  # fmt: skip
    truth_path = out / "truth" / "truth.parquet"
    truth.write_parquet(truth_path, statistics=False)
    people.table.write_parquet(out / "truth" / "parties.parquet", statistics=False)
    if watchlist_share > 0:  # its own stream [seed, 3]: the other files do not depend on it
        offenders.write(out / "watchlists" / "offenders.csv", people.table,
                        np.random.default_rng([seed, 3]), start, watchlist_share)  # fmt: skip
    outcome_files = _write_outcomes(out, history) if legacy_controls else []
    outcomes = (
        pl.concat(history) if history else pl.DataFrame({"result": []}, {"result": pl.String})
    )
    tally = dict(truth.group_by("pattern").len().iter_rows())
    counts = {name: int(tally.get(name, 0)) for name in PATTERN_NAMES}
    manifest = out / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "generator_version": GENERATOR_VERSION,
                "seed": seed,
                "parameters": {
                    "days": days, "per_day": per_day, "start": start.isoformat(),
                    "port_of_discharge": port_of_discharge, "noise": noise,
                    "with_events": with_events, "rates": rates.as_dict(),
                    "legacy_controls": control_rates.as_dict() if legacy_controls else None,
                },
                "consignments": truth.height,
                "goods_items": items,
                "containers": boxes,
                "events": events,
                "counts": counts,
                "displaced": int(truth["displaced"].sum()),
                "critical": int(truth["critical"].sum()),
                "controls": outcomes.height,
                "control_results": dict(sorted(outcomes.group_by("result").len().iter_rows())),
                "revenue_at_stake_eur": round(float(truth["revenue_at_stake_eur"].sum()), 2),
            },
            indent=2,
        )
        + "\n"
    )  # fmt: skip
    return Traffic(out, csv_files, event_files, truth_path, manifest, truth.height, items,
                   events, counts, outcome_files, outcomes.height)  # fmt: skip


def _write_outcomes(out: Path, history: list[pl.DataFrame]) -> list[Path]:
    """Write the control outcomes into one file per day of control; return the files."""
    folder = out / "outcomes"
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = pl.concat(history).sort("_controlled", "control_id")
    day = pl.from_epoch("_controlled", time_unit="us").dt.date().alias("_day")
    paths = []
    for (when,), part in outcomes.with_columns(day).partition_by("_day", as_dict=True).items():
        path = folder / f"{when.isoformat()}.csv"
        part.select(OUTCOME_COLUMNS).write_csv(path)
        paths.append(path)
    return sorted(paths)
