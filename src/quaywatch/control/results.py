"""What a control finds before its outcome: NII scan results and physical findings.

A scan result names the scan (its id in the scanner's system), where the image is kept, the
image analyst and the verdict: ``clear`` or ``suspicious``. A suspicious image usually leads
to a physical examination, which an officer orders by overriding the control type. Physical
findings are the examining officer's note, with whether the seals were intact and the goods as
declared. Both are recorded while the order is in progress; a scan recorded again with the same
content changes nothing, and the same scan id with other content is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import insert, select

from quaywatch.control.orders import load, log
from quaywatch.control.states import State
from quaywatch.domain.models import ControlType
from quaywatch.domain.vocabulary import Verdict as Verdict
from quaywatch.errors import ConflictError, RecordError, said
from quaywatch.store import tables
from quaywatch.store.store import Store


@dataclass(frozen=True, slots=True)
class ScanResult:
    """One recorded scan; ``created`` is False when the same result was already stored."""

    scan_id: str
    order_id: str
    image_ref: str
    verdict: Verdict
    analyst: str
    created: bool


#: The control types whose order takes an NII scan result, and physical findings.
SCANNED = frozenset({ControlType.SCAN, ControlType.PHYSICAL})
EXAMINED = frozenset({ControlType.PHYSICAL})
#: The steps of working an order, in the order they are done.
STEPS = ("start", "scan", "findings", "outcome")


def allowed_steps(state: str, control_type: str) -> tuple[str, ...]:
    """The steps an order in ``state`` of ``control_type`` allows now: ``start`` while it is
    planned; once in progress the ``scan`` (scan and physical controls), the ``findings``
    (physical controls) and the ``outcome``; none once it is done or cancelled."""
    if state == State.PLANNED:
        return ("start",)
    if state != State.IN_PROGRESS:
        return ()
    return tuple(
        step for step, applies in (
            ("scan", control_type in SCANNED), ("findings", control_type in EXAMINED),
            ("outcome", True),
        ) if applies
    )  # fmt: skip


def _require(value: str, field: str, order_id: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise RecordError("missing", record_id=order_id, field=field)
    if len(value) > limit:
        raise RecordError(f"longer than {limit} characters", record_id=order_id, field=field)
    return value


def _in_progress(order_id: str, state: str, what: Literal["scan", "findings"]) -> None:
    if state != State.IN_PROGRESS:
        raise ConflictError(
            said("order %(order)s is %(state)s; scan results are recorded while it is "
                 "in_progress", order=order_id, state=state)
            if what == "scan"
            else said("order %(order)s is %(state)s; physical findings are recorded while it "
                      "is in_progress", order=order_id, state=state)
        )  # fmt: skip


def record_scan(
    store: Store,
    order_id: str,
    *,
    scan_id: str,
    image_ref: str,
    verdict: str,
    analyst: str,
    actor: str = "system",
    now: datetime | None = None,
) -> ScanResult:
    """Record the NII scan of an order in progress (a scan or physical control)."""
    scan_id = _require(scan_id, "scan_id", order_id, 35)
    image_ref = _require(image_ref, "image", order_id, 2_000)
    analyst = _require(analyst, "analyst", order_id, 128)
    try:
        seen = Verdict(verdict.strip().lower())
    except ValueError:
        raise RecordError(
            said("unknown verdict %(verdict)s (clear or suspicious)", verdict=repr(verdict)),
            record_id=order_id,
            field="verdict",
        ) from None  # fmt: skip
    at = now or tables.utcnow()
    s = tables.scan_results
    with store.transaction() as conn:
        order = load(conn, order_id, lock=True)
        stored = conn.execute(select(s).where(s.c.scan_id == scan_id)).mappings().first()
        if stored is not None:
            same = (stored["order_id"], stored["image_ref"], stored["verdict"], stored["analyst"])
            if same != (order_id, image_ref, seen.value, analyst):
                raise ConflictError(said(
                    "scan %(scan)s is already recorded for order %(order)s (%(verdict)s, image "
                    "%(image)s); a scan id names one scan", scan=scan_id,
                    order=stored["order_id"], verdict=stored["verdict"],
                    image=stored["image_ref"],
                ))  # fmt: skip
            return ScanResult(scan_id, order_id, image_ref, seen, analyst, created=False)
        _in_progress(order_id, order.state, "scan")
        if order.control_type not in SCANNED:
            raise ConflictError(said(
                "order %(order)s is a DOCUMENTARY check; override its type to SCAN or "
                "PHYSICAL before recording a scan", order=order_id,
            ))  # fmt: skip
        conn.execute(
            insert(s).values(scan_id=scan_id, order_id=order_id, image_ref=image_ref,
                             verdict=seen.value, analyst=analyst, recorded_at=at,
                             recorded_by=actor)
        )  # fmt: skip
        log(conn, order, "scan", actor=actor, at=at,
            details={"scan_id": scan_id, "verdict": seen.value, "image_ref": image_ref,
                     "analyst": analyst})  # fmt: skip
    return ScanResult(scan_id, order_id, image_ref, seen, analyst, created=True)


def record_findings(
    store: Store,
    order_id: str,
    *,
    note: str,
    seals_intact: bool | None = None,
    goods_as_declared: bool | None = None,
    actor: str = "system",
    now: datetime | None = None,
) -> None:
    """Record what a physical examination of an order in progress found (its history keeps it)."""
    note = _require(note, "note", order_id, 4_000)
    at = now or tables.utcnow()
    with store.transaction() as conn:
        order = load(conn, order_id, lock=True)
        _in_progress(order_id, order.state, "findings")
        if order.control_type not in EXAMINED:
            raise ConflictError(said(
                "order %(order)s is a %(control)s control; override its type to PHYSICAL "
                "before recording physical findings", order=order_id,
                control=order.control_type,
            ))  # fmt: skip
        log(conn, order, "finding", actor=actor, at=at,
            details={"note": note, "seals_intact": seals_intact,
                     "goods_as_declared": goods_as_declared})  # fmt: skip


def scans(store: Store, order_id: str) -> list[ScanResult]:
    """The scans recorded for an order, in the order they were recorded."""
    s = tables.scan_results
    with store.reading() as conn:
        rows = conn.execute(
            select(s).where(s.c.order_id == order_id).order_by(s.c.recorded_at, s.c.scan_id)
        ).mappings()
        return [
            ScanResult(
                r["scan_id"],
                r["order_id"],
                r["image_ref"],
                Verdict(r["verdict"]),
                r["analyst"],
                created=False,
            )  # fmt: skip
            for r in rows
        ]
