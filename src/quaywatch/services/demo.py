"""Use cases of synthetic traffic: generate it (``generate_traffic``), and the demo (``run_demo``).

The demo shows the engine end to end on a few generated days at Antwerp-Bruges:

1. generate ``DEMO_DAYS`` days of traffic, with a 1 % noisy feed (so the quarantine has work),
   container events and the legacy control history (``LEGACY``, the policy lab's: enough
   controls in a few days for a first model);
2. import everything: consignments, events, control outcomes;
3. train the fraud and revenue models on the legacy controls of the consignments lodged before
   the last day, and save them in ``models/`` inside the demo's folder;
4. load and activate the starter risk profiles, assess the last day's consignments as at the
   end of that day (no outcome of the day's own controls is known then), and select controls
   for them within the shipped capacity file sized to the demo's volume;
5. create the demo account (``demo``, every role but admin; its password is
   published, so never run the demo on a store people rely on);
6. verify the audit trail, and measure the assessments against the day's ground truth beside
   random selection (the floor) and a perfect oracle (the ceiling).

A generated consignment arrives four to seven weeks after it is lodged, and its controls are
recorded after arrival: no outcome of a few days' traffic is known before its last day. The
demo's model therefore learns from the outcomes of the earlier days' consignments as they are
eventually known; it never sees an outcome of the day it assesses, and each assessment's entity
histories still use only what was known when the consignment was lodged.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from quaywatch.audit import chain
from quaywatch.audit.chain import Verification
from quaywatch.errors import InputError
from quaywatch.intake.pipeline import ImportSummary
from quaywatch.learning import train
from quaywatch.learning.dataset import consignments_with_truth, load_truth
from quaywatch.learning.evaluate import Report, ScoreColumn, evaluate
from quaywatch.learning.simulate import CAPACITY_DAY, LEGACY
from quaywatch.risk import engine
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.profiles import loader, registry
from quaywatch.selection import capacity as capacities, policy
from quaywatch.selection.capacity import Capacity
from quaywatch.selection.run import candidates, select_store
from quaywatch.services import hit_sources
from quaywatch.services.accounts import DemoAccount, ensure_demo_user
from quaywatch.services.arguments import check_capacity_pct
from quaywatch.services.intake import ingest_files
from quaywatch.services.worklist import WorklistEntry, worklist
from quaywatch.store import reads
from quaywatch.store.store import Store
from quaywatch.synth import traffic

#: Days generated: all but the last are the history the model learns from.
DEMO_DAYS = 6
DEMO_START = date(2026, 10, 1)
#: Share of the generated consignments with an invalid identifier.
DEMO_NOISE = 0.01
#: Share of the assessed consignments drawn for random control (the selection's default).
RANDOM_RATE = 0.02
#: Rows of the worklist the result carries.
WORKLIST_ROWS = 10
#: Multiples of the capacity's fair share tried, smallest first (see ``_sized_capacity``).
_CAPACITY_STEPS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)
STARTER_PROFILES = Path(loader.__file__).parent / "starter"


@dataclass(frozen=True, slots=True)
class ImportTotal:
    """The imports of one record kind added up: files, and what happened to their records."""

    kind: str
    files: int
    read: int
    new: int
    unchanged: int
    quarantined: int


@dataclass(frozen=True, slots=True)
class DemoResult:
    """Everything the demo did, in the order it did it."""

    out: Path
    days: int
    assessed_day: date
    consignments: int
    events: int
    legacy_controls: int
    truth: Path
    imports: tuple[ImportSummary, ...]
    import_totals: tuple[ImportTotal, ...]
    model_version: str
    model_folder: Path
    model_metrics: dict[str, Any]
    profiles: tuple[str, ...]
    scoring_run_id: str
    assessed: int
    selection_run_id: str
    selection_counts: dict[str, int]
    capacity_scale: float
    worklist: tuple[WorklistEntry, ...]
    audit: Verification
    store_counts: dict[str, int]
    evaluation: Report
    account: DemoAccount


def generate_traffic(
    out: Path,
    *,
    days: int = 30,
    per_day: int = 20_000,
    seed: int = 7,
    start: str = "2026-10-01",
    port_of_discharge: str = "BEANR",
    noise: float = 0.0,
    watchlist_share: float = 0.4,
) -> traffic.Traffic:
    """Synthetic port traffic with injected fraud patterns and its ground truth, in ``out``.

    ``start`` is the first day, ``YYYY-MM-DD``; see ``synth.traffic.generate`` for the rest.
    """
    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        raise InputError(f"start {start!r} is not a date (YYYY-MM-DD)") from None
    return traffic.generate(
        out, days=days, per_day=per_day, seed=seed, start=first_day,
        port_of_discharge=port_of_discharge, noise=noise, watchlist_share=watchlist_share,
    )  # fmt: skip


def _folder(out: Path | None) -> Path:
    if out is None:
        return Path(tempfile.mkdtemp(prefix="quaywatch-demo-"))
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"out {out} exists and is not an empty folder; choose a new one")
    return out


def _train(
    store: Store, out: Path, split: datetime, capacity_pct: float, actor: str
) -> tuple[RiskModel, Path]:
    """The models trained on the legacy controls of the consignments lodged before ``split``."""
    items = reads.goods_item_rows(store, lodged_before=split)
    outcomes = reads.control_outcomes(store)
    latest = outcomes.get_column("known_at").max() if outcomes.height else None
    until = latest + timedelta(seconds=1) if isinstance(latest, datetime) else split
    try:
        model = train.fit(items, outcomes, until=until, capacity_pct=capacity_pct)
    except InputError as exc:
        raise InputError(
            f"too little history for a model ({exc.message}); give the demo more "
            "consignments a day (count of about 1,000 or more)"
        ) from None
    folder = model.save(out / "models")
    with store.transaction() as conn:
        chain.append(
            conn, actor=actor, action="train", object_type="model", object_id=model.version,
            details={"until": until.isoformat(), "lodged_before": split.isoformat(),
                     **model.metrics},
        )  # fmt: skip
    return model, folder


def _activate_starter_profiles(store: Store, actor: str) -> tuple[str, ...]:
    profiles = [loader.read(path) for path in sorted(STARTER_PROFILES.glob("*.yaml"))]
    registry.load(store, profiles, actor=actor)
    for p in profiles:
        registry.activate(store, p.id, actor=actor, version=p.version)
    return tuple(p.id for p in profiles)


def _sized_capacity(
    found: pl.DataFrame, capacity: Capacity, *, capacity_pct: float, seed: int
) -> tuple[Capacity, float]:
    """The capacity file sized to the demo's volume, and the scale applied to it.

    The shipped file is sized for ``CAPACITY_DAY`` consignments arriving a day; the demo's
    consignments arrive over several weeks, a handful per terminal shift, whose fair share of
    the file is less than one control per shift. The fair share is raised step by step until
    the selection controls at least ``capacity_pct`` of the consignments.
    """
    span = found.select(
        (pl.col("eta").max() - pl.col("eta").min()).dt.total_seconds() / 86_400
    ).item()
    fair = found.height / max(span, 1.0) / CAPACITY_DAY
    for step in _CAPACITY_STEPS:
        sized = replace(capacity, amount=capacity.amount * fair * step)
        chosen = policy.select(found, sized, random_rate=RANDOM_RATE, seed=seed).decisions
        share = chosen.select(pl.col("control_type").is_not_null().mean()).item()
        if share * 100 >= capacity_pct:
            break
    return sized, fair * step


def _totals(imports: list[ImportSummary]) -> tuple[ImportTotal, ...]:
    kinds = dict.fromkeys(s.kind for s in imports)
    return tuple(
        ImportTotal(
            kind.value,
            len(done),
            sum(s.read for s in done),
            sum(s.new for s in done),
            sum(s.unchanged for s in done),
            sum(s.quarantined for s in done),
        )  # fmt: skip
        for kind in kinds
        for done in [[s for s in imports if s.kind is kind]]
    )


def _riskiest(entries: list[WorklistEntry]) -> tuple[WorklistEntry, ...]:
    # The selection run's worklist (what was selected, not every high score: selection weighs
    # revenue at stake and the capacity of each shift too), riskiest first.
    ranked = sorted(entries, key=lambda e: (-(e.score or 0.0), e.consignment_id))
    return tuple(ranked[:WORKLIST_ROWS])


def run_demo(
    store: Store,
    *,
    out: Path | None = None,
    count: int = 2_000,
    seed: int = 7,
    capacity_pct: float = 3.0,
    actor: str,
) -> DemoResult:
    """Generate a few port days, import them, train, assess the last day, select, measure.

    ``count`` consignments are lodged each of ``DEMO_DAYS`` days; the files, the ground truth
    and the trained models are kept in ``out`` (a new temporary folder if not given).
    ``capacity_pct`` is the share of consignments the control capacity covers, for training's
    review cut, the selection and the evaluation.
    """
    check_capacity_pct(capacity_pct)
    if count < 1:
        raise InputError(f"count must be at least 1 consignment a day, got {count}")
    folder = _folder(out)
    made = traffic.generate(
        folder, days=DEMO_DAYS, per_day=count, seed=seed, start=DEMO_START, noise=DEMO_NOISE,
        control_rates=LEGACY,
    )  # fmt: skip
    files = [*made.consignment_files, *made.event_files, *made.outcome_files]
    imports = ingest_files(store, files, actor=actor)
    assessed_day = DEMO_START + timedelta(days=DEMO_DAYS - 1)
    split = datetime.combine(assessed_day, time(), tzinfo=UTC)
    model, model_folder = _train(store, folder, split, capacity_pct, actor)
    profiles = _activate_starter_profiles(store, actor)
    scored = engine.score_store(
        store,
        model,
        now=split + timedelta(days=1),
        since=split,
        actor=actor,
        sources=hit_sources.registered(store),
    )
    if not scored.assessed:
        raise InputError(f"no consignment lodged on {assessed_day.isoformat()} was stored")

    day = reads.latest_consignments(store, lodged_from=split)
    etas = day.get_column("eta")
    window_from, window_to = etas.min(), etas.max()
    assert isinstance(window_from, datetime) and isinstance(window_to, datetime)
    window_to += timedelta(seconds=1)
    sized, scale = _sized_capacity(
        candidates(store, window_from, window_to), capacities.load(None),
        capacity_pct=capacity_pct, seed=seed,
    )  # fmt: skip
    selected = select_store(
        store, window_from, window_to, sized, random_rate=RANDOM_RATE, seed=seed, actor=actor
    )

    truth = consignments_with_truth(store, load_truth(made.truth)).filter(
        pl.col("lodged_at") >= split
    )
    scores = scored.assessments.select(
        "consignment_id", "version", pl.col("model_probability").alias("model"),
        pl.col("probability").alias("combined"),
    )  # fmt: skip
    report = evaluate(
        truth.join(scores, on=["consignment_id", "version"], how="left"),
        [ScoreColumn("model", calibrated=True), ScoreColumn("combined", calibrated=True)],
        capacity_pct=capacity_pct,
    )
    account = ensure_demo_user(store, actor=actor, terminals=sized.terminals)
    with store.reading() as conn:
        verified = chain.verify(conn)
    return DemoResult(
        out=folder, days=DEMO_DAYS, assessed_day=assessed_day, consignments=made.consignments,
        events=made.events, legacy_controls=made.controls, truth=made.truth,
        imports=tuple(imports), import_totals=_totals(imports), model_version=model.version, model_folder=model_folder,
        model_metrics=dict(model.metrics), profiles=profiles, scoring_run_id=scored.run_id,
        assessed=scored.assessed, selection_run_id=selected.run_id,
        selection_counts=dict(selected.counts), capacity_scale=round(scale, 6),
        worklist=_riskiest(worklist(store, selected.run_id)), audit=verified,
        store_counts=store.counts(), evaluation=report, account=account,
    )  # fmt: skip
