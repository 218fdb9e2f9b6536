"""The entity state kept as data arrives gives exactly the features recomputed from history.

Generated traffic is imported as it would arrive, with amendments (new versions that change the
lodging time and the consignee, some of consignments already controlled) and outcome files
imported late, after consignments lodged later than they became known; then, at several
assessment times, the features read from the state must equal ``as_of_history``'s over the
whole stored history, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import select

from amendments import amendments, controlled
from quaywatch.features import batch_state, declared
from quaywatch.features.assessment import ENTITIES, HISTORY_KINDS, outcome_keys
from quaywatch.features.batch_state import batch_states, snapshot_features
from quaywatch.features.entity_state import entity_features
from quaywatch.features.history import FEATURE_KINDS, as_of_history
from quaywatch.intake import entity_state, pipeline
from quaywatch.intake.pipeline import ingest_file
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates


@pytest.fixture
def arrived(store: Store, tmp_path: Path) -> Store:
    made = traffic.generate(
        tmp_path / "traffic", days=24, per_day=30, seed=5, start=date(2026, 10, 1),
        with_events=False, control_rates=ControlRates(random_share=0.2, rule_share=0.2),
    )  # fmt: skip
    outcome_files = sorted((made.out / "outcomes").glob("*.csv"))
    named = controlled(outcome_files)
    files = made.consignment_files
    for path in files[:12]:
        ingest_file(store, path)
    # Half of the outcomes now, the rest after later consignments: late outcomes.
    for path in outcome_files[::2]:
        ingest_file(store, path)
    for path in files[12:]:
        ingest_file(store, path)
    ingest_file(store, amendments(files[0], named, tmp_path))
    for path in outcome_files[1::2]:
        ingest_file(store, path)
    return store


def _expected(
    store: Store,
    rows: pl.DataFrame,
    known_before: datetime | None,
    kinds: tuple[str, ...] = FEATURE_KINDS,
) -> pl.DataFrame:
    known = declared.entity_keys(reads.goods_item_rows(store))
    outcomes = reads.control_outcomes(store, known_before=known_before)
    return as_of_history(
        rows, history=known, outcomes=outcome_keys(known, outcomes), entities=ENTITIES,
        at="lodged_at", seen_at="lodged_at", known_at="known_at", kinds=kinds,
    )  # fmt: skip


def _assessed(store: Store) -> pl.DataFrame:
    """Every stored consignment at its lodging time, and a sample at fixed times besides."""
    known = declared.entity_keys(reads.goods_item_rows(store))
    assert known.get_column("version").max() == 2  # the amendments are there
    times = [datetime(2026, 10, d, h, tzinfo=UTC) for d, h in ((1, 0), (9, 12), (18, 6), (31, 0))]
    sample = known.head(150)
    return pl.concat([known, *(sample.with_columns(pl.lit(t).alias("lodged_at")) for t in times)])


def test_state_features_equal_history(arrived: Store) -> None:
    rows = _assessed(arrived)
    for known_before in (None, datetime(2026, 10, 20, tzinfo=UTC)):
        with arrived.reading() as conn:
            found = entity_features(conn, rows, entities=ENTITIES, known_before=known_before)
        expected = _expected(arrived, rows, known_before)
        assert_frame_equal(found, expected)
        assert found.get_column("origin_controls").sum() > 0
        assert found.get_column("origin_hit_rate").n_unique() > 1
        assert found.get_column("consignee_records").sum() > 0


def _state(store: Store) -> list[tuple[object, ...]]:
    s = tables.entity_states
    with store.reading() as conn:
        return list(conn.execute(select(s).order_by(s.c.entity, s.c.entity_key, s.c.at)).all())


def _tallies(store: Store) -> list[tuple[object, ...]]:
    t = tables.entity_tallies
    with store.reading() as conn:
        return list(conn.execute(select(t).order_by(t.c.entity, t.c.entity_key, t.c.at)).all())


def _tally_table(store: Store) -> pl.DataFrame:
    return pl.DataFrame(_tallies(store), schema=entity_state.TALLY_SCHEMA, orient="row")


def test_rebuild_gives_the_kept_state(arrived: Store) -> None:
    kept, tallied = _state(arrived), _tallies(arrived)
    with arrived.transaction() as conn:
        entity_state.rebuild(arrived, conn)
    assert _state(arrived) == kept and kept
    assert _tallies(arrived) == tallied and tallied


def test_the_kept_tallies_are_the_states_without_record_only_rows(arrived: Store) -> None:
    """Kept as data arrived (amendments, late outcomes), the tallies are what ``tallies``
    makes of the kept state: a row where sighted, controls or hits changed, and only there."""
    table = _table(arrived)
    kept = _tally_table(arrived)
    assert_frame_equal(kept, entity_state.tallies(table))
    assert_frame_equal(kept, entity_state.tallies(table.sample(fraction=1.0, shuffle=True, seed=1)))
    assert 0 < kept.height < table.height / 2
    # Every key keeps its first sighting, and the controls and hits of its last state row.
    last = table.group_by("entity", "entity_key").agg(
        pl.col("controls", "hits").sort_by("at").last()
    )
    tallied = kept.group_by("entity", "entity_key").agg(
        pl.col("controls", "hits").sort_by("at").last()
    )
    assert_frame_equal(last, tallied, check_row_order=False)
    first = (
        table.filter(pl.col("records") > 0).group_by("entity", "entity_key").agg(pl.col("at").min())
    )
    sighted = kept.filter("sighted").group_by("entity", "entity_key").agg(pl.col("at").min())
    assert_frame_equal(first, sighted, check_row_order=False)


def test_imports_again_and_rolled_back_leave_the_state(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = traffic.generate(
        tmp_path / "traffic", days=2, per_day=30, seed=8, with_events=False,
        control_rates=ControlRates(random_share=0.3, rule_share=0.2),
    )  # fmt: skip
    outcome_files = sorted((made.out / "outcomes").glob("*.csv"))
    ingest_file(store, made.consignment_files[0])
    ingest_file(store, outcome_files[0])
    before, tallied = _state(store), _tallies(store)
    assert before and tallied
    ingest_file(store, made.consignment_files[0])
    ingest_file(store, outcome_files[0])
    assert _state(store) == before
    assert _tallies(store) == tallied

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("cut off")

    monkeypatch.setattr(pipeline.Importer, "finish", fail)
    with pytest.raises(RuntimeError, match="cut off"):
        ingest_file(store, made.consignment_files[1])
    assert _state(store) == before
    assert _tallies(store) == tallied


def test_the_migration_computes_the_state_of_an_existing_store(arrived: Store) -> None:
    from alembic import command

    from quaywatch.store import database

    kept, tallied = _state(arrived), _tallies(arrived)
    config = database._alembic_config()
    with arrived.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
    arrived.upgrade()
    assert _state(arrived) == kept and kept
    assert _tallies(arrived) == tallied and tallied


def test_the_migration_to_0026_tallies_the_stored_state(arrived: Store) -> None:
    """0026 fills ``entity_tallies`` from the stored state in SQL (window functions): the
    rows keeping it as data arrived gives, on SQLite and PostgreSQL."""
    from alembic import command

    from quaywatch.store import database

    kept, tallied = _state(arrived), _tallies(arrived)
    config = database._alembic_config()
    with arrived.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0025")
    arrived.upgrade()
    assert database.current_revision(arrived.engine) == database.head_revision()
    assert _state(arrived) == kept
    assert _tallies(arrived) == tallied and tallied


def test_assessment_frame_from_state_is_the_assessment_frame(arrived: Store) -> None:
    from quaywatch.features.assessment import assessment_frame, assessment_frame_from_state

    history = reads.goods_item_rows(arrived)
    reference = declared.ValueReference.fit(declared.item_features(history))
    ids = history.get_column("consignment_id").unique().sort().to_list()[::40]
    items = reads.goods_item_rows(arrived, consignment_ids=ids)
    now = datetime(2026, 10, 22, tzinfo=UTC)
    expected = assessment_frame(
        items, history=history, outcomes=reads.control_outcomes(arrived, known_before=now),
        reference=reference,
    )  # fmt: skip
    with arrived.reading() as conn:
        found = assessment_frame_from_state(items, conn=conn, reference=reference, known_before=now)
    assert items.height and found.height == len(ids)
    assert_frame_equal(found, expected)


def _table(store: Store) -> pl.DataFrame:
    """The kept state, as a frame in the table's layout."""
    return pl.DataFrame(_state(store), schema=entity_state.STATE_SCHEMA, orient="row")


@pytest.mark.parametrize("unsorted_up_to", [batch_state._SEARCH_UNSORTED_MAX, 0])
def test_batch_features_from_a_snapshot_equal_history(
    arrived: Store, unsorted_up_to: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch path (``features.batch_state``) on the whole state, in the table's order or
    any other, or on its tallies, gives ``as_of_history``'s features: amendments and late
    outcomes included; its lookups search the needles as they come or sorted (the way of
    lines too long for the caches), alike."""
    monkeypatch.setattr(batch_state, "_SEARCH_UNSORTED_MAX", unsorted_up_to)
    rows = _assessed(arrived)
    table = _table(arrived)
    shuffled = table.sample(fraction=1.0, shuffle=True, seed=3)
    tallied = _tally_table(arrived)
    for states, kinds in (
        (table, FEATURE_KINDS), (shuffled, HISTORY_KINDS), (tallied, HISTORY_KINDS),
        (tallied.sample(fraction=1.0, shuffle=True, seed=4), HISTORY_KINDS),
    ):  # fmt: skip
        for known_before in (None, datetime(2026, 10, 20, tzinfo=UTC)):
            found = snapshot_features(
                states, rows, entities=ENTITIES, known_before=known_before, kinds=kinds
            )
            assert_frame_equal(found, _expected(arrived, rows, known_before, kinds))
            assert found.get_column("origin_controls").sum() > 0
            assert found.get_column("consignee_days_since_first").is_null().sum() > 0


def test_keys_never_seen_have_no_track_record_from_an_empty_state(arrived: Store) -> None:
    """A batch none of whose keys has a kept row (a store's first consignments): the features
    of a history that knows nothing, from either layout."""
    rows = _assessed(arrived).head(40)
    known = declared.entity_keys(reads.goods_item_rows(arrived)).clear()
    expected = as_of_history(
        rows, history=known, outcomes=outcome_keys(known, reads.control_outcomes(arrived).clear()),
        entities=ENTITIES, at="lodged_at", seen_at="lodged_at", known_at="known_at",
        kinds=HISTORY_KINDS,
    )  # fmt: skip
    for states in (_table(arrived).clear(), _tally_table(arrived).clear()):
        found = snapshot_features(states, rows, entities=ENTITIES, kinds=HISTORY_KINDS)
        assert_frame_equal(found, expected)
        assert found.get_column("consignee_days_since_first").is_null().all()


def test_batch_read_of_the_state_gives_the_features(arrived: Store) -> None:
    """``batch_states`` reads only the rows the batch needs, and they give the same features:
    a span of a week (amended consignments among them), outcomes known up to two moments."""
    known = declared.entity_keys(reads.goods_item_rows(arrived))
    rows = known.filter(
        pl.col("lodged_at").is_between(datetime(2026, 10, 3, tzinfo=UTC),
                                       datetime(2026, 10, 10, tzinfo=UTC))
    )  # fmt: skip
    assert rows.get_column("version").max() == 2
    for known_before in (None, datetime(2026, 10, 2, tzinfo=UTC)):
        for kinds, whole in ((FEATURE_KINDS, _table), (HISTORY_KINDS, _tally_table)):
            with arrived.reading() as conn:
                states = batch_states(
                    conn, rows, entities=ENTITIES, known_before=known_before, kinds=kinds
                )
            found = snapshot_features(
                states, rows, entities=ENTITIES, known_before=known_before, kinds=kinds
            )
            assert_frame_equal(found, _expected(arrived, rows, known_before, kinds))
            assert 0 < states.height < whole(arrived).height
            assert ("sighted" in states.columns) == (kinds == HISTORY_KINDS)


def test_kept_state_batch_frame_is_the_assessment_frame(arrived: Store) -> None:
    """What a scoring run over a period assesses from (``risk.engine.score_store``)."""
    from quaywatch.features.assessment import assessment_frame, assessment_frame_from_kept_state

    history = reads.goods_item_rows(arrived)
    reference = declared.ValueReference.fit(declared.item_features(history))
    items = reads.goods_item_rows(arrived, lodged_from=datetime(2026, 10, 12, tzinfo=UTC))
    now = datetime(2026, 10, 22, tzinfo=UTC)
    expected = assessment_frame(
        items, history=history, outcomes=reads.control_outcomes(arrived, known_before=now),
        reference=reference,
    )  # fmt: skip
    with arrived.reading() as conn:
        found = assessment_frame_from_kept_state(
            items, conn=conn, reference=reference, known_before=now
        )
    assert found.height > 100
    assert_frame_equal(found, expected)
