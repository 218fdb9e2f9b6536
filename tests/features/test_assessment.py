"""The model input: declared features plus entity histories, as of each lodging time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from quaywatch.features import assessment, declared

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def _consignments(n: int) -> pl.DataFrame:
    """``n`` consignments of one consignee, one a day, with declared features filled in."""
    rows = []
    for i in range(n):
        row: dict[str, object] = dict.fromkeys(declared.FEATURES, 0.0)
        row |= dict.fromkeys(declared.CATEGORICAL, "x")
        row |= {"reefer": False, "consignee_aeo": False, "consignor_aeo": False,
                "declarant_aeo": False, "origin_differs_from_loading": False}  # fmt: skip
        row |= {"consignment_id": f"C{i}", "version": 1, "lodged_at": T0 + timedelta(days=i),
                "consignee_key": "K", "consignor_key": "S", "declarant_key": "D",
                "carrier_scac": "MAEU"}  # fmt: skip
        rows.append(row)
    return pl.DataFrame(rows)


def _outcomes(known: list[tuple[str, datetime, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "consignment_id": [c for c, _, _ in known],
            "version": [1] * len(known),
            "known_at": [k for _, k, _ in known],
            "result": [r for _, _, r in known],
            "revenue_recovered_eur": [0.0] * len(known),
        },
        schema_overrides={
            "consignment_id": pl.String,
            "version": pl.Int64,
            "known_at": pl.Datetime("us", "UTC"),
            "result": pl.String,
            "revenue_recovered_eur": pl.Float64,
        },
    )


def test_columns_and_order_are_fixed() -> None:
    consignments = _consignments(3)
    inputs = assessment.model_inputs(
        consignments, consignments=consignments, outcomes=_outcomes([])
    )
    assert inputs.columns == [*declared.KEY, *assessment.COLUMNS]
    assert inputs["consignment_id"].to_list() == ["C0", "C1", "C2"]


def test_an_outcome_counts_only_for_consignments_lodged_after_it_was_known() -> None:
    consignments = _consignments(5)
    seizure = [("C0", T0 + timedelta(days=2, hours=12), "SEIZURE")]
    inputs = assessment.model_inputs(
        consignments, consignments=consignments, outcomes=_outcomes(seizure)
    )
    controls = inputs["consignee_controls"].to_list()
    assert controls == [0.0, 0.0, 0.0, 1.0, 1.0]  # known during day 2: from C3 on
    rate = inputs["consignee_hit_rate"].to_list()
    assert rate[3] > rate[2]
    later = seizure + [("C1", T0 + timedelta(days=30), "SEIZURE")]
    again = assessment.model_inputs(
        consignments, consignments=consignments, outcomes=_outcomes(later)
    )
    assert again.equals(inputs)  # an outcome known after every lodging changes nothing


def _goods(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Goods-item rows shaped like ``store.reads.goods_item_rows`` (the columns features read)."""
    base: dict[str, object] = {
        "consignment_id": "C1", "version": 1, "lodged_at": T0, "eta": T0 + timedelta(days=20),
        "carrier_scac": "MAEU", "port_of_loading": "ECGYE", "transshipment_ports": None,
        "port_of_discharge": "BEANR", "consignee_key": "k1", "consignor_key": "k2",
        "declarant_key": "k3", "consignee_aeo": "NONE", "consignor_aeo": "NONE",
        "declarant_aeo": "NONE", "sequence": 1, "hs6": "080390", "gross_mass_kg": 1000.0,
        "value": 750.0, "currency": "EUR", "origin_country": "EC",
        "container_number": "MSKU1234565", "container_size_type": "45R1",
    }  # fmt: skip
    return pl.DataFrame([base | row for row in rows])


def test_known_consignments_are_the_entity_keys_of_history_and_batch_once_each() -> None:
    """The batch's own figures stand in for its rows of the history: same frame, row for row."""
    history = _goods([
        {"consignment_id": "C1"},
        # Two items: the dearer one is the main goods (its HS6 and origin).
        {"consignment_id": "C2", "hs6": "610910", "value": 10.0, "origin_country": "CN"},
        {"consignment_id": "C2", "sequence": 2, "hs6": "030487", "value": 90.0},
        {"consignment_id": "C2", "version": 2, "consignee_key": "k9"},  # another version
        {"consignment_id": "C3", "lodged_at": T0 + timedelta(days=3), "port_of_loading": "CNSHA"},
        {"consignment_id": "C4", "consignee_key": None, "currency": "XXX"},
    ])  # fmt: skip
    batch_items = pl.concat([
        history.filter(pl.col("consignment_id").is_in(["C2", "C4"]), pl.col("version") == 1),
        _goods([{"consignment_id": "C5", "declarant_key": "k7"}]),  # not in the history yet
    ])  # fmt: skip
    batch = declared.consignment_features(
        declared.item_features(batch_items), declared.ValueReference()
    )
    known = assessment.known_consignments(batch, history)
    expected = pl.concat([
        declared.entity_keys(history),
        declared.entity_keys(batch_items.filter(pl.col("consignment_id") == "C5")),
    ])  # fmt: skip
    assert known.columns == expected.columns
    assert known.sort(declared.KEY).equals(expected.sort(declared.KEY))
    assert known.filter(consignment_id="C2", version=1)["main_hs6"].to_list() == ["030487"]


def test_rows_of_the_batch_are_found_exactly_whichever_way() -> None:
    history = _goods([{"consignment_id": c, "version": v} for c, v in
                      [("C1", 1), ("C1", 2), ("C2", 1), ("C3", 1), ("C1", 2)]])  # fmt: skip
    keys = pl.DataFrame({"consignment_id": ["C1", "C3", "C9"], "version": [2, 1, 1]})
    want = [False, True, False, True, True]
    assert assessment._in_batch(history, keys).to_list() == want
    # A key twice shares its hash with itself: the plain join's path, same answer.
    assert assessment._in_batch(history, pl.concat([keys, keys])).to_list() == want
