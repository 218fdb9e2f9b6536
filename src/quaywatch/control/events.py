"""The DCSA customs events quaywatch emits itself: CUSS, CUSI and CUSR.

Terminals and carriers learn from these events that a container is held for customs: CUSS
(selected for scan) when a scan is ordered, CUSI (selected for inspection) when a physical
examination or a documentary check is ordered, CUSR (released) when customs lets it go. They
go to the same ``events`` table as the carriers' and terminals' events, one per container of
the consignment, at the port of discharge, classifier ACT, so the container's history reads as
one track. ``batch_id`` names the order that caused the event instead of an import batch.
Each emission hashes its rows and appends an ``events_emit`` audit event carrying their Merkle
root, so ``audit verify --full`` covers them as it covers imported events.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, insert, select

from quaywatch.audit import chain, rows as row_hashes
from quaywatch.domain.models import ControlType, EquipmentEventCode
from quaywatch.store import tables

#: Bound ids per query, well under SQLite's limit of 32,766 variables.
_CHUNK = 10_000


def selection_code(control_type: str) -> EquipmentEventCode:
    """The event that tells the port a container is held for ``control_type``."""
    if ControlType(control_type) is ControlType.SCAN:
        return EquipmentEventCode.CUSS
    return EquipmentEventCode.CUSI


def emit(conn: Connection, codes: Mapping[str, EquipmentEventCode], at: datetime) -> int:
    """Write event ``codes[order_id]`` for every container of each order's consignment.

    Runs in the caller's transaction, after the orders are written; returns the number of
    events written.
    """
    o, c, k = tables.inspection_orders, tables.consignments, tables.containers
    ids = list(codes)
    rows: list[dict[str, object]] = []
    for start in range(0, len(ids), _CHUNK):
        query = (
            select(
                o.c.order_id,
                k.c.container_number,
                c.c.port_of_discharge,
                c.c.vessel_imo,
                c.c.transport_document,
            )  # fmt: skip
            .join(c, (c.c.consignment_id == o.c.consignment_id) & (c.c.version == o.c.version))
            .join(k, (k.c.consignment_id == o.c.consignment_id) & (k.c.version == o.c.version))
            .where(o.c.order_id.in_(ids[start : start + _CHUNK]))
            .order_by(o.c.order_id, k.c.container_number)
        )
        for order_id, box, port, imo, document in conn.execute(query):
            code = codes[order_id]
            # A random tail: an override back and forth may emit the same code twice a second.
            event_id = f"{order_id}-{code}-{box}-{uuid.uuid4().hex[:12]}"
            canonical = "\x1f".join([event_id, code, at.isoformat(), port, box, document])
            rows.append({
                "event_id": event_id,
                "content_sha256": hashlib.sha256(canonical.encode()).hexdigest(),
                "event_type": "EQUIPMENT", "classifier": "ACT", "event_code": code.value,
                "event_time": at, "created_time": at, "un_locode": port,
                "facility_type": "POTE", "container_number": box, "empty_indicator": "LADEN",
                "vessel_imo": imo, "transport_document": document, "is_transshipment": False,
                "received_at": at, "known_at": at, "batch_id": order_id,
            })  # fmt: skip
    if rows:
        conn.execute(insert(tables.events), rows)
        # The events are bound into the audit trail like an import's rows (``audit.rows``).
        recorder = row_hashes.Recorder()
        recorder.rows(tables.events, rows)
        group = f"emit-{uuid.uuid4()}"
        chain.append(
            conn, actor="quaywatch", action="events_emit", object_type="event_group",
            object_id=group,
            details={"orders": sorted(codes), "rows": recorder.bind(conn, group)},
        )  # fmt: skip
    return len(rows)
