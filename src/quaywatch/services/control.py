"""Use cases of the control workflow, one per step of an officer's day.

``create_orders`` turns a selection run into inspection orders, ``list_orders`` shows the work,
``start_order`` begins a control, ``record_scan`` / ``record_findings`` record what it showed,
``record_outcome`` ends it, ``override_order`` changes or cancels it with a reason,
``attach_file`` adds a photo or a PDF to it (``list_attachments``, ``attachment_content`` read
them back, the content checked against its hash) and ``order_dossier`` reads one order whole:
what was decided, its steps, scans, outcome and attachments.

Each write is one transaction that changes the order, appends to its history and to the audit
trail in the name of ``actor`` (``control.orders``, ``control.results``, ``control.outcome``).
An unknown order raises ``NotFoundError`` naming it; a step the order's state forbids raises
``ConflictError`` saying what is allowed instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quaywatch.control import attachments, decisions, orders, outcome, results
from quaywatch.control.attachments import Attachment, AttachmentContent
from quaywatch.control.decisions import ExaminerInstruction
from quaywatch.control.orders import Order
from quaywatch.control.outcome import RecordedOutcome
from quaywatch.control.results import ScanResult
from quaywatch.domain.access import Permission, Principal
from quaywatch.errors import InputError, said
from quaywatch.services.arguments import check_at_least
from quaywatch.store.store import Store

#: Orders ``list_orders`` returns when no limit is given.
DEFAULT_LIMIT = 200


@dataclass(frozen=True, slots=True)
class OrdersCreated:
    """What ``create_orders`` did, and every order of the run after it."""

    run_id: str
    created: list[str]
    existing: int
    events: int
    orders: list[Order]


@dataclass(frozen=True, slots=True)
class FindingsRecorded:
    """Physical findings recorded for an order in progress."""

    order_id: str
    note: str
    seals_intact: bool | None
    goods_as_declared: bool | None


@dataclass(frozen=True, slots=True)
class HistoryStep:
    """One step of an order: who did what, when, the state it moved between and why."""

    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    """The outcome an order ended with; ``details`` holds the stated fields that are set
    (irregularity, revenue recovered, seizure goods, quantity, unit, HS6, concealment)."""

    result: str
    known_at: datetime
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OrderDossier:
    """One order whole: as stored, its steps oldest first, its scans, its outcome, the
    files attached to it and the targeting officers' instructions for the examiners of its
    consignment (``control.decisions``; both oldest first)."""

    order: Order
    history: list[HistoryStep]
    scans: list[ScanResult]
    outcome: StoredOutcome | None
    attachments: list[Attachment]
    instructions: list[ExaminerInstruction]


def default_scan_id(order_id: str, image_ref: str) -> str:
    """The scan id used when the scanner's is not given: the order id and a digest of the image."""
    return f"{order_id}-{hashlib.sha256(image_ref.encode()).hexdigest()[:8].upper()}"


def create_orders(store: Store, run_id: str, *, actor: str) -> OrdersCreated:
    """An order, planned, for every control the selection run ``run_id`` decided.

    Again for the same run: nothing new. Emits CUSS/CUSI for each new order's containers.
    Raises ``NotFoundError`` naming the run when there is none.
    """
    made = orders.create_orders(store, run_id, actor=actor)
    return OrdersCreated(
        made.run_id, list(made.order_ids), made.existing, made.events,
        orders.list_orders(store, run_id=run_id),
    )  # fmt: skip


def list_orders(
    store: Store,
    *,
    state: str | None = None,
    run_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
    viewer: Principal | None = None,
) -> list[Order]:
    """Orders, oldest shift first; only those in ``state`` or of ``run_id`` when given.

    With ``viewer``, only the orders that principal may read: an inspector sees the orders of
    their own terminals. Raises ``InputError`` for a ``limit`` below 1, a ``RecordError``
    naming ``state`` for an unknown state.
    """
    check_at_least("limit", limit)
    terminals = None
    if viewer is not None:
        viewer.require(Permission.ORDER_READ)
        if viewer.bound_to_terminals(Permission.ORDER_READ) and not viewer.all_terminals:
            terminals = viewer.terminals
    return orders.list_orders(store, state=state, run_id=run_id, terminals=terminals, limit=limit)


def check_order_access(
    store: Store, order_id: str, principal: Principal, permission: Permission
) -> None:
    """Raise ``PermissionDeniedError`` unless ``principal`` holds ``permission`` for this order
    (an inspector: at one of their terminals); ``NotFoundError`` if there is no such order."""
    principal.require(permission)
    principal.require_terminal(permission, orders.get_order(store, order_id).terminal)


def start_order(store: Store, order_id: str, *, actor: str) -> Order:
    """Begin the control of a planned order: it becomes ``in_progress``."""
    return orders.start(store, order_id, actor=actor)


def record_scan(
    store: Store,
    order_id: str,
    *,
    verdict: str,
    image_ref: str,
    analyst: str,
    scan_id: str | None = None,
    actor: str,
) -> ScanResult:
    """Record the NII scan result of an order in progress (a scan or physical control).

    ``scan_id`` is the scanner's id of the scan; without it, one is derived from the order and
    the image (``default_scan_id``), so recording the same image again changes nothing.
    """
    sid = scan_id if scan_id else default_scan_id(order_id, image_ref)
    return results.record_scan(store, order_id, scan_id=sid, image_ref=image_ref,
                               verdict=verdict, analyst=analyst, actor=actor)  # fmt: skip


def record_findings(
    store: Store,
    order_id: str,
    *,
    note: str,
    seals_intact: bool | None = None,
    goods_as_declared: bool | None = None,
    actor: str,
) -> FindingsRecorded:
    """Record what the physical examination of an order in progress found."""
    results.record_findings(store, order_id, note=note, seals_intact=seals_intact,
                            goods_as_declared=goods_as_declared, actor=actor)  # fmt: skip
    return FindingsRecorded(order_id, note.strip(), seals_intact, goods_as_declared)


def record_outcome(
    store: Store,
    order_id: str,
    *,
    result: str,
    irregularity: str | None = None,
    revenue_recovered_eur: float = 0.0,
    seizure_goods: str | None = None,
    seizure_quantity: float | None = None,
    seizure_unit: str | None = None,
    seizure_hs6: str | None = None,
    concealment: str | None = None,
    actor: str,
) -> RecordedOutcome:
    """Record the outcome of an order in progress: it is done and, unless seized, released.

    The same outcome again changes nothing (``created`` False); another one for a done order is
    a ``ConflictError``; a field intake would refuse is a ``RecordError`` naming it.
    """
    if revenue_recovered_eur < 0:
        raise InputError(
            said("revenue_recovered_eur must be 0 or more, got %(given)s",
                 given=format(revenue_recovered_eur, "g"))
        )  # fmt: skip
    return outcome.record_outcome(
        store, order_id, result=result, irregularity=irregularity,
        revenue_recovered_eur=revenue_recovered_eur, seizure_goods=seizure_goods,
        seizure_quantity=seizure_quantity, seizure_unit=seizure_unit, seizure_hs6=seizure_hs6,
        concealment=concealment, actor=actor,
    )  # fmt: skip


def override_order(
    store: Store,
    order_id: str,
    *,
    reason: str,
    control_type: str | None = None,
    cancel: bool = False,
    actor: str,
) -> Order:
    """Change an open order's control type, or cancel it; ``reason`` is mandatory.

    Exactly one of ``control_type`` and ``cancel``; a ``RecordError`` naming the field
    otherwise.
    """
    return orders.override(store, order_id, reason=reason, control_type=control_type,
                           cancel=cancel, actor=actor)  # fmt: skip


def attach_file(
    store: Store,
    order_id: str,
    content: bytes,
    *,
    filename: str | None,
    caption: str | None = None,
    max_bytes: int,
    principal: Principal,
) -> Attachment:
    """Attach a photo (JPEG, PNG, WebP) or a PDF to an order in progress or done, in the name
    of ``principal``, who must hold ``order:work`` at the order's terminal.

    The type is read from the content, the SHA-256 computed here; the same file on the same
    order again changes nothing (``created`` False). ``InputError`` naming the file for an empty
    one, one over ``max_bytes`` or of another type; ``ConflictError`` naming the state of a
    planned or cancelled order; ``PermissionDeniedError``, ``NotFoundError`` as for any step.
    """
    check_order_access(store, order_id, principal, Permission.ORDER_WORK)
    return attachments.attach(store, order_id, content, filename=filename, caption=caption,
                              max_bytes=max_bytes, actor=principal.name)  # fmt: skip


def list_attachments(store: Store, order_id: str, *, principal: Principal) -> list[Attachment]:
    """The files attached to an order, oldest first, for a ``principal`` who may read it."""
    check_order_access(store, order_id, principal, Permission.ORDER_READ)
    return attachments.attachments(store, order_id)


def attachment_content(
    store: Store, order_id: str, sha256: str, *, principal: Principal
) -> AttachmentContent:
    """One attached file with its content, for a ``principal`` who may read the order.

    The content is hashed again as it is read: ``TamperedError`` naming the order and the hash
    when it no longer matches (it is then not returned); ``NotFoundError`` for an unknown order
    or a hash it has no attachment under.
    """
    check_order_access(store, order_id, principal, Permission.ORDER_READ)
    return attachments.content(store, order_id, sha256)


def attachable(order: Order) -> bool:
    """Whether files may be attached to ``order`` now: while in progress or once done
    (``control.attachments.attachable``)."""
    return attachments.attachable(order.state)


def allowed_steps(order: Order) -> tuple[str, ...]:
    """The steps ``order`` allows now (``start``, ``scan``, ``findings``, ``outcome``): what
    its state and control type let be recorded (``control.results.allowed_steps``)."""
    return results.allowed_steps(order.state, order.control_type)


def order_dossier(store: Store, order_id: str) -> OrderDossier:
    """The order ``order_id`` with its history, scans, outcome and attachments;
    ``NotFoundError`` if none."""
    order = orders.get_order(store, order_id)
    steps = [
        HistoryStep(
            h["at"],
            h["actor"],
            h["action"],
            h["from_state"],
            h["to_state"],
            h["reason"],
            dict(h["details"]),
        )  # fmt: skip
        for h in orders.history(store, order_id)
    ]
    found = outcome.get_outcome(store, order_id)
    stored = None
    if found is not None:
        details = {k: found[k] for k in outcome.STATED[1:] if found[k] not in (None, 0.0)}
        stored = StoredOutcome(found["result"], found["known_at"], details)
    return OrderDossier(
        order, steps, results.scans(store, order_id), stored,
        attachments.attachments(store, order_id),
        decisions.instructions(store, order.consignment_id),
    )  # fmt: skip
