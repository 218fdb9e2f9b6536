"""Backtests on a history loaded after the fact: ``--known-at created`` against the default.

A generated port day (September 2026, with cocaine boxes whose seals change at the hub) is
imported today, long after its events were created. Imported with the default, its events are
known from today: an assessment as of a September moment sees none of them (leak-free). Imported
with ``known_at=created``, each event is known from its own creation time: an assessment as of
a moment after it sees it, one as of a moment before does not. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.domain.vocabulary import KnownAt
from quaywatch.risk import anomaly
from quaywatch.risk.anomaly import frames, reads as anomaly_reads
from quaywatch.services.intake import ingest_files
from quaywatch.store import tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.patterns import PatternRates


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    """One September day of 200 consignments with their container events, 15 % cocaine."""
    return traffic.generate(
        tmp_path_factory.mktemp("backtest"), days=1, per_day=200, seed=5,
        start=date(2026, 9, 1), rates=PatternRates(cocaine=0.15, displacement_week=None),
        legacy_controls=False,
    )  # fmt: skip


def _event_hits(store: Store, moment: datetime) -> pl.DataFrame:
    """The anomaly hits that need container events (a rare route needs none), as of a moment."""
    found = anomaly.detect_store(store, None, now=moment)
    return found.filter(pl.col("code") != "anomaly:rare_route")


def _import_audit(store: Store) -> list[dict[str, object]]:
    a = tables.audit_events
    with store.reading() as conn:
        rows = conn.execute(select(a.c.details).where(a.c.action == "import").order_by(a.c.seq))
        return [json.loads(r) if isinstance(r, str) else r for (r,) in rows]


@pytest.mark.parametrize("known_at", list(KnownAt))
def test_an_assessment_as_of_a_past_moment_sees_what_the_import_chose(
    store: Store, history: traffic.Traffic, known_at: KnownAt
) -> None:
    ingest_files(store, history.consignment_files, actor="backtest")
    ingest_files(store, history.event_files, actor="backtest", known_at=known_at)
    events = anomaly_reads.events(store)
    created = events.get_column("created_time")
    assert events.height > 0 and created.max() < tables.utcnow() - timedelta(days=30)
    after, before = created.max() + timedelta(days=1), created.min() - timedelta(seconds=1)
    middle = created.min() + (created.max() - created.min()) / 2

    assert frames.known(events, before).is_empty()
    assert _event_hits(store, before).is_empty()
    if known_at is KnownAt.CREATED:
        assert events["known_at"].equals(created.alias("known_at"))
        assert frames.known(events, after).height == events.height
        middle_count = events.filter(pl.col("created_time") <= middle).height
        assert 0 < frames.known(events, middle).height == middle_count < events.height
        hits = _event_hits(store, after)
        assert {"anomaly:seal_changed"} <= set(hits["code"])
    else:  # the default: known from the import, so a September assessment sees nothing
        assert (events["known_at"] == events["received_at"]).all()
        assert frames.known(events, after).is_empty()
        assert _event_hits(store, after).is_empty()
        assert not _event_hits(store, tables.utcnow()).is_empty()  # from now on, they count
    assert (events["received_at"] > after).all()  # the audit of arrival stays truthful
    assert _import_audit(store)[-1]["known_at"] == known_at.value
    assert "known_at" not in _import_audit(store)[0]  # a consignment file: its lodging decides


def test_importing_again_changes_nothing_whatever_the_choice(
    store: Store, history: traffic.Traffic
) -> None:
    """The choice is made when an event is first stored; the same file again is unchanged."""
    ingest_files(store, history.consignment_files, actor="backtest")
    first = ingest_files(store, history.event_files, actor="backtest", known_at=KnownAt.CREATED)
    stored = anomaly_reads.events(store).sort("event_id")
    for choice in KnownAt:
        again = ingest_files(store, history.event_files, actor="backtest", known_at=choice)
        assert [(s.new, s.unchanged) for s in again] == [(0, s.read - s.quarantined) for s in first]
        assert [s.known_at for s in again] == [choice] * len(again)
        assert anomaly_reads.events(store).sort("event_id").equals(stored)


def test_the_cli_takes_the_choice_and_says_what_it_means(
    history: traffic.Traffic, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    runner = CliRunner()
    files = [str(p) for p in (*history.consignment_files, *history.event_files)]
    done = runner.invoke(app, ["--database", url, "ingest", *files, "--known-at", "created"])
    assert done.exit_code == 0, done.output
    assert "count as known from their creation time" in " ".join(done.output.split())
    store = Store.open(url)
    try:
        assert [d.get("known_at") for d in _import_audit(store)] == [None] * len(
            history.consignment_files
        ) + ["created"] * len(history.event_files)
    finally:
        store.close()
    wrong = runner.invoke(app, ["--database", url, "ingest", files[-1], "--known-at", "later"])
    assert wrong.exit_code == 2 and "received" in wrong.output and "created" in wrong.output
