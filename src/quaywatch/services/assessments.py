"""Use cases of assessing single consignments as they arrive, and reading assessments back.

- ``current_model``: the model a service process assesses with (the models folder's current
  one), or None before the first ``train``;
- ``assess_consignments``: the assessment of each of a few consignments (their newest stored
  versions): made now with the model and every active source if this model has not assessed
  that version yet, or if its containers received events since, else the stored one. Reasons
  are given to every one of them (an officer or a feed asked about these consignments);
- ``assessment_history``: every assessment of one consignment, every version, with the model
  and profile versions that made it.

A consignment posted through the API is assessed by ``assess_consignments`` right after it is
stored; ``risk.engine.score_store`` does the work, so the assessment is the one a batch scoring
run would have made and is stored and audited the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from quaywatch.errors import InputError, NotFoundError
from quaywatch.risk import combine, engine, explain
from quaywatch.risk.bundle import RiskModel
from quaywatch.services import hit_sources
from quaywatch.services.arguments import check_identifier, utc
from quaywatch.store import reads
from quaywatch.store.store import Store

#: Consignments one call may ask about.
MAX_CONSIGNMENTS = 1_000


@dataclass(frozen=True, slots=True)
class AssessmentReason:
    """One reason: its stable ``code``, the sentence for the officer, its weight (log-odds),
    the source that gave it (model, profile, anomaly, screening, graph, unusual, document) and
    the ids of the records a plug-in source found it in (``evidence``: the carrier document
    revision compared; empty for the others)."""

    code: str
    text: str
    weight: float
    source: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Assessment:
    """One stored assessment of one consignment version.

    ``probability``: of a control finding something, every source combined; ``score``: the
    same on 0-100; ``model_probability``: the learned model's alone; ``lane_floor`` and
    ``referral``: what a profile or anomaly demands; ``critical``: a security or health threat;
    ``reasons``: strongest first (empty when the assessment was not explained).
    ``reference_version``: the reference data (ports, HS codes, tariff and exchange rates)
    the assessment was made with (``docs/reference-data.md``); null for one made before
    quaywatch recorded it.
    """

    consignment_id: str
    version: int
    assessed_at: datetime
    run_id: str
    model_version: str
    profile_version: str | None
    reference_version: str | None
    probability: float
    model_probability: float | None
    score: float
    revenue_at_stake_eur: float
    lane_floor: str | None
    referral: str | None
    critical: bool
    explained: bool
    reasons: tuple[AssessmentReason, ...]


def current_model(model_dir: Path) -> RiskModel | None:
    """The current model of ``model_dir``, or None when none was trained there yet.

    A model folder that is there but cannot be used raises ``ModelError``.
    """
    if not (model_dir / "CURRENT").is_file():
        return None
    return RiskModel.load(model_dir)


def _assessment(row: dict[str, object]) -> Assessment:
    reasons = explain.from_json(str(row["reasons"]))
    model_probability = row["model_probability"]
    return Assessment(
        consignment_id=str(row["consignment_id"]), version=int(row["version"]),  # type: ignore[call-overload]
        assessed_at=row["assessed_at"], run_id=str(row["run_id"]),  # type: ignore[arg-type]
        model_version=str(row["model_version"]),
        profile_version=None if row["profile_version"] is None else str(row["profile_version"]),
        reference_version=(
            None if row.get("reference_version") is None else str(row["reference_version"])
        ),
        probability=float(row["probability"]),  # type: ignore[arg-type]
        model_probability=None if model_probability is None else float(model_probability),  # type: ignore[arg-type]
        score=float(row["score"]),  # type: ignore[arg-type]
        revenue_at_stake_eur=float(row["revenue_at_stake_eur"]),  # type: ignore[arg-type]
        lane_floor=None if row["lane_floor"] is None else str(row["lane_floor"]),
        referral=None if row["referral"] is None else str(row["referral"]),
        critical=bool(row["critical"]), explained=bool(row["explained"]),
        reasons=tuple(AssessmentReason(r.code, r.text, r.weight, r.source.value, r.evidence) for r in reasons),
    )  # fmt: skip


def _check_ids(consignment_ids: list[str]) -> None:
    if not consignment_ids:
        raise InputError("consignment_ids must name at least one consignment")
    if len(consignment_ids) > MAX_CONSIGNMENTS:
        raise InputError(
            f"at most {MAX_CONSIGNMENTS} consignments per call, got {len(consignment_ids)}"
        )
    for consignment_id in consignment_ids:
        check_identifier("consignment_id", consignment_id)


def assess_consignments(
    store: Store,
    consignment_ids: list[str],
    *,
    model: RiskModel,
    at: datetime | None = None,
    actor: str,
    saturation_pct: float = combine.SATURATION_PCT,
    key_dir: Path | None = None,
) -> tuple[Assessment, ...]:
    """The assessment of the newest stored version of each consignment, in the order asked.

    Made now (outcomes, events and watchlists known at ``at``, default now) where ``model`` has
    not assessed that version yet or events arrived since; the stored one otherwise, with the
    saturation threshold ``saturation_pct`` (``QUAYWATCH_HIT_SATURATION_PCT``) as a scoring run
    applies it; ``key_dir`` as for a scoring run (``services.risk.score_period``). Raises
    ``NotFoundError`` naming the consignments that are not stored.
    """
    wanted = list(dict.fromkeys(consignment_ids))
    _check_ids(wanted)
    newest = reads.newest_versions(store, wanted)
    missing = sorted(set(wanted) - set(newest.get_column("consignment_id").to_list()))
    if missing:
        shown = ", ".join(missing[:10]) + (
            f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        raise NotFoundError(f"no consignment {shown}")
    moment = datetime.now(UTC) if at is None else utc(at)
    engine.score_store(
        store, model, now=moment, keys=newest, actor=actor, explain_rows=engine.Explain.ALL,
        saturation_pct=saturation_pct, sources=hit_sources.registered(store, key_dir),
    )  # fmt: skip
    return _newest_assessments(store, newest, model.version, wanted)


def _newest_assessments(
    store: Store, newest: pl.DataFrame, model_version: str, order: list[str]
) -> tuple[Assessment, ...]:
    """The newest assessment by ``model_version`` of each newest version, in ``order``."""
    found = (
        reads.assessments_of(store, order)
        .join(newest, on=["consignment_id", "version"], how="semi")
        .filter(pl.col("model_version") == model_version)
        .sort("assessment_id")
        .unique(["consignment_id"], keep="last")
    )
    by_id = {row["consignment_id"]: _assessment(row) for row in found.iter_rows(named=True)}
    return tuple(by_id[cid] for cid in order if cid in by_id)


def assessment_history(store: Store, consignment_id: str) -> tuple[Assessment, ...]:
    """Every assessment of ``consignment_id``, every version, oldest first.

    ``NotFoundError`` if the consignment is not stored; an empty history if it is but was never
    assessed.
    """
    check_identifier("consignment_id", consignment_id)
    if reads.newest_versions(store, [consignment_id]).is_empty():
        raise NotFoundError(f"no consignment {consignment_id}")
    rows = reads.assessments_of(store, [consignment_id])
    return tuple(_assessment(row) for row in rows.iter_rows(named=True))
