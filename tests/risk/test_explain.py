"""Reasons: templates, top-k selection, rows, categorical labels, merge, JSON, a real model."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections import defaultdict
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from quaywatch.errors import InputError, ModelError
from quaywatch.features.history import FEATURE_KINDS
from quaywatch.risk.explain import (
    Reason,
    Source,
    from_json,
    merge,
    model_reasons,
    to_json,
    top_contributions,
)
from quaywatch.risk.model import FraudModel
from quaywatch.risk.reasons import TEMPLATES, Cells, Templates, entity_label

NAN = float("nan")

# fmt: off
TEXTS = [
    ("consignee_days_since_first", {"consignee_days_since_first": 3.7}, "consignee first seen 3 days ago"),
    ("consignee_days_since_first", {"consignee_days_since_first": 1.0}, "consignee first seen 1 day ago"),
    ("consignee_days_since_first", {"consignee_days_since_first": 0.2}, "consignee first seen less than a day ago"),
    ("consignee_days_since_first", {"consignee_days_since_first": None}, "consignee never seen before"),
    ("consignee_days_since_first", {"consignee_days_since_first": NAN}, "consignee never seen before"),
    ("consignor_days_since_first", {"consignor_days_since_first": 1100.0}, "consignor first seen 3 years ago"),
    ("hs6_origin_records", {"hs6_origin_records": 0.0}, "HS6 × origin never seen before"),
    ("consignee_records", {"consignee_records": 2.0}, "consignee seen twice before"),
    ("consignee_records", {"consignee_records": 1500.0}, "consignee seen 1,500 times before"),
    ("carrier_controls", {"carrier_controls": 0.0}, "carrier never controlled before"),
    ("carrier_controls", {"carrier_controls": 1.0}, "carrier controlled once"),
    ("consignee_hits", {"consignee_hits": 4.0, "consignee_controls": 6.0}, "consignee's controls found fraud 4 times in 6"),
    ("consignee_hits", {"consignee_hits": 0.0, "consignee_controls": 6.0}, "consignee's controls found no fraud in 6"),
    ("consignee_hits", {"consignee_hits": 1.0}, "consignee's controls found fraud once"),
    ("consignee_hit_rate", {"consignee_hit_rate": 0.41, "consignee_hits": 4.0, "consignee_controls": 6.0}, "consignee's controls found fraud 4 times in 6"),
    ("consignee_hit_rate", {"consignee_hit_rate": 0.08, "consignee_hits": 0.0, "consignee_controls": 0.0}, "consignee never controlled; the hit rate of all controls (8 %) applies"),
    ("hs6_origin_hit_rate", {"hs6_origin_hit_rate": 0.35}, "controls of this HS6 × origin hit rate 35 %"),
    ("hs6_origin_hits", {"hs6_origin_hits": 2.0, "hs6_origin_controls": 9.0}, "controls of this HS6 × origin found fraud twice in 9"),
    ("consignee_revenue_per_control", {"consignee_revenue_per_control": 1234.4}, "consignee's controls recovered €1,234 per control"),
    ("value_z", {"value_z": -3.1, "value_ratio": 0.125, "value_hs6": "080390"}, "value per kg 8× below the HS 0803.90 median"),
    ("value_z", {"value_z": 2.0, "value_ratio": 2.5, "value_hs6": "847130"}, "value per kg 2.5× above the HS 8471.30 median"),
    ("value_z", {"value_z": -4.0, "value_ratio": 0.04, "value_hs6": "080390"}, "value per kg 25× below the HS 0803.90 median"),
    ("value_z", {"value_z": -2.345, "value_ratio": None, "value_hs6": None}, "value per kg 2.3 robust deviations below the HS6 median"),
    ("value_z", {"value_z": None, "value_ratio": None, "value_hs6": "080390"}, "value per kg unknown against the HS 0803.90 median"),
    ("value_ratio", {"value_ratio": 0.0, "value_hs6": "080390"}, "declared value is zero"),
    ("value_ratio", {"value_ratio": 0.95, "value_hs6": "080390"}, "value per kg close to the HS 0803.90 median"),
    ("value_ratio", {"value_ratio": 1.1, "value_hs6": "080390"}, "value per kg 1.1× above the HS 0803.90 median"),
    ("main_hs6", {"main_hs6": "080390"}, "main goods HS 0803.90"),
    ("duty_exposure_eur", {"duty_exposure_eur": 12400.4}, "€12,400 of duty at stake"),
    ("duty_exposure_eur", {"duty_exposure_eur": None}, "duty at stake unknown"),
    ("duty_exposure_eur", {"duty_exposure_eur": np.float32("nan")}, "duty at stake unknown"),
    ("value_z_max", {"value_z_max": 3.1, "value_ratio_max": 2.2, "value_hs6_max": "520942"}, "value per kg 2.2× above the HS 5209.42 median"),
    ("value_ratio_max", {"value_ratio_max": None, "value_z_max": 2.5, "value_hs6_max": "520942"}, "value per kg 2.5 robust deviations above the HS 5209.42 median"),
    ("box_mismatch", {"box_mismatch": 0.97, "box_hs6": "030487"}, "HS 0304.87 travels in a reefer 97% of the time; declared in a dry box"),
    ("box_mismatch", {"box_mismatch": -0.9, "box_hs6": "610910"}, "HS 6109.10 travels dry 90% of the time; declared in a reefer"),
    ("box_mismatch", {"box_mismatch": None, "box_hs6": None}, "usual container type of HS6 unknown"),
    ("box_mismatch", {"box_mismatch": 0.0, "box_hs6": "610910"}, "HS 6109.10 in its usual container type"),
    ("box_mismatch", {"box_mismatch": -0.2, "box_hs6": "030487"}, "HS 0304.87 in its usual container type"),
    ("max_duty_pct", {"max_duty_pct": 12.0}, "duty rate up to 12 %"),
    ("max_duty_pct", {"max_duty_pct": 3.7}, "duty rate up to 3.7 %"),
    ("transshipments", {"transshipments": 2, "hubs": "PAONX|MAPTM"}, "transshipped twice (via PAONX, MAPTM)"),
    ("transshipments", {"transshipments": 1}, "transshipped once"),
    ("transshipments", {"transshipments": 0, "hubs": ""}, "direct route, no transshipment"),
    ("hubs", {"hubs": "PAONX|MAPTM"}, "routed via PAONX, MAPTM"),
    ("hubs", {"hubs": None}, "direct route, no transshipment hub"),
    ("origin_region", {"origin_region": "South America"}, "origin in South America"),
    ("reefer", {"reefer": True}, "reefer container"),
    ("reefer", {"reefer": False}, "not a reefer container"),
    ("consignee_aeo", {"consignee_aeo": False}, "consignee is not an AEO"),
    ("consignor_aeo", {"consignor_aeo": True}, "consignor is an AEO"),
    ("lodged_hours_before_eta", {"lodged_hours_before_eta": 6.4}, "lodged 6 hours before arrival"),
    ("lodged_hours_before_eta", {"lodged_hours_before_eta": 1.0}, "lodged 1 hour before arrival"),
    ("lodged_hours_before_eta", {"lodged_hours_before_eta": 0.5}, "lodged less than an hour before arrival"),
    ("lodged_hours_before_eta", {"lodged_hours_before_eta": 72.0}, "lodged 3 days before arrival"),
    ("lodged_hours_before_eta", {"lodged_hours_before_eta": -5.0}, "lodged 5 hours after arrival"),
    ("origin_differs_from_loading", {"origin_differs_from_loading": True}, "origin country differs from the country of loading"),
    ("n_items", {"n_items": 12}, "12 goods items"),
    ("n_items", {"n_items": 1}, "1 goods item"),
    ("n_containers", {"n_containers": 3.0}, "3 containers"),
    ("declarant_aeo", {"declarant_aeo": False}, "declarant is not an AEO"),
    ("lane", {"lane": "COBUN-BEANR"}, "lane COBUN-BEANR"),
    ("total_value_eur", {"total_value_eur": 12400.4}, "declared value €12,400"),
    ("total_mass_kg", {"total_mass_kg": 21000.0}, "gross mass 21,000 kg"),
    ("value_per_kg_eur", {"value_per_kg_eur": 0.4}, "declared value €0.4 per kg"),
    ("main_chapter", {"main_chapter": 8}, "main goods in HS chapter 08"),
    ("main_chapter", {"main_chapter": "61"}, "main goods in HS chapter 61"),
    ("port_of_loading", {"port_of_loading": "COBUN"}, "loaded at COBUN"),
    ("origin_country", {"origin_country": "EC"}, "origin country EC"),
    ("origin_country", {"origin_country": None}, "origin country unknown"),
    ("log_price_per_kg", {"log_price_per_kg": 3.14159}, "log price per kg = 3.14 raises the risk"),
    ("Tax Rate", {"Tax Rate": 8.0}, "Tax Rate = 8 raises the risk"),
    ("fresh_flag", {"fresh_flag": True}, "fresh flag = yes raises the risk"),
    ("weird", {"weird": None}, "weird = missing raises the risk"),
    ("tiny", {"tiny": 0.0421}, "tiny = 0.042 raises the risk"),
]
# fmt: on


@pytest.mark.parametrize(("feature", "row", "expected"), TEXTS)
def test_template_text(feature: str, row: dict[str, object], expected: str) -> None:
    assert TEMPLATES.text(feature, row, 0.5) == expected


def _column(rows: list[Any], name: str) -> list[Any]:
    return [row.get(name) for row in rows]


def test_a_batch_of_rows_reads_as_each_row_does() -> None:
    """``texts`` (the batch path) writes what ``text`` writes row by row, gaps included."""
    rows_of: defaultdict[str, list[Any]] = defaultdict(list)
    for feature, row, _ in TEXTS:
        rows_of[feature].append(row)
    for feature, rows in rows_of.items():
        texts = TEMPLATES.texts(feature, functools.partial(_column, rows))
        assert texts == [TEMPLATES.text(feature, row, 0.5) for row in rows]


def test_a_batch_writes_each_distinct_string_once() -> None:
    calls: list[object] = []

    def write(feature: str, value: object) -> str:
        calls.append(value)
        return f"at {value}"

    templates = Templates()
    templates.add("port", Cells(write), handles_missing=True)
    ports = ["A", "B", "A", None, "A"]
    assert templates.texts("port", lambda name: ports) == [f"at {p}" for p in ports]
    assert calls == ["A", "B", None]
    # 0.0 and -0.0 are one dict key but two texts: numbers are written one by one.
    assert templates.texts("port", lambda name: [0.0, -0.0]) == ["at 0.0", "at -0.0"]
    assert Cells(write)("port", {"port": "C"}, 1.0) == "at C"


def test_a_plain_template_is_left_to_rows() -> None:
    templates = Templates()
    templates.add("*", lambda f, r, c: f)
    assert templates.texts("anything", lambda name: [1.0]) is None


@pytest.mark.parametrize("kind", FEATURE_KINDS)
def test_every_history_feature_has_a_template(kind: str) -> None:
    assert TEMPLATES.lookup(f"consignee_hs6_{kind}") is not None


@pytest.mark.parametrize(
    ("prefix", "label"),
    [
        ("consignee", "consignee"),
        ("hs6_origin", "HS6 × origin"),
        ("consignee_hs6", "consignee × HS6"),
        ("origin_country_port_of_loading", "origin country × port of loading"),
        ("new_kind_of_thing", "new kind of thing"),
    ],
)
def test_entity_label(prefix: str, label: str) -> None:
    assert entity_label(prefix) == label


def test_exact_name_then_longest_pattern_wins() -> None:
    templates = Templates()
    templates.add("*_rate", lambda f, r, c: "short")
    templates.add("*_hit_rate", lambda f, r, c: "long")
    templates.add("lane_hit_rate", lambda f, r, c: "exact")
    assert templates.text("consignee_hit_rate", {"consignee_hit_rate": 0.1}, 1.0) == "long"
    assert templates.text("tax_rate", {"tax_rate": 0.1}, 1.0) == "short"
    assert templates.text("lane_hit_rate", {"lane_hit_rate": 0.1}, 1.0) == "exact"
    templates.add("consignee_*", lambda f, r, c: "longer still")
    assert templates.text("consignee_hit_rate", {"consignee_hit_rate": 0.1}, 1.0) == "longer still"


FEATURES = pl.DataFrame(
    {
        "consignee_days_since_first": [3.0, 400.0, 12.0],
        "value_z": [-3.1, 0.2, 0.0],
        "origin_country": pl.Series(["EC", "CN", "NL"], dtype=pl.Categorical),
        "reefer": [True, False, True],
    }
)
NAMES = FEATURES.columns
# consignee, value_z, origin, reefer, bias
CONTRIBUTIONS = np.array(
    [
        [0.9, 1.4, 0.3, 0.1, -2.0],
        [-0.5, 0.2, 0.8, -0.1, -2.0],
        [-0.3, -0.2, -0.1, -0.4, -2.0],
    ]
)


def test_top_reasons_in_order_with_texts() -> None:
    frame = FEATURES.with_columns(value_ratio=pl.lit(0.125), value_hs6=pl.lit("080390"))
    reasons = model_reasons(CONTRIBUTIONS, frame, names=NAMES, top=3)
    assert [(r.code, r.text, r.weight) for r in reasons[0]] == [
        ("model:value_z", "value per kg 8× below the HS 0803.90 median", 1.4),
        ("model:consignee_days_since_first", "consignee first seen 3 days ago", 0.9),
        ("model:origin_country", "origin country EC", 0.3),
    ]
    assert all(r.source is Source.MODEL for r in reasons[0])


def test_negative_contributions_are_never_listed() -> None:
    reasons = model_reasons(CONTRIBUTIONS, FEATURES, top=4)
    assert [r.code for r in reasons[1]] == ["model:origin_country", "model:value_z"]
    assert reasons[2] == []
    assert all(r.weight > 0 for row in reasons for r in row)


def test_categorical_prints_the_label_not_the_code() -> None:
    enum = FEATURES.with_columns(pl.col("origin_country").cast(pl.Enum(["CN", "EC", "NL"])))
    for frame in (FEATURES, enum, FEATURES.with_columns(pl.col("origin_country").cast(pl.String))):
        reasons = model_reasons(CONTRIBUTIONS, frame, top=1, rows=[1])
        assert [r.text for r in reasons[1]] == ["origin country CN"]


@pytest.mark.parametrize(
    "rows", [np.array([False, True, False]), np.array([1]), [-2], np.array([1, 1])]
)
def test_rows_selects_which_rows_are_explained(rows: object) -> None:
    reasons = model_reasons(CONTRIBUTIONS, FEATURES, top=2, rows=rows)  # type: ignore[arg-type]
    assert reasons[0] == [] and reasons[2] == []
    assert [r.code for r in reasons[1]] == ["model:origin_country", "model:value_z"]


def test_rows_left_out_are_never_formatted() -> None:
    calls: list[str] = []
    templates = Templates()
    templates.add("*", lambda f, r, c: calls.append(f) or f)  # type: ignore[func-returns-value]
    model_reasons(CONTRIBUTIONS, FEATURES, top=3, rows=[1], templates=templates)
    assert sorted(calls) == ["origin_country", "value_z"]
    calls.clear()
    model_reasons(CONTRIBUTIONS, FEATURES, top=3, rows=np.zeros(3, dtype=bool), templates=templates)
    assert calls == []


def test_contributions_frame_names_the_features_and_extra_columns_are_read() -> None:
    frame = pl.DataFrame(CONTRIBUTIONS, schema=[*NAMES, "bias"], orient="row")
    # A scored batch carries ids and other columns first; the names come from the frame.
    batch = FEATURES.select(pl.lit("c-1").alias("id"), pl.all())
    reasons = model_reasons(frame, batch, top=1)
    assert [r[0].code if r else None for r in reasons] == [
        "model:value_z",
        "model:origin_country",
        None,
    ]


def test_top_k_matches_a_full_sort() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(200, 30))
    columns, valid = top_contributions(values, 5)
    expected = np.argsort(-values, axis=1, kind="stable")[:, :5]
    assert np.array_equal(columns, expected)
    assert np.array_equal(valid, np.take_along_axis(values, expected, axis=1) > 0)
    wide, _ = top_contributions(values[:, :3], 5)
    assert wide.shape == (200, 3)


def test_refuses_what_does_not_fit() -> None:
    with pytest.raises(ModelError, match="pass names"):
        model_reasons(CONTRIBUTIONS[:, :3], FEATURES)
    with pytest.raises(ModelError, match="rows of features"):
        model_reasons(CONTRIBUTIONS[:2], FEATURES)
    with pytest.raises(ModelError, match="bias"):
        model_reasons(pl.DataFrame(CONTRIBUTIONS[:, :4], schema=NAMES, orient="row"), FEATURES)
    with pytest.raises(ValueError, match="mask"):
        model_reasons(CONTRIBUTIONS, FEATURES, rows=np.array([True, False]))
    with pytest.raises(ValueError, match="outside"):
        model_reasons(CONTRIBUTIONS, FEATURES, rows=[3])
    with pytest.raises(ValueError, match="top"):
        model_reasons(CONTRIBUTIONS, FEATURES, top=0)


def _r(code: str, weight: float, source: Source = Source.PROFILE) -> Reason:
    return Reason(code, code.split(":")[1], weight, source)


def test_merge_ranks_by_weight_and_keeps_the_heaviest_of_a_code() -> None:
    model = [
        [_r("model:value_z", 1.4, Source.MODEL), _r("model:reefer", 0.2, Source.MODEL)],
        [],
        [_r("model:reefer", 0.3, Source.MODEL)],
    ]
    profiles = [
        [_r("profile:latam-reefer", 2.0), _r("profile:aeo", -1.0)],
        [_r("profile:new-consignee", 0.7), _r("profile:new-consignee", 1.1)],
        [],
    ]
    anomalies = [[_r("anomaly:seal-change", 0.5, Source.ANOMALY)], [], [_r("model:reefer", 0.9)]]
    merged = merge(model, profiles, anomalies, top=3)
    assert [(r.code, r.weight) for r in merged[0]] == [
        ("profile:latam-reefer", 2.0),
        ("model:value_z", 1.4),
        ("anomaly:seal-change", 0.5),
    ]
    assert [(r.code, r.weight) for r in merged[1]] == [("profile:new-consignee", 1.1)]
    assert [(r.code, r.weight) for r in merged[2]] == [("model:reefer", 0.9)]
    assert merge() == []
    with pytest.raises(ValueError, match="different numbers of rows"):
        merge(model, profiles[:2])


def test_merge_ties_keep_the_order_of_the_arguments() -> None:
    merged = merge([[_r("model:a", 1.0, Source.MODEL)]], [[_r("profile:b", 1.0)]])
    assert [r.code for r in merged[0]] == ["model:a", "profile:b"]
    merged = merge([[_r("profile:b", 1.0)]], [[_r("model:a", 1.0, Source.MODEL)]])
    assert [r.code for r in merged[0]] == ["profile:b", "model:a"]


def test_json_round_trip() -> None:
    reasons = [
        Reason(
            "model:value_z", "value per kg 8× below the HS 0803.90 median", 1.0 / 3, Source.MODEL
        ),
        Reason("graph:shared-phone", "shares a phone with a seized consignee", 2.5, Source.GRAPH),
    ]
    text = to_json(reasons)
    assert "8×" in text and json.loads(text)[1]["source"] == "graph"
    assert from_json(text) == reasons
    assert from_json("[]") == []


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"code": "x"}',
        '[{"code": "x", "text": "t", "weight": 1.0}]',
        '[{"code": "x", "text": "t", "weight": "1", "source": "model"}]',
        '[{"code": "x", "text": "t", "weight": 1.0, "source": "rumour"}]',
        '[{"code": "x", "text": "t", "weight": NaN, "source": "model"}]',
    ],
)
def test_from_json_refuses_what_is_not_a_reason_list(text: str) -> None:
    with pytest.raises(InputError):
        from_json(text)


def test_a_weight_must_be_finite() -> None:
    with pytest.raises(ValueError, match="finite"):
        Reason("model:x", "x", math.inf, Source.MODEL)


def test_the_feature_driving_a_real_model_is_the_top_reason() -> None:
    rng = np.random.default_rng(11)
    n = 3_000
    days = rng.exponential(300.0, size=n)
    x = pl.DataFrame(
        {
            "consignee_days_since_first": days,
            "value_z": rng.normal(size=n),
            "origin_country": rng.choice(["BR", "CN", "EC", "NL"], size=n),
            "n_items": rng.integers(1, 20, size=n),
        }
    )
    y = (rng.random(n) < np.where(days < 30, 0.8, 0.03)).astype(np.int64)
    params = {"num_threads": 1, "learning_rate": 0.1, "num_leaves": 7}
    model = FraudModel(params, num_boost_round=80).fit(x, y)
    risk = model.predict_proba(x)[:, 1]
    high = np.argsort(-risk)[:100]
    mask = np.zeros(n, dtype=bool)
    mask[high] = True
    reasons = model_reasons(model.contributions(x), x, top=3, rows=mask)
    assert all(reasons[i][0].code == "model:consignee_days_since_first" for i in high)
    assert all(reasons[i][0].text.startswith("consignee first seen") for i in high)
    assert all(reasons[i] == [] for i in np.flatnonzero(~mask))
    assert all(days[i] < 30 for i in high)


def test_two_features_telling_one_fact_make_one_reason_with_both_pushes() -> None:
    frame = pl.DataFrame({"value_z": [-3.1], "value_ratio": [0.125], "value_hs6": ["080390"]})
    contributions = np.array([[0.9, 0.4, 0.0, -1.0]])
    (reasons,) = model_reasons(
        contributions, frame, names=["value_z", "value_ratio", "value_hs6"], top=3
    )
    assert [(r.code, r.text) for r in reasons] == [
        ("model:value_z", "value per kg 8× below the HS 0803.90 median")
    ]
    assert reasons[0].weight == pytest.approx(1.3)


def _row_by_row(
    values: np.ndarray[Any, Any], frame: pl.DataFrame, names: list[str], top: int
) -> list[list[Reason]]:
    """``model_reasons`` written the plain way: a row, a template call and a Reason at a time."""
    columns, valid = top_contributions(values, top)
    result = []
    for i, row in enumerate(frame.to_dicts()):
        reasons: list[Reason] = []
        for j in columns[i][valid[i]].tolist():
            weight = float(values[i, j])
            text = TEMPLATES.text(names[j], row, weight)
            same = [n for n, earlier in enumerate(reasons) if earlier.text == text]
            if same:
                earlier = reasons[same[0]]
                reasons[same[0]] = dataclasses.replace(earlier, weight=earlier.weight + weight)
            else:
                reasons.append(Reason(f"model:{names[j]}", text, weight, Source.MODEL))
        result.append(reasons)
    return result


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values)


# A column per kind of template (several cells, one cell, strings, gaps, no template at all).
_CELLS: dict[str, tuple[st.SearchStrategy[Any], type[pl.DataType]]] = {
    "value_z": (_maybe(st.sampled_from([-3.1, 0.0, 2.5, NAN])), pl.Float64),
    "value_ratio": (_maybe(st.sampled_from([0.0, 0.125, 0.95, 2.5])), pl.Float64),
    "value_hs6": (_maybe(st.sampled_from(["080390", "12"])), pl.String),
    "port_of_loading": (_maybe(st.sampled_from(["COBUN", "NLRTM"])), pl.String),
    "n_items": (_maybe(st.sampled_from([1.0, 3.0, NAN])), pl.Float64),
    "consignee_days_since_first": (_maybe(st.sampled_from([0.2, 3.7, 1100.0])), pl.Float64),
    "consignee_hits": (_maybe(st.sampled_from([0.0, 2.0])), pl.Float64),
    "consignee_controls": (_maybe(st.sampled_from([0.0, 6.0])), pl.Float64),
    "reefer": (_maybe(st.booleans()), pl.Boolean),
    "weird": (_maybe(st.sampled_from([0.0421, 8.0])), pl.Float64),
}


@st.composite
def _batches(draw: st.DrawFn) -> tuple[pl.DataFrame, np.ndarray[Any, Any], list[bool]]:
    n = draw(st.integers(1, 8))
    frame = pl.DataFrame(
        [
            pl.Series(name, draw(st.lists(cells, min_size=n, max_size=n)), dtype)
            for name, (cells, dtype) in _CELLS.items()
        ]
    )
    # Few distinct contributions: ties, and value_z and value_ratio often both kept.
    pushes = st.sampled_from([-1.0, 0.0, 1e-16, 0.3, 0.7, 1.5])
    width = len(_CELLS) + 1
    values = np.array(draw(st.lists(st.lists(pushes, min_size=width, max_size=width),
                                    min_size=n, max_size=n)))  # fmt: skip
    return frame, values, draw(st.lists(st.booleans(), min_size=n, max_size=n))


@given(_batches(), st.integers(1, 6))
@settings(max_examples=200, deadline=None)
def test_model_reasons_are_what_row_by_row_writing_gives(
    batch: tuple[pl.DataFrame, np.ndarray[Any, Any], list[bool]], top: int
) -> None:
    frame, values, chosen = batch
    names = frame.columns
    expected = _row_by_row(values[:, :-1], frame, names, top)
    got = model_reasons(values, frame, names=names, top=top)
    # Weights bit for bit: equal floats, and the same sums in the same order.
    assert [[(r.code, r.text, r.weight.hex(), r.source) for r in row] for row in got] == [
        [(r.code, r.text, r.weight.hex(), r.source) for r in row] for row in expected
    ]
    some = model_reasons(values, frame, names=names, top=top, rows=np.array(chosen))
    assert some == [row if keep else [] for row, keep in zip(expected, chosen, strict=True)]


def test_pushes_of_one_fact_add_up_in_rank_order() -> None:
    templates = Templates()
    templates.add("*", Cells(lambda feature, value: "one fact"))
    frame = pl.DataFrame({"a": [1.0], "b": [1.0], "c": [1.0]})
    # Chosen so that each order of the two additions rounds differently.
    b, c = 5 * 2.0**-55, 2.0**-53
    (reasons,) = model_reasons(np.array([[1.0, b, c, 0.0]]), frame, top=3, templates=templates)
    assert [(r.code, r.weight) for r in reasons] == [("model:a", (1.0 + b) + c)]
    assert (1.0 + b) + c not in {(1.0 + c) + b, 1.0 + (b + c)}


def test_an_infinite_contribution_is_refused() -> None:
    with pytest.raises(ValueError, match="model:value_z.*finite"):
        model_reasons(np.array([[0.5, math.inf, 0.1, 0.0, 0.0]]), FEATURES[:1], top=2)


def test_model_reasons_are_ordinary_reasons() -> None:
    reason = model_reasons(CONTRIBUTIONS, FEATURES, top=1)[0][0]
    same = Reason(reason.code, reason.text, reason.weight, Source.MODEL)
    assert reason == same and hash(reason) == hash(same)
    assert type(reason.weight) is float and reason.source is Source.MODEL
    with pytest.raises(dataclasses.FrozenInstanceError):
        reason.weight = 2.0  # type: ignore[misc]
    assert dataclasses.replace(reason, weight=2.0).weight == 2.0


_rows_of_reasons = st.lists(
    st.lists(
        st.builds(
            _r,
            st.sampled_from(["model:a", "model:b", "profile:c", "graph:d"]),
            st.sampled_from([-1.0, 0.0, 0.5, 1.0, 1.0, 2.0]),
        ),
        max_size=6,
    ),
    max_size=6,
)


@given(_rows_of_reasons, st.integers(1, 6))
def test_merge_of_one_source_is_the_general_merge(rows: list[list[Reason]], top: int) -> None:
    """One source takes a shortcut for rows already in order; an empty second one does not."""
    assert merge(rows, top=top) == merge(rows, [[] for _ in rows], top=top)


def test_the_fast_constructor_sets_every_field_of_a_reason() -> None:
    from quaywatch.risk import explain

    assert tuple(f.name for f in dataclasses.fields(explain.Reason)) == explain._FIELDS
