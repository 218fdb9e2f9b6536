"""Rows stored before row hashes existed are bound at upgrade (migration 0017), then judged like
any other row, on both stores.

The store is made as a version before 0016 left it: an import whose audit event carries no
root and whose rows have no kept hash (the trail is re-chained over the event as that version
wrote it). Upgrading binds those rows into one baseline write; afterwards a row forged with the
old batch's id is named as added, where before the baseline it passed as an old one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text, update

from quaywatch.audit import chain
from quaywatch.errors import TamperedError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.services import audit
from quaywatch.store import database, tables
from quaywatch.store.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples"
C0 = "261102-BEANR-0000000"


def _as_before_row_hashes(store: Store, batch_id: str) -> None:
    """The import ``batch_id`` as a version before row hashes wrote it."""
    e = tables.audit_events
    with store.engine.begin() as conn:
        conn.execute(
            tables.record_hashes.delete().where(tables.record_hashes.c.group_id == batch_id)
        )
        prev = chain.GENESIS
        for row in conn.execute(select(e).order_by(e.c.seq)).all():
            details = json.loads(row.details)
            if row.object_id == batch_id:
                details.pop("rows", None)
            text_ = chain._canonical(details)
            digest = chain._event_hash(
                row.seq, row.at, row.actor, row.action, row.object_type, row.object_id, text_, prev
            )
            conn.execute(
                update(e)
                .where(e.c.seq == row.seq)
                .values(details=text_, prev_hash=prev, hash=digest)
            )
            prev = digest
        conn.execute(update(tables.audit_head).values(hash=prev))


def _downgrade_to_0016(store: Store) -> None:
    config = database._alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0016")


def _baselines(store: Store) -> int:
    with store.engine.connect() as conn:
        query = select(tables.audit_events.c.seq).where(
            tables.audit_events.c.action == "audit_baseline"
        )
        return len(conn.execute(query).all())


def test_rows_from_before_row_hashes_are_bound_at_upgrade_and_judged_after(
    store_url: str,
) -> None:
    store = Store.open(store_url)
    old = ingest_file(store, EXAMPLES / "consignments.csv")
    _as_before_row_hashes(store, old.batch_id)
    with pytest.raises(TamperedError, match="added: no audited write stored this row"):
        audit.verify_audit(store, full=True)  # unbound and not yet baselined: judged as added
    _downgrade_to_0016(store)
    store.close()

    store = Store.open(store_url)  # the upgrade to 0017 binds the baseline
    try:
        ingest_file(store, EXAMPLES / "events.json")  # a newer import, bound as usual
        result = audit.verify_audit(store, full=True)
        assert result.rows is not None and result.rows.legacy_rows > old.new
        assert _baselines(store) == 1
        store.upgrade()  # nothing more to bind
        assert _baselines(store) == 1

        # A row forged with the old batch's id no longer passes as an old one.
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO goods_items SELECT consignment_id, version, 99, hs6, description, "
                    "packages, package_type, gross_mass_kg, value, currency, origin_country, "
                    f"container_number FROM goods_items WHERE consignment_id = '{C0}'"
                )
            )
        with pytest.raises(TamperedError, match=rf'goods_items \["{C0}",1,99\]: added'):
            audit.verify_audit(store, full=True)
    finally:
        store.close()


def test_a_new_store_has_no_baseline(store: Store) -> None:
    ingest_file(store, EXAMPLES / "consignments.csv")
    result = audit.verify_audit(store, full=True)
    assert result.rows is not None and result.rows.legacy_rows == 0
    assert _baselines(store) == 0
