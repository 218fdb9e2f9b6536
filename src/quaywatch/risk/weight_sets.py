"""Fitted hit weight sets in the store: which one scoring applies, and what each holds.

``quaywatch weights fit`` (``services.hit_weights``) stores a numbered set of per-code weights
fitted on the site's own outcomes (``learning.hit_weights``) and usually makes it the active
one; at most one set is active (a unique column holds 1 for it). Every scoring run applies the
active set (``active``) and records its number on each assessment (``assessments.weight_set``),
so an assessment can be reproduced with the weights it used.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Connection, select

from quaywatch.risk.combine import HitWeights
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

_S, _W = tables.hit_weight_sets, tables.hit_weights


def active_version(conn: Connection) -> int | None:
    """The number of the active set, or None when scoring uses the shipped weights."""
    found = conn.execute(select(_S.c.version).where(_S.c.active == 1)).scalar_one_or_none()
    return None if found is None else int(found)


def active(store: Store) -> HitWeights | None:
    """The active set as scoring applies it, or None (shipped weights)."""
    with store.reading() as conn:
        version = active_version(conn)
        if version is None:
            return None
        rows = conn.execute(
            select(_W.c.code, _W.c.fitted_weight, _W.c.shipped_weight, _W.c.share)
            .where(_W.c.weight_set == version)
            .order_by(_W.c.code)
        ).all()
    return HitWeights(
        version,
        {r.code: float(r.fitted_weight) for r in rows},
        {r.code: float(r.shipped_weight) for r in rows},
        {r.code: float(r.share) for r in rows},
    )


def latest_version(conn: Connection) -> int | None:
    """The highest set number stored, or None."""
    found = conn.execute(select(_S.c.version).order_by(_S.c.version.desc()).limit(1)).scalar()
    return None if found is None else int(found)


def read_set(store: Store, version: int) -> tuple[dict[str, Any], pl.DataFrame] | None:
    """Set ``version``'s record and its per-code rows (most frequent code first), or None."""
    with store.reading() as conn:
        row = conn.execute(select(_S).where(_S.c.version == version)).mappings().one_or_none()
    if row is None:
        return None
    rows = reads.frame(
        store, select(_W).where(_W.c.weight_set == version).order_by(_W.c.fired.desc(), _W.c.code)
    )
    return dict(row), rows
