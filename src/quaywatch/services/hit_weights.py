"""Use cases of fitted hit weights: fit them on the site's own outcomes, show the active set.

- ``fit_weights``: for the consignments lodged in a window, what every source found at their
  assessment (``risk.engine.source_hits``, the hits scoring sees), the model's probability and
  the outcomes of those controlled; one weight per hit code (``learning.hit_weights``), stored
  as a new numbered set, made active, with an audit event, in one transaction;
- ``show_weights``: the active set (or a given one), code by code;
- ``deactivate``: no set active any more (scoring goes back to the shipped weights), audited.

The window defaults to the consignments lodged after the model's training cut (at most
``WINDOW_DAYS`` before its end): the model's probability on consignments it was trained on is
too close to their outcomes, and every hit would look as if the model already knew it. A window
reaching before the cut is allowed and noted. ``docs/learning-loop.md`` explains the method.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import insert, update

from quaywatch.audit import chain
from quaywatch.errors import InputError, NotFoundError, WriteConflictError
from quaywatch.features import assessment, declared
from quaywatch.learning import hit_weights as fitting, train
from quaywatch.learning.hit_weights import CodeWeight, WeightFit
from quaywatch.learning.options import MAX_WEIGHT, Weighting
from quaywatch.risk import combine, engine, signals, weight_sets
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.profiles.registry import active_profiles
from quaywatch.services import hit_sources
from quaywatch.services.arguments import check_interval, require_aware
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

#: Longest default window: the last 90 days before its end.
WINDOW_DAYS = 90


@dataclass(frozen=True, slots=True)
class WeightSet:
    """A stored weight set: its number, who fitted it when, on what, and its codes.

    ``new``: whether this call stored it (false when the same fit was already the active set);
    ``active``: whether scoring applies it; ``notes``: what the reader should know.
    """

    version: int
    new: bool
    active: bool
    fitted_at: datetime
    fitted_by: str
    window_from: datetime
    window_to: datetime
    model_version: str
    fit: WeightFit
    notes: tuple[str, ...] = ()

    @property
    def saturated(self) -> tuple[CodeWeight, ...]:
        """The codes that fire on more than the saturation share."""
        return tuple(c for c in self.fit.codes if c.saturated)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "version": self.version,
            "new": self.new,
            "active": self.active,
            "fitted_at": self.fitted_at.isoformat(),
            "fitted_by": self.fitted_by,
            "window": [self.window_from.isoformat(), self.window_to.isoformat()],
            "model_version": self.model_version,
            **self.fit.to_dict(),
            "notes": list(self.notes),
        }


def window_evidence(
    store: Store, model: RiskModel, *, since: datetime, until: datetime,
    key_dir: Path | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:  # fmt: skip
    """``(hits, scored, labels)`` of the consignments lodged in ``[since, until)``.

    As their assessments saw them: features and the model's probability with the outcomes known
    when each was lodged (``engine.assess``), the hits of every source (``engine.source_hits``:
    the active profiles, and the anomalies, screening, graph and the plug-in sources
    (``services.hit_sources``) as of ``until``), and the
    outcomes of the controlled ones known before ``until`` with their propensity.

    The anomaly baselines' reference traffic and the graph's seeds know only the outcomes known
    before ``since``: with the window's own outcomes, a caught network's hub would leave the
    reference traffic (falling back to the port-wide normal) and its consignments would be
    flagged precisely because they were caught, inflating the precision the weights are fitted
    on. Conservative: a seed known during the window, which a live assessment later in the
    window would have used, is left out too.

    ``key_dir``: the key directory (``QUAYWATCH_KEY_DIR``), whose partner-group key lets
    de-identified partner seizures match, as in a scoring run (``services.hit_sources``).
    """
    history = reads.goods_item_rows(store, lodged_before=until)
    outcomes = reads.control_outcomes(store, known_before=until)
    items = history.filter(pl.col("lodged_at") >= since)
    if items.is_empty():
        raise InputError(
            f"no stored consignment was lodged from {since.isoformat()} to {until.isoformat()}: "
            "nothing to fit the weights on"
        )
    scored = engine.assess(
        items, history=history, outcomes=outcomes, model=model, explain_rows=engine.Explain.NONE
    )
    batch = assessment.assessment_frame(
        items, history=history, outcomes=outcomes, reference=model.reference
    )
    hits = engine.source_hits(
        batch, items, profiles=active_profiles(store), parties=reads.parties(store),
        hits=signals.store_hits(store, items, outcomes=outcomes.filter(pl.col("known_at") < since),
                                now=until),
        norms=model.norms, sources=hit_sources.registered(store, key_dir), at=until,
    )  # fmt: skip
    labels = train.labelled(scored.select(*declared.KEY, "lodged_at"), outcomes, until=until)
    return hits, scored.select(*declared.KEY, "model_probability"), labels


def _row(version: int, c: CodeWeight) -> dict[str, Any]:
    return {
        "weight_set": version, "code": c.code, "source": c.source,
        "shipped_weight": c.shipped, "fitted_weight": c.fitted, "weight": c.weight,
        "fired": c.fired, "controlled": c.controlled, "hits": c.hits,
        "local_precision": c.precision, "shrunk_precision": c.shrunk_precision,
        "expected": c.expected, "evidence": c.evidence, "share": c.share,
        "saturated": c.saturated,
    }  # fmt: skip


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two per-code rows hold the same figures (floats to 9 significant digits)."""

    def norm(v: Any) -> Any:
        return float(f"{v:.9g}") if isinstance(v, float) else v

    return {k: norm(v) for k, v in a.items()} == {k: norm(v) for k, v in b.items()}


def _unchanged(store: Store, record: dict[str, Any], rows: list[dict[str, Any]]) -> int | None:
    """The active set's number when it holds exactly this fit, else None."""
    version = None
    with store.reading() as conn:
        version = weight_sets.active_version(conn)
    if version is None:
        return None
    found = weight_sets.read_set(store, version)
    assert found is not None
    stored, codes = found
    if any(stored[k] != v for k, v in record.items()):
        return None
    old = [{**r, "weight_set": version} for r in codes.iter_rows(named=True)]
    new = sorted(({**r, "weight_set": version} for r in rows), key=lambda r: r["code"])
    old.sort(key=lambda r: r["code"])
    return version if len(old) == len(new) and all(map(_same, old, new)) else None


def fit_weights(
    store: Store,
    *,
    models: Path,
    actor: str,
    since: datetime | None = None,
    until: datetime | None = None,
    prior_strength: float = fitting.PRIOR_STRENGTH,
    saturation_pct: float = combine.SATURATION_PCT,
    weighting: Weighting = Weighting.IPW,
    max_weight: float = MAX_WEIGHT,
    activate: bool = True,
    model: RiskModel | None = None,
    now: datetime | None = None,
    key_dir: Path | None = None,
) -> WeightSet:
    """Fit one weight per hit code on the consignments lodged from ``since`` to ``until``.

    ``until`` defaults to now, ``since`` to the model's training cut (at most ``WINDOW_DAYS``
    before ``until``). ``model`` (default: the current one in ``models``) gives the
    probabilities the hits are judged against. The set is stored, with an audit event, in one
    transaction, and made the active one unless ``activate`` is false; a fit identical to the
    active set stores nothing (``new`` false). Raises ``InputError`` naming the argument for a
    naive time, a window that ends before it starts or holds no consignment, a prior strength
    that is not positive or a saturation share outside (0, 100]; ``WriteConflictError`` (nothing
    written) when another fit stored a set under the same number at the same moment.
    ``key_dir`` as for a scoring run (``window_evidence``).
    """
    for name, moment in (("since", since), ("until", until), ("now", now)):
        require_aware(name, moment)
    if max_weight < 1:
        raise InputError(f"max_weight must be at least 1, got {max_weight:g}")
    fitting.check_options(prior_strength, saturation_pct)  # before the window is read
    model = model or RiskModel.load(models)
    end = until or now or datetime.now(UTC)
    earliest = end - timedelta(days=WINDOW_DAYS)
    start = since or (model.trained_until if earliest < model.trained_until < end else earliest)
    check_interval("window", ("since", start), ("until", end))
    notes = []
    if start < model.trained_until:
        notes.append(
            f"the window starts before the model's training cut ({model.trained_until:%Y-%m-%d}):"
            " its probabilities there know the outcomes, so hits look less informative than "
            "they are"
        )
    hits, scored, labels = window_evidence(store, model, since=start, until=end, key_dir=key_dir)
    fitted = fitting.fit(
        hits, scored, labels, prior_strength=prior_strength, saturation_pct=saturation_pct,
        weighting=weighting, max_weight=max_weight,
    )  # fmt: skip
    if not fitted.controlled:
        notes.append("no controlled consignment in the window: every weight is its shipped one")
    record = {
        "window_from": start, "window_to": end, "model_version": model.version,
        "prior_strength": prior_strength, "saturation_pct": saturation_pct,
        "weighting": weighting.value, "max_weight": max_weight,
        "consignments": fitted.consignments, "controlled": fitted.controlled,
        "hits": fitted.hits,
    }  # fmt: skip
    rows = [_row(0, c) for c in fitted.codes]
    same = _unchanged(store, record, rows) if activate else None
    if same is not None:
        found = weight_sets.read_set(store, same)
        assert found is not None
        stored = found[0]
        return WeightSet(same, False, True, stored["fitted_at"], stored["fitted_by"], start, end,
                         model.version, fitted, (*notes, "the active set already holds this fit"))  # fmt: skip
    moment = now or tables.utcnow()
    version = 0
    try:
        with store.transaction() as conn:
            version = (weight_sets.latest_version(conn) or 0) + 1
            conn.execute(
                insert(tables.hit_weight_sets).values(
                    version=version,
                    fitted_at=moment,
                    fitted_by=actor,
                    **record,
                    active=None,
                    activated_at=None,
                )  # fmt: skip
            )
            if rows:
                conn.execute(
                    insert(tables.hit_weights), [{**r, "weight_set": version} for r in rows]
                )
            if activate:
                _activate(conn, version, moment)
            chain.append(
                conn, actor=actor, action="hit_weights_fit", object_type="hit_weight_set",
                object_id=str(version),
                details={**{k: v.isoformat() if isinstance(v, datetime) else v
                            for k, v in record.items()},
                         "active": activate, "codes": len(rows),
                         "saturated": [c.code for c in fitted.codes if c.saturated]},
            )  # fmt: skip
    except WriteConflictError as exc:
        # Another fit took the same set number between this one's read and its write.
        raise WriteConflictError(
            f"another weight fit stored hit weight set {version} at the same moment; this one "
            "wrote nothing: run quaywatch weights fit again"
        ) from exc
    return WeightSet(version, True, activate, moment, actor, start, end, model.version, fitted,
                     tuple(notes))  # fmt: skip


def _activate(conn: Any, version: int, moment: datetime) -> None:
    s = tables.hit_weight_sets
    conn.execute(update(s).where(s.c.active == 1).values(active=None))
    conn.execute(update(s).where(s.c.version == version).values(active=1, activated_at=moment))


def show_weights(store: Store, version: int | None = None) -> WeightSet:
    """The active weight set (or set ``version``), code by code, most frequent first.

    ``NotFoundError`` when there is no active set (scoring uses the shipped weights) or no set
    ``version``.
    """
    if version is None:
        with store.reading() as conn:
            version = weight_sets.active_version(conn)
        if version is None:
            raise NotFoundError(
                "no fitted hit weight set is active: scoring uses the shipped weights "
                "(quaywatch weights fit makes one)"
            )
    found = weight_sets.read_set(store, version)
    if found is None:
        raise NotFoundError(f"no hit weight set {version}")
    s, rows = found
    codes = tuple(
        CodeWeight(
            code=r["code"],
            source=r["source"],
            shipped=r["shipped_weight"],
            fitted=r["fitted_weight"],
            weight=r["weight"],
            fired=r["fired"],
            controlled=r["controlled"],
            hits=r["hits"],
            precision=r["local_precision"],
            shrunk_precision=r["shrunk_precision"],
            expected=r["expected"],
            evidence=r["evidence"],
            share=r["share"],
            saturated=r["saturated"],
        )  # fmt: skip
        for r in rows.iter_rows(named=True)
    )
    fit = WeightFit(
        codes, s["consignments"], s["controlled"], s["hits"], s["prior_strength"],
        s["saturation_pct"], Weighting(s["weighting"]), s["max_weight"],
    )  # fmt: skip
    return WeightSet(
        version, False, s["active"] == 1, s["fitted_at"], s["fitted_by"], s["window_from"],
        s["window_to"], s["model_version"], fit,
    )  # fmt: skip


def deactivate(store: Store, *, actor: str, reason: str) -> int | None:
    """Make no set active (scoring applies the shipped weights), with an audit event saying
    why; the number of the set that was active, or None when none was (nothing written)."""
    with store.transaction() as conn:
        version = weight_sets.active_version(conn)
        if version is None:
            return None
        s = tables.hit_weight_sets
        conn.execute(update(s).where(s.c.active == 1).values(active=None))
        chain.append(
            conn, actor=actor, action="hit_weights_deactivate", object_type="hit_weight_set",
            object_id=str(version), details={"reason": reason},
        )  # fmt: skip
    return version
