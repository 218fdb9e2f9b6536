"""The Arrow batch function gives the assessments the store's scoring path gives, row for row.

One module-scoped small generated port (``lake_store.small_world``) with a trained model; the
last days are assessed three ways: from the store's kept entity state, from the whole history,
and by ``risk.batch.assess_batch`` on Arrow with a state snapshot computed from the history.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import select

from lake_store import NOW, PERIOD_START, small_world
from quaywatch.intake.entity_state import states_from_history
from quaywatch.risk import batch, engine
from quaywatch.risk.bundle import RiskModel
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, RiskModel]]:
    store, models = small_world(tmp_path_factory.mktemp("batch"))
    yield store, RiskModel.load(models)
    store.close()


def test_the_batch_function_assesses_as_the_store_path(world: tuple[Store, RiskModel]) -> None:
    store, model = world
    outcomes = reads.control_outcomes(store, known_before=NOW)
    period = reads.goods_item_rows(store, lodged_from=PERIOD_START)
    every = engine.Explain.ALL
    from_state = engine.assess(period, history=None, state=(store, NOW), outcomes=outcomes,
                               model=model, explain_rows=every)  # fmt: skip
    from_history = engine.assess(period, history=reads.goods_item_rows(store),
                                 outcomes=outcomes, model=model, explain_rows=every)  # fmt: skip
    assert_frame_equal(from_state, from_history)
    snapshot = states_from_history(reads.goods_item_rows(store), outcomes)
    found = batch.assess_batch(period.to_arrow(), states=snapshot.to_arrow(), model=model,
                               known_before=NOW, explain_rows=every)  # fmt: skip
    assert found.schema == batch.ASSESSMENT_SCHEMA
    got = pl.from_arrow(found)
    assert isinstance(got, pl.DataFrame)
    assert_frame_equal(got, from_state, check_dtypes=False)
    assert got.height == period.select("consignment_id").n_unique() > 100
    assert got.get_column("explained").all()


def test_a_snapshot_of_the_kept_state_gives_the_same(world: tuple[Store, RiskModel]) -> None:
    store, model = world
    outcomes = reads.control_outcomes(store, known_before=NOW)
    period = reads.goods_item_rows(store, lodged_from=PERIOD_START)
    kept = reads.frame(store, select(*tables.entity_states.columns))
    computed = states_from_history(reads.goods_item_rows(store), outcomes)
    # The kept state may carry rows an amendment or a late outcome left equal; the counts at
    # every moment agree, so the assessments do.
    one = batch.assess_batch(period.to_arrow(), states=kept, model=model)
    two = batch.assess_batch(period.to_arrow(), states=computed, model=model)
    assert one.equals(two)
    # A consignment is assessed from its own items, whatever else is in the batch.
    first = period.filter(pl.col("consignment_id") == period.item(0, "consignment_id"))
    alone = batch.assess_batch(first.to_arrow(), states=computed, model=model)
    assert alone.to_pylist() == two.slice(0, 1).to_pylist()


def test_an_empty_batch_and_a_missing_column() -> None:
    model_free = pa.table({"consignment_id": pa.array([], pa.string())})
    with pytest.raises(ValueError, match="lacks column"):
        batch.assess_batch(model_free, states=pl.DataFrame(), model=None)  # type: ignore[arg-type]
    empty = pl.DataFrame(schema=batch.ITEM_SCHEMA).to_arrow()
    found = batch.assess_batch(empty, states=pl.DataFrame(schema=batch.STATE_SCHEMA), model=None)  # type: ignore[arg-type]
    assert found.num_rows == 0 and found.schema == batch.ASSESSMENT_SCHEMA
