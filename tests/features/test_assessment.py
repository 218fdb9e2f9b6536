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
