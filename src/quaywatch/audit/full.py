"""``audit verify --full``: re-hash every covered stored row and compare with what was bound.

After the chain verifies (so every audit event, and the Merkle root each audited write put in
its details, is as written), this checks, group by group, that the hashes kept in
``record_hashes`` still give the root bound in the chain, then re-hashes every row of every
covered table (``audit.rows.COVERED``) and compares it with the newest hash bound for its key:

- *changed*: the row re-hashes to something else;
- *missing*: a hash was bound for a key no longer stored;
- *added*: a row no audited write stored;
- a group whose kept hashes no longer give its root: the hashes themselves were changed (then
  rows changed together with their hashes cannot be named, only the group).

Rows stored before row hashes existed are bound once, when the store is upgraded past them
(migration 0017, ``bind_legacy``), into one audited write of their own, the *baseline*: from
then on every covered row is judged, and none can pass for an old one by its batch or its time.

Cost: one pass over ``record_hashes`` and one over each covered table, hashing each row in
Python (docs/reliability.md gives the rows per second measured); memory holds the newest hash
of every covered row, about 200 bytes a row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, select

from quaywatch.audit import chain
from quaywatch.audit.chain import RowsChecked
from quaywatch.audit.rows import COVERED, Covered, Recorder, group_root
from quaywatch.errors import ConfigurationError
from quaywatch.store import tables
from quaywatch.store.database import AUDIT_KEY

#: Findings listed at most; the count is always complete.
MAX_FINDINGS = 1_000
#: The group of the rows stored before row hashes existed, bound at upgrade (``bind_legacy``).
BASELINE = "baseline-before-row-hashes"


@dataclass(frozen=True, slots=True)
class Finding:
    """One row that does not match what the audit trail bound: ``table`` and ``key`` (its key
    columns, canonical JSON), ``problem`` (changed, missing, added, or a group's hashes
    altered), and the audited write (``group``) that bound it, when known."""

    table: str
    key: str
    problem: str
    group: str | None

    def __str__(self) -> str:
        where = f" (bound by {self.group})" if self.group else ""
        return f"{self.table} {self.key}: {self.problem}{where}"


@dataclass(slots=True)
class _Expected:
    seq: int
    digest: str
    group: str


def _bound_groups(
    conn: Connection,
) -> tuple[dict[str, tuple[int, dict[str, Any]]], set[str], datetime | None]:
    """Each audited write that bound rows: group id -> (seq, {"root", "count"}); the import
    batches audited before row hashes existed (legacy); when the first write bound rows."""
    e = tables.audit_events
    bound: dict[str, tuple[int, dict[str, Any]]] = {}
    legacy: set[str] = set()
    since: datetime | None = None
    query = select(e.c.seq, e.c.at, e.c.action, e.c.object_type, e.c.object_id, e.c.details)
    for seq, at, action, object_type, object_id, details in conn.execute(query.order_by(e.c.seq)):
        if '"rows":' not in details:
            if action == "import" and object_type == "import_batch":
                legacy.add(object_id)
            continue
        rows = json.loads(details).get("rows")
        if isinstance(rows, dict) and {"root", "count"} <= set(rows):
            bound[str(rows.get("group", object_id))] = (seq, rows)
            since = at if since is None else since
    return bound, legacy, since


def _kept_hashes(
    conn: Connection, bound: dict[str, tuple[int, dict[str, Any]]], findings: list[Finding]
) -> tuple[dict[tuple[str, str], _Expected], int]:
    """The newest bound hash of every key, after checking each group's root."""
    h = tables.record_hashes
    expected: dict[tuple[str, str], _Expected] = {}
    seen: set[str] = set()
    matched = 0

    def close(group: str, triples: list[tuple[str, str, str]]) -> None:
        nonlocal matched
        seen.add(group)
        if group not in bound:
            findings.append(Finding("record_hashes", json.dumps([group]), "hashes of a write "
                                    "the audit trail does not know (inserted)", group))  # fmt: skip
            return
        seq, rows = bound[group]
        if group_root(triples) != {"root": rows["root"], "count": rows["count"]}:
            findings.append(Finding("record_hashes", json.dumps([group]), "the kept row hashes "
                                    "no longer give the root its audit event bound", group))  # fmt: skip
        else:
            matched += 1
        for table, key, digest in triples:
            old = expected.get((table, key))
            if old is None or seq > old.seq:
                expected[(table, key)] = _Expected(seq, digest, group)

    query = select(h.c.group_id, h.c.table_name, h.c.row_key, h.c.row_sha256).order_by(h.c.group_id)
    current: str | None = None
    triples: list[tuple[str, str, str]] = []
    for group, table, key, digest in conn.execute(query):
        if group != current:
            if current is not None:
                close(current, triples)
            current, triples = group, []
        triples.append((table, key, digest))
    if current is not None:
        close(current, triples)
    for group, (_, rows) in bound.items():
        if group not in seen and rows["count"]:
            findings.append(Finding("record_hashes", json.dumps([group]), "the kept row hashes "
                                    "of this write were deleted", group))  # fmt: skip
    return expected, matched


def _stored(
    conn: Connection, covered: Covered, *, base: bool = False
) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every row of a covered table (its values in ``covered.names`` order; with ``base`` only
    the columns before the late ones) with the batch it came with (its parent's for a child)."""
    table: Table = covered.table
    columns = [table.c[n] for n in covered.names[: covered.base if base else None]]
    if covered.parent is None:
        query = select(*columns, table.c.batch_id.label("_group"))
    else:
        parent = covered.parent
        on = and_(*[table.c[c.name] == c for c in parent.primary_key.columns])
        query = select(*columns, parent.c.batch_id.label("_group")).join(parent, on)
    # The option on the statement: on the connection it would stay for every later statement
    # (a migration's too), each then run through a server-side cursor.
    for row in conn.execute(query.execution_options(yield_per=10_000)):
        yield tuple(row[:-1]), row[-1]


def verify_rows(conn: Connection) -> tuple[RowsChecked, list[Finding], int]:
    """Re-hash every covered row; return the summary, the findings (at most ``MAX_FINDINGS``)
    and how many there were in all."""
    started = time.perf_counter()
    findings: list[Finding] = []
    bound, _, _ = _bound_groups(conn)
    expected, matched = _kept_hashes(conn, bound, findings)
    rows = baseline_rows = 0
    total = len(findings)
    for name, covered in COVERED.items():
        for values, _ in _stored(conn, covered):
            rows += 1
            key, digest = covered.leaf(values)
            kept = expected.pop((name, key), None)
            if kept is None:
                problem, owner = "added: no audited write stored this row", None
            elif kept.digest != digest:
                problem, owner = "changed since it was stored", kept.group
            else:
                baseline_rows += kept.group == BASELINE
                continue
            total += 1
            if len(findings) < MAX_FINDINGS:
                findings.append(Finding(name, key, problem, owner))
    for (name, key), kept in sorted(expected.items()):
        total += 1
        if len(findings) < MAX_FINDINGS:
            findings.append(Finding(name, key, "missing: deleted after it was stored", kept.group))
    seconds = time.perf_counter() - started
    return RowsChecked(matched, rows, baseline_rows, round(seconds, 3)), findings, total


def bind_legacy(conn: Connection, covered: Iterable[str] | None = None) -> int:
    """Bind every row stored before row hashes existed into one audited write, the baseline;
    return how many rows it bound (0 when there were none, or they are bound already).

    Those rows are the ones no audited write bound that belong to an import batch audited
    before row hashes existed, or are events and outcomes the control workflow wrote (their
    batch is an inspection order) before the first write that bound rows. Any other unbound
    row is left unbound: ``verify_rows`` names it as added. The baseline is only as good as
    the store when it is bound: verify the trail (``audit verify --full``) before upgrading.

    Runs in a migration, on the tables it names (``covered``: the covered tables that existed
    then; default every one) and the columns they had (``Covered.base``). Where
    the trail is signed, the audit key must be configured: an unsigned event in a signed trail
    would read as forged.
    """
    bound, legacy, since = _bound_groups(conn)
    if BASELINE in bound:
        return 0
    expected, _ = _kept_hashes(conn, bound, [])
    is_legacy = _legacy_rule(conn, legacy, since)
    recorder = Recorder()
    for name in COVERED if covered is None else covered:
        table = COVERED[name]
        for values, group in _stored(conn, table, base=True):
            key, digest = table.leaf(values)
            if (name, key) not in expected and is_legacy(name, values, group):
                recorder.hashes.append((name, key, digest))
    if not recorder.hashes:
        return 0
    head = conn.execute(select(tables.audit_head.c.signed_from)).scalar()
    if head is not None and conn.get_execution_options().get(AUDIT_KEY) is None:
        raise ConfigurationError(
            "this store's audit trail is signed: upgrade it with the audit key configured "
            "(QUAYWATCH_AUDIT_KEY_FILE), so that the baseline of the rows stored before row "
            "hashes is signed too; nothing was changed"
        )
    rows = recorder.bind(conn, BASELINE)
    chain.append(
        conn, actor="system", action="audit_baseline", object_type="store", object_id=BASELINE,
        details={"rows": {"group": BASELINE, **rows}, "bound": "rows stored before row hashes"},
    )  # fmt: skip
    return len(recorder.hashes)


def _legacy_rule(
    conn: Connection, legacy: set[str], since: datetime | None
) -> Callable[[str, tuple[Any, ...], Any], bool]:
    """Whether a row (of a table, with its values and group) was stored before row hashes:
    a row of an import batch audited before then, or an event or outcome the control workflow
    wrote (its group is an order) before the first write that bound rows."""
    orders = {o for (o,) in conn.execute(select(tables.inspection_orders.c.order_id))}
    received = {n: COVERED[n].names.index("received_at") for n in ("events", "control_outcomes")}

    def is_legacy(name: str, values: tuple[Any, ...], group: Any) -> bool:
        if group in legacy:
            return True
        if name not in received or group not in orders:
            return False
        return since is None or _utc(values[received[name]]) < since

    return is_legacy


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
