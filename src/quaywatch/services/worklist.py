"""Use cases of the worklist: the consignments a selection run chose for control, as the
targeting officer works them (``worklist``), what a filter may choose (``worklist_summary``)
and how much of the capacity the planned controls take (``capacity_meter``).

One filter (``WorklistFilter``: terminal, lane, shift, vessel call) applies to all three, so
the rows, their count and the meter always speak of the same consignments. Rows come in one of
``SORTS`` and in pages (``offset``, ``limit``); every order ends with the consignment id, so
pages neither repeat nor skip a row.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    select,
)
from sqlalchemy.sql import Subquery

from quaywatch.control.decisions import OPEN
from quaywatch.domain.vocabulary import SelectedBy
from quaywatch.errors import InputError, NotFoundError
from quaywatch.risk.explain import Reason, Source
from quaywatch.services.arguments import check_at_least
from quaywatch.store import tables
from quaywatch.store.store import Store

#: Reasons a worklist row shows, strongest first.
TOP_REASONS = 3
#: The orders a worklist can be read in: shift (oldest shift first, then terminal and the
#: expected detected value, highest first), score (highest first), value (expected detected
#: value, highest first), eta (earliest arrival first).
SORTS = ("shift", "score", "value", "eta")
#: The largest offset a page of a worklist may start at.
MAX_OFFSET = 10**9
#: The sources of reasons counted as a row's hits: every one but the model, whose own reasons
#: are not hits (a plug-in source, ``risk.hit_sources``, counts from its first hit).
HIT_SOURCES = tuple(s for s in Source if s is not Source.MODEL)


@dataclass(frozen=True, slots=True)
class InForce:
    """A run's decisions as the officers' lane overrides (``control.decisions``) left them:
    ``newest`` is the newest override of each overridden consignment of the run (a few rows,
    joined to the decisions by ``join``); ``overridden``, ``lane`` and ``control`` are then
    the columns of a decision row in force."""

    newest: Subquery

    @property
    def overridden(self) -> ColumnElement[bool]:
        column: ColumnElement[Any] = self.newest.c.consignment_id
        return column.is_not(None)

    @property
    def lane(self) -> ColumnElement[Any]:
        return func.coalesce(self.newest.c.to_lane, tables.control_decisions.c.lane)

    @property
    def control(self) -> ColumnElement[Any]:
        d = tables.control_decisions
        return case((self.overridden, self.newest.c.control_type), else_=d.c.control_type)

    def join(self, query: Select[Any]) -> Select[Any]:
        """``query`` (over ``control_decisions``) with each decision's newest override."""
        d = tables.control_decisions
        return query.outerjoin(self.newest, self.newest.c.consignment_id == d.c.consignment_id)


def in_force(run_id: str) -> InForce:
    """The newest lane override of each consignment of the run ``run_id``."""
    lo = tables.lane_overrides
    last = select(func.max(lo.c.override_id)).where(lo.c.run_id == run_id).group_by(
        lo.c.consignment_id
    )  # fmt: skip
    newest = (
        select(lo.c.consignment_id, lo.c.to_lane, lo.c.control_type)
        .where(lo.c.run_id == run_id, lo.c.override_id.in_(last))
        .subquery("newest")
    )
    return InForce(newest)


@dataclass(frozen=True, slots=True)
class WorklistFilter:
    """Which of a run's selected consignments to show: at ``terminal``, in ``lane``, in the
    terminal shift that starts at ``shift_start``, on the vessel call ``vessel_call`` (the
    vessel's IMO number, or ``IMO/voyage``); None: any."""

    terminal: str | None = None
    lane: str | None = None
    shift_start: datetime | None = None
    vessel_call: str | None = None

    def __post_init__(self) -> None:
        if self.shift_start is not None and self.shift_start.tzinfo is None:
            raise InputError("shift_start must be a timezone-aware time")

    def where(
        self, needs_vessel: bool = True, *, overrides: InForce | None = None
    ) -> ColumnElement[bool]:
        """The condition on ``control_decisions`` (and, for a vessel call, ``consignments``).
        With ``overrides`` (joined to the query), as the officers' lane overrides left the
        run: the lane is the one in force, and a consignment raised from no control or lowered
        to none is in (a lowered one stays in sight, marked)."""
        d, c = tables.control_decisions, tables.consignments
        selected = d.c.control_type.is_not(None)
        found: list[ColumnElement[bool]] = [
            selected | overrides.overridden if overrides is not None else selected
        ]
        if self.terminal:
            found.append(d.c.terminal == self.terminal)
        if self.lane:
            found.append((overrides.lane if overrides is not None else d.c.lane) == self.lane)
        if self.shift_start is not None:
            found.append(d.c.shift_start == self.shift_start)
        if self.vessel_call and needs_vessel:
            imo, _, voyage = self.vessel_call.partition("/")
            found.append(c.c.vessel_imo == imo)
            found.append(c.c.voyage == voyage if voyage else c.c.voyage.is_(None))
        return and_(*found)


@dataclass(frozen=True, slots=True)
class WorklistEntry:
    """A consignment a run selected, as an officer's worklist shows it.

    ``score`` (0-100) and ``probability`` come from the assessment the run decided on (None
    when the run had none), ``reasons`` are its strongest reasons and ``hits`` how many of all
    its reasons came from profiles, watchlist screening, anomaly detectors and the party graph
    (by source name); ``order_id`` and ``order_state`` are the inspection order once
    ``create_orders`` has made it. ``lane`` and ``control_type`` are those in force:
    ``overridden`` says an officer changed the run's (a consignment raised from no control is
    the officer's pick: ``selected_by`` OFFICER, propensity 1); ``open_referrals`` counts the
    consignment's referrals still open.
    """

    consignment_id: str
    version: int
    control_type: str | None
    lane: str
    selected_by: str
    propensity: float
    expected_value_eur: float
    score: float | None
    probability: float | None
    revenue_at_stake_eur: float | None
    referral: str | None
    reasons: tuple[Reason, ...]
    hits: dict[str, int]
    terminal: str
    shift_start: datetime
    eta: datetime
    vessel_imo: str
    vessel_name: str | None
    voyage: str | None
    order_id: str | None
    order_state: str | None
    overridden: bool = False
    open_referrals: int = 0


@dataclass(frozen=True, slots=True)
class VesselCall:
    """A vessel call of a run's worklist: ``key`` is what ``WorklistFilter.vessel_call``
    takes; ``first_eta`` the earliest arrival of its selected consignments."""

    key: str
    vessel_imo: str
    vessel_name: str | None
    voyage: str | None
    first_eta: datetime


@dataclass(frozen=True, slots=True)
class WorklistSummary:
    """What a run's worklist holds: how many consignments (with the filter given), the lanes
    of all of them, and the terminals, terminal shifts and vessel calls of the run (what a
    filter may choose)."""

    total: int
    terminals: tuple[str, ...]
    lanes: tuple[str, ...]
    shifts: tuple[datetime, ...]
    vessel_calls: tuple[VesselCall, ...]


@dataclass(frozen=True, slots=True)
class ResourceUse:
    """One resource over the terminal shifts in view: what they offer, what the run's
    controls planned there use of it."""

    resource: str
    capacity: float
    planned: float

    @property
    def share(self) -> float | None:
        """``planned`` over ``capacity`` (None when nothing is offered)."""
        return self.planned / self.capacity if self.capacity > 0 else None


@dataclass(frozen=True, slots=True)
class CapacityMeter:
    """The controls planned in the terminal shifts in view against what those shifts offer.

    ``controls`` counts the planned controls by type, ``random`` those of the random sample
    (``random_rate`` is the share of candidates the run drew); ``resources`` the use of each
    resource. ``shifts`` is how many terminal shifts the figures add up.
    """

    shifts: int
    controls: dict[str, int]
    selected: int
    random: int
    random_rate: float
    resources: tuple[ResourceUse, ...]

    @property
    def random_share(self) -> float | None:
        """The share of the planned controls that the random sample drew."""
        return self.random / self.selected if self.selected else None


def _run_exists(store: Store, run_id: str) -> float:
    """The run's random rate; ``NotFoundError`` naming the run when there is none."""
    runs = tables.selection_runs
    with store.reading() as conn:
        rate = conn.execute(
            select(runs.c.random_rate).where(runs.c.run_id == run_id)
        ).scalar_one_or_none()  # fmt: skip
    if rate is None:
        raise NotFoundError(f"no selection run {run_id!r}")
    return float(rate)


def _joined_consignments(query: Select[Any]) -> Select[Any]:
    d, c = tables.control_decisions, tables.consignments
    return query.join(c, (c.c.consignment_id == d.c.consignment_id) & (c.c.version == d.c.version))


def worklist_summary(
    store: Store, run_id: str, chosen: WorklistFilter | None = None
) -> WorklistSummary:
    """The size of ``worklist(store, run_id, chosen)`` and the terminals, lanes, shifts and
    vessel calls of the whole worklist, without reading its rows. ``NotFoundError`` naming
    the run when there is none."""
    chosen = chosen or WorklistFilter()
    _run_exists(store, run_id)
    d = tables.control_decisions
    force = in_force(run_id)
    every = (d.c.run_id == run_id) & (d.c.control_type.is_not(None) | force.overridden)
    count = force.join(
        select(func.count()).select_from(d).where(d.c.run_id == run_id,
                                                  chosen.where(overrides=force))
    )  # fmt: skip
    if chosen.vessel_call:
        count = _joined_consignments(count)
    cap = tables.selection_capacity
    with store.reading() as conn:
        total = conn.execute(count).scalar_one()

        def distinct(column: ColumnElement[Any]) -> tuple[Any, ...]:
            query = force.join(select(column).select_from(d)).where(every).distinct()
            return tuple(conn.execute(query.order_by(column)).scalars().all())

        # The run's terminal shifts are those its capacity was kept for (a few dozen rows);
        # a run stored before then has its decisions read for them.
        kept = conn.execute(
            select(cap.c.terminal, cap.c.shift_start).where(cap.c.run_id == run_id).distinct()
        ).all()  # fmt: skip
        if kept:
            terminals = tuple(sorted({t for t, _ in kept}))
            shifts = tuple(sorted({s for _, s in kept}))
        else:
            terminals, shifts = distinct(d.c.terminal), distinct(d.c.shift_start)
        lanes = distinct(force.lane)
    return WorklistSummary(
        int(total), tuple(map(str, terminals)), tuple(map(str, lanes)),
        tuple(s for s in shifts if isinstance(s, datetime)), vessel_calls(store, run_id),
    )  # fmt: skip


#: The vessel calls of the runs read lately (``vessel_calls``), by store and run.
_CALLS: OrderedDict[tuple[str, str], tuple[VesselCall, ...]] = OrderedDict()
_CALLS_KEPT = 64
_CALLS_LOCK = threading.Lock()


def vessel_calls(store: Store, run_id: str) -> tuple[VesselCall, ...]:
    """The vessel calls of every consignment the run ``run_id`` decided on (selected or not:
    an officer may raise any of them), earliest first. A run's decisions and a consignment
    version's vessel never change, so the answer is kept for the runs read lately: the
    join of a large run's decisions to their consignments is the worklist page's dearest
    read."""
    key = (str(store.engine.url), run_id)
    with _CALLS_LOCK:
        if key in _CALLS:
            _CALLS.move_to_end(key)
            return _CALLS[key]
    d, c = tables.control_decisions, tables.consignments
    query = _joined_consignments(
        select(c.c.vessel_imo, c.c.voyage, func.max(c.c.vessel_name), func.min(c.c.eta))
        .select_from(d)
        .where(d.c.run_id == run_id)
        .group_by(c.c.vessel_imo, c.c.voyage)
    ).order_by(func.min(c.c.eta), c.c.vessel_imo, c.c.voyage)
    with store.reading() as conn:
        found = tuple(
            VesselCall(f"{imo}/{voyage}" if voyage else imo, imo, name, voyage, eta)
            for imo, voyage, name, eta in conn.execute(query).all()
        )
    with _CALLS_LOCK:
        _CALLS[key] = found
        while len(_CALLS) > _CALLS_KEPT:
            _CALLS.popitem(last=False)
    return found


def _order(sort: str) -> tuple[ColumnElement[object], ...]:
    d, a, c = tables.control_decisions, tables.assessments, tables.consignments
    if sort not in SORTS:
        raise InputError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    first: tuple[ColumnElement[object], ...] = {
        "shift": (d.c.shift_start, d.c.terminal, d.c.expected_value.desc()),
        "score": (a.c.score.desc().nulls_last(),),
        "value": (d.c.expected_value.desc(),),
        "eta": (c.c.eta,),
    }[sort]  # fmt: skip
    return (*first, d.c.consignment_id)


def _reasons(text: str | None) -> tuple[tuple[Reason, ...], dict[str, int]]:
    """A stored assessment's strongest reasons (``TOP_REASONS``) and how many of all its
    reasons each hit source gave. Only the strongest are made ``Reason`` values: a page of a
    large worklist would spend most of its time making the others."""
    if not text:
        return (), {}
    try:
        items = json.loads(text)
    except ValueError:
        items = None
    if not isinstance(items, list):
        raise InputError("stored reasons are not a JSON array", source="reasons")
    top = tuple(Reason.from_json(item) for item in items[:TOP_REASONS])
    counted = Counter(item.get("source") for item in items if isinstance(item, dict))
    return top, {s.value: counted[s.value] for s in HIT_SOURCES if counted[s.value]}


def worklist(
    store: Store,
    run_id: str,
    chosen: WorklistFilter | None = None,
    *,
    sort: str = "shift",
    offset: int = 0,
    limit: int | None = None,
) -> list[WorklistEntry]:
    """The consignments the run ``run_id`` selected that ``chosen`` lets through, in the order
    ``sort`` names (one of ``SORTS``), from the ``offset``-th on, at most ``limit``.

    Raises ``NotFoundError`` naming the run when there is none, ``InputError`` naming the
    argument for an unknown sort, a negative offset or a ``limit`` below 1.
    """
    chosen = chosen or WorklistFilter()
    if limit is not None:
        check_at_least("limit", limit)
    if not 0 <= offset <= MAX_OFFSET:
        raise InputError(f"offset must be between 0 and {MAX_OFFSET}, got {offset}")
    order = _order(sort)
    d, a, o, c = (tables.control_decisions, tables.assessments, tables.inspection_orders,
                  tables.consignments)  # fmt: skip
    raised = d.c.control_type.is_(None)
    force = in_force(run_id)
    ref = tables.referrals
    open_referrals = (
        select(func.count())
        .where(ref.c.consignment_id == d.c.consignment_id, ref.c.state == OPEN)
        .scalar_subquery()
    )
    query: Select[tuple[object, ...]] = _joined_consignments(
        select(
            d.c.consignment_id,
            d.c.version,
            force.control.label("control_type"),
            force.lane.label("lane"),
            case((raised, literal(SelectedBy.OFFICER.value)), else_=d.c.selected_by).label(
                "selected_by"
            ),
            case((raised, literal(1.0)), else_=d.c.propensity).label("propensity"),
            d.c.expected_value,
            d.c.terminal,
            d.c.shift_start,
            a.c.score,
            a.c.probability,
            a.c.revenue_at_stake_eur,
            a.c.referral,
            a.c.reasons,
            c.c.eta,
            c.c.vessel_imo,
            c.c.vessel_name,
            c.c.voyage,
            o.c.order_id,
            o.c.state.label("order_state"),
            force.overridden.label("overridden"),
            open_referrals.label("open_referrals"),
        ).select_from(d)  # fmt: skip
    )
    # The order carrying the decision: made for the control the run decided, or for one an
    # officer raised from none (``control.decisions``).
    carried = (o.c.decided_type == d.c.control_type) | (
        raised & (o.c.run_id == d.c.run_id) & (o.c.selected_by == SelectedBy.OFFICER.value)
    )
    # The page's consignments first, sorting only their keys; then their columns (sorting
    # whole rows, reasons and all, costs several times more on a large run).
    keys = (
        force.join(_joined_consignments(select(d.c.consignment_id).select_from(d)))
        .outerjoin(a, a.c.assessment_id == d.c.assessment_id)
        .where(d.c.run_id == run_id, chosen.where(overrides=force))
        .order_by(*order)
        .offset(offset)
    )
    if limit is not None:
        keys = keys.limit(limit)
    page = keys.subquery("page")
    query = (
        force.join(query.join(page, page.c.consignment_id == d.c.consignment_id))
        .outerjoin(a, a.c.assessment_id == d.c.assessment_id)
        .outerjoin(o, (o.c.consignment_id == d.c.consignment_id) & carried)
        .where(d.c.run_id == run_id)
        .order_by(*order)
    )
    _run_exists(store, run_id)
    with store.reading() as conn:
        rows = conn.execute(query).mappings().all()
    entries = []
    for r in rows:
        top, hits = _reasons(r["reasons"])
        entries.append(
            WorklistEntry(
                r["consignment_id"],
                int(r["version"]),
                r["control_type"],
                r["lane"],
                r["selected_by"],
                float(r["propensity"]),
                float(r["expected_value"]),
                r["score"],
                r["probability"],
                r["revenue_at_stake_eur"],
                r["referral"],
                top,
                hits,
                r["terminal"],
                r["shift_start"],
                r["eta"],
                r["vessel_imo"],
                r["vessel_name"],
                r["voyage"],
                r["order_id"],
                r["order_state"],
                bool(r["overridden"]),
                int(r["open_referrals"]),
            )  # fmt: skip
        )
    return entries


def capacity_meter(
    store: Store, run_id: str, chosen: WorklistFilter | None = None
) -> CapacityMeter | None:
    """The controls the run planned in the terminal shifts ``chosen`` names (its terminal and
    shift; lane and vessel call narrow the rows, not the shifts), as the officers' lane
    overrides left them, against what those shifts offer. None for a run stored before
    quaywatch kept its capacity. ``NotFoundError`` naming the run when there is none."""
    chosen = chosen or WorklistFilter()
    shifts = WorklistFilter(terminal=chosen.terminal, shift_start=chosen.shift_start)
    random_rate = _run_exists(store, run_id)
    d, cap, use = tables.control_decisions, tables.selection_capacity, tables.selection_control_use
    in_view = [cap.c.run_id == run_id]
    if shifts.terminal:
        in_view.append(cap.c.terminal == shifts.terminal)
    if shifts.shift_start is not None:
        in_view.append(cap.c.shift_start == shifts.shift_start)
    offered = (
        select(cap.c.resource, func.sum(cap.c.capacity), func.count())
        .where(*in_view)
        .group_by(cap.c.resource)
        .order_by(cap.c.resource)
    )
    # The controls in force: the run's, counted in the store, then corrected by the officers'
    # lane overrides (a few rows) that changed or cancelled some and raised others.
    planned = (
        select(d.c.control_type, d.c.selected_by, func.count())
        .where(d.c.run_id == run_id, shifts.where(needs_vessel=False))
        .group_by(d.c.control_type, d.c.selected_by)
    )
    force = in_force(run_id)
    changed = (
        select(d.c.control_type, d.c.selected_by, force.newest.c.control_type)
        .select_from(d)
        .join(force.newest, force.newest.c.consignment_id == d.c.consignment_id)
        .where(d.c.run_id == run_id)
    )
    if shifts.terminal:
        changed = changed.where(d.c.terminal == shifts.terminal)
    if shifts.shift_start is not None:
        changed = changed.where(d.c.shift_start == shifts.shift_start)
    amounts = select(use.c.control_type, use.c.resource, use.c.amount).where(use.c.run_id == run_id)
    terminal_shifts = (
        select(func.count())
        .select_from(select(cap.c.terminal, cap.c.shift_start).where(*in_view).distinct().subquery())
    )  # fmt: skip
    with store.reading() as conn:
        capacity = conn.execute(offered).all()
        counts = conn.execute(planned).all()
        overridden = conn.execute(changed).all()
        per_control = conn.execute(amounts).all()
        n_shifts = int(conn.execute(terminal_shifts).scalar_one())
    if not capacity:
        return None
    controls: Counter[str] = Counter()
    random = 0
    for control_type, selected_by, n in counts:
        controls[str(control_type)] += int(n)
        random += int(n) if selected_by == "RANDOM" else 0
    for decided, selected_by, in_force_now in overridden:
        for kind, step in ((decided, -1), (in_force_now, 1)):
            if kind is not None:
                controls[str(kind)] += step
                random += step if selected_by == "RANDOM" else 0
    controls = +controls  # drop the types no control is left of
    used: defaultdict[str, float] = defaultdict(float)
    for control_type, resource, amount in per_control:
        used[str(resource)] += controls[str(control_type)] * float(amount)
    return CapacityMeter(
        n_shifts, dict(sorted(controls.items())), sum(controls.values()), random, random_rate,
        tuple(ResourceUse(str(r), float(total), used[str(r)]) for r, total, _ in capacity),
    )  # fmt: skip
