"""Use case of a service's readiness: can it answer requests right now?

Ready means: the store answers, its schema has every migration this quaywatch ships, and a
current risk model is loaded (without one, consignments are stored but not assessed).
"""

from __future__ import annotations

from dataclasses import dataclass

from quaywatch.errors import InputError, QuaywatchError
from quaywatch.services import schema
from quaywatch.store.store import Store


@dataclass(frozen=True, slots=True)
class Check:
    """One readiness check: passed or not, and what was seen."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Readiness:
    """Every check; ``ready`` when all passed."""

    ready: bool
    checks: tuple[Check, ...]


def readiness(
    store: Store, *, model_version: str | None, model_problem: str | None = None
) -> Readiness:
    """Check the store, its schema and the model (``model_version`` of the one loaded, or
    ``model_problem``: why the current one cannot be loaded)."""
    checks = []
    try:
        found = schema.status(store)
    except QuaywatchError as exc:
        checks.append(Check("store", False, exc.message))
        checks.append(Check("migrations", False, "unknown: the store does not answer"))
    else:
        checks.append(Check("store", True, f"{store.dialect} answers"))
        checks.append(
            Check(
                "migrations",
                found.current,
                f"database at {found.database_revision or 'no schema'}, "
                f"code at {found.code_revision}",
            )  # fmt: skip
        )
    if model_version is not None:
        checks.append(Check("model", True, f"model {model_version}"))
    else:
        checks.append(Check("model", False, model_problem or "no current model: train one"))
    return Readiness(all(c.ok for c in checks), tuple(checks))


def check_serving(dialect: str, workers: int) -> None:
    """Refuse a service set-up that cannot hold: several worker processes on SQLite.

    SQLite has one writer; within one process quaywatch queues the writers
    (``Store.transaction``), across processes they would fail on its lock under load. Several
    workers need PostgreSQL.
    """
    if workers < 1:
        raise InputError(f"workers must be 1 or more, got {workers}")
    if dialect == "sqlite" and workers > 1:
        raise InputError(
            f"{workers} workers on SQLite: SQLite has a single writer, so a SQLite store is "
            "served by one worker; use PostgreSQL for several"
        )
