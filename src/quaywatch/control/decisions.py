"""The targeting officer's decisions on a consignment: lane overrides, examiner instructions,
referrals.

**Lane override.** A selection run put each candidate in a lane (``control_decisions``); an
officer may move a consignment to another lane of that run with a reason code
(``domain.vocabulary.OverrideReason``) and a note. Overrides are kept, never edited: the newest
is the consignment's lane in that run (``store.reads.latest_lane_overrides``), the decision
row stays what the policy chose, with its propensity. In the same transaction the planned
order that carries the decision follows (its control type changed, or cancelled when the new
lane asks for no control, through ``orders.apply_override``, so the order's history says so).
An order in progress, done or cancelled is not changed: the override is refused
(``ConflictError``, saying why). A consignment the random sample drew is never lowered below
the control it was drawn for: the random sample measures what the other controls miss, and
only stays unbiased if no one takes consignments out of it. Orders made after an override
(``orders.create_orders``) follow it: a consignment raised from no control gets an order
``selected_by`` OFFICER with propensity 1 (an officer's choice is certain, as a rule's is; the
learning loop weights it 1 and counts it in no model or random arm), one lowered to none gets
no order.

**Examiner instructions** are free text for the examiners of the consignment (shown on its
orders); **referrals** (ICS2: RFI request for information, RFS request for screening, DNL do
not load) are opened with a request and closed once with their result.

Every write is one transaction with an audit event. Free text is trimmed; an empty text where
one is needed, a longer one than ``NOTE_MAX`` / ``TEXT_MAX`` or one with a control character
(other than line breaks and tabs) is a ``RecordError`` naming the field.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from quaywatch.audit import chain
from quaywatch.control import orders
from quaywatch.control.orders import Order
from quaywatch.control.states import State
from quaywatch.domain.vocabulary import OverrideReason, SelectedBy
from quaywatch.errors import ConflictError, NotFoundError, RecordError, Said, said
from quaywatch.risk.profiles.profile import Referral as ReferralKind
from quaywatch.selection.capacity import CONTROL_LANES
from quaywatch.store import tables
from quaywatch.store.store import Store

#: The lanes, from no control to the strongest, and the control each asks for.
LANE_CONTROLS: dict[str, str | None] = {
    "green": None,
    "blue": None,
    **{lane: control.upper() for control, lane in CONTROL_LANES.items()},
}
#: How strong each control is (no control: 0); a lower one after an override lowers the lane.
STRENGTH: dict[str | None, int] = {None: 0, "DOCUMENTARY": 1, "SCAN": 2, "PHYSICAL": 3}
#: The longest note beside a reason code, in characters.
NOTE_MAX = 1000
#: The longest examiner instruction, referral request or referral result, in characters.
TEXT_MAX = 2000
#: What the audit trail calls a referral.
REFERRAL = "referral"
OPEN, CLOSED = "open", "closed"


def _lane_fixed(order_id: str, consignment_id: str, state: State, run_id: str) -> Said:
    """Why the lane of a consignment whose order is past ``planned`` can no longer change:
    one whole sentence per state, so that each translates whole."""
    names = {"order": order_id, "consignment": consignment_id, "run": run_id}
    if state == State.IN_PROGRESS:
        return said(
            "order %(order)s of consignment %(consignment)s is in_progress: the control "
            "has begun: record its outcome, or change the order itself; its lane can "
            "no longer change in run %(run)s",
            **names,
        )
    if state == State.DONE:
        return said(
            "order %(order)s of consignment %(consignment)s is done: the control is "
            "finished, and a finished control is corrected by a new one; its lane can "
            "no longer change in run %(run)s",
            **names,
        )
    return said("order %(order)s of consignment %(consignment)s is cancelled: the order was "
                "cancelled, and a cancelled order is final; its lane can no longer change in "
                "run %(run)s", **names)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LaneOverride:
    """One lane override as stored: the lane before and after, the control the new lane asks
    for (None: green or blue), the reason code and the officer's note."""

    override_id: int
    run_id: str
    consignment_id: str
    from_lane: str
    to_lane: str
    control_type: str | None
    reason_code: str
    note: str | None
    at: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class LaneOverridden:
    """What ``override_lane`` did: the override, and the order that followed it (its id,
    state and control type afterwards), if the consignment had one."""

    override: LaneOverride
    order_id: str | None
    order_state: str | None
    order_control_type: str | None


@dataclass(frozen=True, slots=True)
class RunDecision:
    """A selection run's decision on the consignment: what the policy chose (``decided_*``,
    ``selected_by``, ``propensity``), the lane and control in force after the officers'
    overrides (``lane``, ``control_type``), the overrides oldest first, and the order that
    carries the decision, once there is one."""

    run_id: str
    run_created_at: datetime
    version: int
    decided_lane: str
    decided_control: str | None
    selected_by: str
    propensity: float
    lane: str
    control_type: str | None
    terminal: str
    shift_start: datetime
    overrides: tuple[LaneOverride, ...]
    order_id: str | None
    order_state: str | None

    @property
    def overridden(self) -> bool:
        return bool(self.overrides)


@dataclass(frozen=True, slots=True)
class ExaminerInstruction:
    """Free text for the examiners of a consignment, written for its ``version``."""

    instruction_id: int
    consignment_id: str
    version: int
    text: str
    at: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class Referral:
    """An ICS2 referral of a consignment (``kind`` RFI, RFS or DNL): what was asked, and once
    ``closed``, the result it was closed with."""

    referral_id: str
    consignment_id: str
    version: int
    kind: str
    request: str
    state: str
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    closed_by: str | None
    result: str | None


def checked_text(
    value: str | None, *, field: str, record_id: str, maximum: int, required: bool = True
) -> str | None:
    """``value`` trimmed; None when empty and not ``required``; a ``RecordError`` naming
    ``field`` when empty and required, longer than ``maximum`` characters, or holding a
    control character other than a line break or a tab."""
    text = (value or "").strip()
    if not text:
        if required:
            raise RecordError(said("must not be empty"), record_id=record_id, field=field)
        return None
    if len(text) > maximum:
        raise RecordError(
            said("must have at most %(n)s characters, got %(got)s", n=maximum, got=len(text)),
            record_id=record_id,
            field=field,
        )  # fmt: skip
    if any((ord(c) < 32 and c not in "\n\r\t") or ord(c) == 127 for c in text):
        raise RecordError(said("contains a control character"), record_id=record_id,
                          field=field)  # fmt: skip
    return text


def _reason(code: str, record_id: str) -> OverrideReason:
    if not (code or "").strip():
        raise RecordError(said("a lane override needs a reason code"), record_id=record_id,
                          field="reason_code")  # fmt: skip
    try:
        return OverrideReason(code.strip().upper())
    except ValueError:
        known = ", ".join(OverrideReason)
        raise RecordError(said("unknown reason code %(code)s (%(known)s)", code=repr(code),
                               known=known), record_id=record_id,
                          field="reason_code") from None  # fmt: skip


def _lane(lane: str, record_id: str) -> str:
    found = (lane or "").strip().lower()
    if found not in LANE_CONTROLS:
        raise RecordError(said("unknown lane %(lane)s (%(known)s)", lane=repr(lane),
                               known=", ".join(LANE_CONTROLS)),
                          record_id=record_id, field="lane")  # fmt: skip
    return found


def _override(row: Any) -> LaneOverride:
    return LaneOverride(
        row.override_id, row.run_id, row.consignment_id, row.from_lane, row.to_lane,
        row.control_type, row.reason_code, row.note, row.at, row.actor,
    )  # fmt: skip


def _carrying_order(
    conn: Connection, run_id: str, decision: Any, *, lock: bool = False
) -> Order | None:
    """The order that carries ``decision``: the one made for the control the run decided
    (from this run or an earlier one that decided the same), or, where it decided none, the
    one an officer's override of this run raised."""
    o = tables.inspection_orders
    query = select(o.c.order_id).where(o.c.consignment_id == decision.consignment_id)
    if decision.control_type is not None:
        query = query.where(o.c.decided_type == decision.control_type)
    else:
        query = query.where(o.c.run_id == run_id, o.c.selected_by == SelectedBy.OFFICER.value)
    order_id = conn.execute(query.order_by(o.c.created_at.desc())).scalars().first()
    return None if order_id is None else orders.load(conn, order_id, lock=lock)


def override_lane(
    store: Store,
    run_id: str,
    consignment_id: str,
    *,
    lane: str,
    reason_code: str,
    note: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> LaneOverridden:
    """Move ``consignment_id`` to ``lane`` in the selection run ``run_id``, for
    ``reason_code`` (``OverrideReason``; OFFICER_JUDGEMENT needs a ``note``).

    Raises ``RecordError`` naming ``lane``, ``reason_code`` or ``note`` for a bad value or the
    lane it is in already, ``NotFoundError`` when the run did not decide on the consignment,
    ``ConflictError`` for a random-sample consignment lowered below its drawn control, an
    order that is no longer planned, or a raise to a control the consignment already has an
    order for from another run.
    """
    where = f"{run_id}/{consignment_id}"
    new_lane, reason = _lane(lane, where), _reason(reason_code, where)
    text = checked_text(note, field="note", record_id=where, maximum=NOTE_MAX,
                        required=reason is OverrideReason.OFFICER_JUDGEMENT)  # fmt: skip
    new_control = LANE_CONTROLS[new_lane]
    at = now or tables.utcnow()
    d, lo, o = tables.control_decisions, tables.lane_overrides, tables.inspection_orders
    with store.transaction() as conn:
        decision = conn.execute(
            select(d).where(d.c.run_id == run_id, d.c.consignment_id == consignment_id)
            .with_for_update()
        ).first()  # fmt: skip
        if decision is None:
            runs = tables.selection_runs
            if conn.execute(select(runs.c.run_id).where(runs.c.run_id == run_id)).first() is None:
                raise NotFoundError(f"no selection run {run_id!r}")
            raise NotFoundError(
                f"selection run {run_id} decided nothing on consignment {consignment_id!r}"
            )
        latest = conn.execute(
            select(lo).where(lo.c.run_id == run_id, lo.c.consignment_id == consignment_id)
            .order_by(lo.c.override_id.desc()).limit(1)
        ).first()  # fmt: skip
        from_lane = decision.lane if latest is None else latest.to_lane
        if new_lane == from_lane:
            raise RecordError(said("the consignment is in the %(lane)s lane already",
                                   lane=new_lane),
                              record_id=where, field="lane")  # fmt: skip
        drawn = decision.control_type
        if (
            decision.selected_by == SelectedBy.RANDOM.value
            and STRENGTH[new_control] < STRENGTH[drawn]
        ):
            raise ConflictError(said(
                "consignment %(consignment)s was drawn by the random control sample of run "
                "%(run)s for a %(control)s control: it cannot be lowered below the %(lane)s "
                "lane, because the random sample must stay unbiased to measure what the other "
                "controls miss (the random arm's hit rate, model evaluation)",
                consignment=consignment_id, run=run_id, control=str(drawn).lower(),
                lane=decision.lane,
            ))  # fmt: skip
        order = _carrying_order(conn, run_id, decision, lock=True)
        if order is not None and order.state != State.PLANNED:
            raise ConflictError(
                _lane_fixed(order.order_id, consignment_id, State(order.state), run_id)
            )
        if order is None and drawn is None and new_control is not None:
            taken = conn.execute(
                select(o.c.order_id, o.c.state, o.c.run_id).where(
                    o.c.order_id == orders.order_id_for(consignment_id, new_control)
                )
            ).first()
            if taken is not None:
                raise ConflictError(said(
                    "consignment %(consignment)s already has order %(order)s for a %(control)s "
                    "control (%(state)s, from run %(run)s): a consignment gets one order per "
                    "control type", consignment=consignment_id, order=taken.order_id,
                    control=new_control.lower(), state=taken.state, run=taken.run_id,
                ))  # fmt: skip
        override_id = conn.execute(
            insert(lo).values(
                run_id=run_id, consignment_id=consignment_id, from_lane=from_lane,
                to_lane=new_lane, control_type=new_control, reason_code=reason.value, note=text,
                at=at, actor=actor,
            ).returning(lo.c.override_id)
        ).scalar_one()  # fmt: skip
        followed = None
        if order is not None:
            why = f"lane {from_lane} → {new_lane}: {reason.value}" + (f" ({text})" if text else "")
            details = {"run_id": run_id, "lane_override": override_id}
            if new_control != order.control_type:
                orders.apply_override(conn, order, reason=why, control_type=new_control,
                                      actor=actor, at=at, details=details)  # fmt: skip
            orders.set_state(conn, order.order_id, lane=new_lane)
            followed = orders.load(conn, order.order_id)
        chain.append(
            conn, actor=actor, action="lane_override", object_type="consignment",
            object_id=consignment_id,
            details={k: v for k, v in {
                "run_id": run_id, "override_id": override_id, "from": from_lane, "to": new_lane,
                "control_type": new_control, "reason_code": reason.value, "note": text,
                "order_id": None if followed is None else followed.order_id,
                "order_state": None if followed is None else followed.state,
            }.items() if v is not None},
        )  # fmt: skip
        stored = conn.execute(select(lo).where(lo.c.override_id == override_id)).one()
    return LaneOverridden(
        _override(stored),
        None if followed is None else followed.order_id,
        None if followed is None else followed.state,
        None if followed is None else followed.control_type,
    )  # fmt: skip


def _carries(order: Any, decision: Any) -> bool:
    """Whether ``order`` carries ``decision`` (as ``_carrying_order`` finds it)."""
    if decision.control_type is not None:
        return bool(order.decided_type == decision.control_type)
    return bool(order.run_id == decision.run_id and order.selected_by == SelectedBy.OFFICER)


def run_decisions(store: Store, consignment_id: str) -> list[RunDecision]:
    """Every selection run's decision on ``consignment_id``, newest run first, with the lane
    in force after overrides and the order carrying it."""
    d, r, lo, o = (tables.control_decisions, tables.selection_runs, tables.lane_overrides,
                   tables.inspection_orders)  # fmt: skip
    with store.reading() as conn:
        decided = conn.execute(
            select(d, r.c.created_at.label("run_created_at"))
            .join(r, r.c.run_id == d.c.run_id)
            .where(d.c.consignment_id == consignment_id)
            .order_by(r.c.created_at.desc(), d.c.run_id)
        ).all()  # fmt: skip
        made = [
            _override(row)
            for row in conn.execute(
                select(lo).where(lo.c.consignment_id == consignment_id)
                .order_by(lo.c.override_id)
            )
        ]  # fmt: skip
        held = conn.execute(
            select(o.c.order_id, o.c.run_id, o.c.decided_type, o.c.selected_by, o.c.state)
            .where(o.c.consignment_id == consignment_id)
            .order_by(o.c.created_at.desc())
        ).all()  # fmt: skip
    found = []
    for row in decided:
        mine = tuple(x for x in made if x.run_id == row.run_id)
        carrier = next((x for x in held if _carries(x, row)), None)
        found.append(
            RunDecision(
                row.run_id,
                row.run_created_at,
                row.version,
                row.lane,
                row.control_type,
                row.selected_by,
                row.propensity,
                mine[-1].to_lane if mine else row.lane,
                mine[-1].control_type if mine else row.control_type,
                row.terminal,
                row.shift_start,
                mine,
                None if carrier is None else carrier.order_id,
                None if carrier is None else carrier.state,
            )  # fmt: skip
        )
    return found


def _newest_version(conn: Connection, consignment_id: str) -> int:
    c = tables.consignments
    version = conn.execute(
        select(func.max(c.c.version)).where(c.c.consignment_id == consignment_id)
    ).scalar_one()
    if version is None:
        raise NotFoundError(f"no consignment {consignment_id}")
    return int(version)


def newest_version(store: Store, consignment_id: str) -> int:
    """The newest stored version of ``consignment_id``; ``NotFoundError`` if none is stored."""
    with store.reading() as conn:
        return _newest_version(conn, consignment_id)


def add_instruction(
    store: Store, consignment_id: str, text: str, *, actor: str, now: datetime | None = None
) -> ExaminerInstruction:
    """Add an instruction for the examiners of ``consignment_id`` (its newest version).

    ``RecordError`` naming ``text`` for an empty one, one over ``TEXT_MAX`` characters or with
    a control character; ``NotFoundError`` for an unknown consignment.
    """
    body = checked_text(text, field="text", record_id=consignment_id, maximum=TEXT_MAX)
    at = now or tables.utcnow()
    e = tables.examiner_instructions
    with store.transaction() as conn:
        version = _newest_version(conn, consignment_id)
        instruction_id = conn.execute(
            insert(e).values(consignment_id=consignment_id, version=version, text=body, at=at,
                             actor=actor).returning(e.c.instruction_id)
        ).scalar_one()  # fmt: skip
        chain.append(conn, actor=actor, action="examiner_instruction",
                     object_type="consignment", object_id=consignment_id,
                     details={"instruction_id": instruction_id, "version": version,
                              "text": body})  # fmt: skip
        row = conn.execute(select(e).where(e.c.instruction_id == instruction_id)).one()
    return ExaminerInstruction(**row._mapping)


def instructions(store: Store, consignment_id: str) -> list[ExaminerInstruction]:
    """The examiner instructions of ``consignment_id``, oldest first."""
    e = tables.examiner_instructions
    with store.reading() as conn:
        rows = conn.execute(
            select(e).where(e.c.consignment_id == consignment_id).order_by(e.c.instruction_id)
        ).mappings()
        return [ExaminerInstruction(**row) for row in rows]


def open_referral(
    store: Store,
    consignment_id: str,
    *,
    kind: str,
    request: str,
    actor: str,
    now: datetime | None = None,
) -> Referral:
    """Open a referral of ``kind`` (RFI, RFS or DNL) on ``consignment_id`` asking ``request``.

    ``RecordError`` naming ``kind`` or ``request`` for a bad value; ``NotFoundError`` for an
    unknown consignment.
    """
    try:
        found = ReferralKind((kind or "").strip().upper())
    except ValueError:
        raise RecordError(
            said("unknown referral type %(kind)s (RFI: request for information, RFS: request "
                 "for screening, DNL: do not load)", kind=repr(kind)),
            record_id=consignment_id, field="kind",
        ) from None  # fmt: skip
    asked = checked_text(request, field="request", record_id=consignment_id, maximum=TEXT_MAX)
    at = now or tables.utcnow()
    referral_id = str(uuid.uuid4())
    r = tables.referrals
    with store.transaction() as conn:
        version = _newest_version(conn, consignment_id)
        conn.execute(
            insert(r).values(
                referral_id=referral_id, consignment_id=consignment_id, version=version,
                kind=found.value, request=asked, state=OPEN, opened_at=at, opened_by=actor,
            )
        )  # fmt: skip
        chain.append(conn, actor=actor, action="referral_open", object_type=REFERRAL,
                     object_id=referral_id,
                     details={"consignment_id": consignment_id, "version": version,
                              "kind": found.value, "request": asked})  # fmt: skip
        return _referral(conn, referral_id)


def _referral(conn: Connection, referral_id: str, *, lock: bool = False) -> Referral:
    r = tables.referrals
    query = select(r).where(r.c.referral_id == referral_id)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise NotFoundError(f"no referral {referral_id!r}")
    return Referral(**row)


def close_referral(
    store: Store,
    referral_id: str,
    *,
    result: str,
    actor: str,
    consignment_id: str | None = None,
    now: datetime | None = None,
) -> Referral:
    """Close the open referral ``referral_id`` (of ``consignment_id``, when given) with its
    ``result``.

    ``RecordError`` naming ``result`` for a bad one, ``NotFoundError`` for an unknown
    referral (or one of another consignment), ``ConflictError`` for one closed already (a
    closed referral stays closed: open another).
    """
    answer = checked_text(result, field="result", record_id=referral_id, maximum=TEXT_MAX)
    at = now or tables.utcnow()
    r = tables.referrals
    with store.transaction() as conn:
        found = _referral(conn, referral_id, lock=True)
        if consignment_id is not None and found.consignment_id != consignment_id:
            raise NotFoundError(f"no referral {referral_id!r} of consignment {consignment_id}")
        if found.state == CLOSED:
            closed = found.closed_at.strftime("%Y-%m-%d %H:%M UTC") if found.closed_at else ""
            raise ConflictError(said(
                "referral %(referral)s was closed on %(when)s by %(who)s; a closed referral "
                "stays closed: open another", referral=referral_id, when=closed,
                who=found.closed_by,
            ))  # fmt: skip
        conn.execute(
            update(r).where(r.c.referral_id == referral_id)
            .values(state=CLOSED, closed_at=at, closed_by=actor, result=answer)
        )  # fmt: skip
        chain.append(conn, actor=actor, action="referral_close", object_type=REFERRAL,
                     object_id=referral_id,
                     details={"consignment_id": found.consignment_id, "kind": found.kind,
                              "result": answer})  # fmt: skip
        return _referral(conn, referral_id)


def referrals(store: Store, consignment_id: str) -> list[Referral]:
    """The referrals of ``consignment_id``, oldest first."""
    r = tables.referrals
    with store.reading() as conn:
        rows = conn.execute(
            select(r).where(r.c.consignment_id == consignment_id)
            .order_by(r.c.opened_at, r.c.referral_id)
        ).mappings()  # fmt: skip
        return [Referral(**row) for row in rows]
