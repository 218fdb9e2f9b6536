"""Control outcomes: the result of a documentary check, scan or examination, and any seizure.

One flat record per control (CSV, Parquet, or one JSON object per line with the same names).
An outcome is what the learning loop trains on, so besides the result it carries how the
consignment came to be controlled: ``selected_by`` and the selection ``propensity``, the
probability that the selecting policy picked it, without which the controlled consignments
cannot stand for the uncontrolled ones. ``known_at`` is when the result was recorded: an
assessment made before it must not see it.

The checks here need no database; that the consignment is stored is checked when saving
(``pipeline.Importer.save``), since an outcome for an unknown consignment cannot be linked.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from quaywatch.domain import identifiers as ids
from quaywatch.domain.models import (
    Concealment,
    ControlResult,
    ControlType,
    Irregularity,
    SeizureUnit,
    SelectedBy,
)
from quaywatch.intake import fields as f
from quaywatch.store import tables

FIELDS: list[f.Field] = [
    f.Field("control_id", f.text(35), required=True),
    f.Field("consignment_id", f.text(35), required=True),
    f.Field("version", f.integer(1, f.column_max(tables.control_outcomes.c.version))),
    f.Field("container_number", f.code(ids.container_number_problem)),
    f.Field("control_type", f.enum(ControlType), required=True),
    f.Field("selected_by", f.enum(SelectedBy), required=True),
    f.Field("propensity", f.number(0, strict=True, maximum=1), required=True),
    f.Field("controlled_at", f.timestamp(), required=True, bound=f.plausible_time),
    f.Field("known_at", f.timestamp(), required=True, bound=f.plausible_time),
    f.Field("result", f.enum(ControlResult), required=True),
    f.Field("irregularity", f.enum(Irregularity)),
    f.Field("revenue_recovered_eur", f.number(0), bound=f.plausible_eur),
    f.Field("seizure_goods", f.text(512), controls=f.LINES),
    f.Field("seizure_quantity", f.number(0, strict=True), bound=f.plausible_quantity),
    f.Field("seizure_unit", f.enum(SeizureUnit)),
    f.Field("seizure_hs6", f.code(ids.hs6_problem)),
    f.Field("concealment", f.enum(Concealment)),
]
COLUMNS = [field.name for field in FIELDS]
REQUIRED_COLUMNS = ["control_id", "consignment_id"]
SEIZURE_COLUMNS = [
    "seizure_goods",
    "seizure_quantity",
    "seizure_unit",
    "seizure_hs6",
    "concealment",
]
#: What a seizure record must name; the HS code and the hiding place are often unknown at first.
_SEIZURE_REQUIRED = ["seizure_goods", "seizure_quantity", "seizure_unit"]


def flatten(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A JSON outcome (flat, names as the CSV columns) to its one row."""
    return [{name: record.get(name) for name in COLUMNS}]


def validate(frame: pl.DataFrame, plausible: f.Plausible = f.PLAUSIBLE) -> pl.DataFrame:
    """Check raw outcome rows; adds ``_key`` (the control id) and ``_problems``.

    Beyond each field: the result is known no earlier than the control; a compliant control
    names no irregularity and recovers nothing; an irregularity or a seizure names what was
    wrong; a seizure names goods, quantity and unit, and only a seizure names seized goods.
    """
    frame = f.blanks_to_null(frame, COLUMNS).with_columns(
        pl.col("version").fill_null("1"), pl.col("revenue_recovered_eur").fill_null("0")
    )
    checked = f.check(frame, FIELDS, plausible)
    result = pl.col("result")
    compliant = result == ControlResult.COMPLIANT
    seizure = result == ControlResult.SEIZURE
    rules = [
        f.problem_of(
            "known_at",
            pl.when(pl.col("known_at") < pl.col("controlled_at")).then(
                pl.lit("is before controlled_at: a result is known after the control")
            ),
        ),
        f.problem_of(
            "irregularity",
            pl.when(compliant & pl.col("irregularity").is_not_null())
            .then(pl.lit("given on a COMPLIANT result"))
            .when(~compliant & pl.col("irregularity").is_null())
            .then(pl.lit("missing: an IRREGULAR or SEIZURE result names the irregularity")),
        ),
        f.problem_of(
            "revenue_recovered_eur",
            pl.when(compliant & (pl.col("revenue_recovered_eur") > 0)).then(
                pl.lit("a COMPLIANT control recovers no revenue")
            ),
        ),
        f.problem_of(
            "result",
            pl.when(~seizure & pl.any_horizontal(pl.col(SEIZURE_COLUMNS).is_not_null())).then(
                pl.lit("seizure details are given but the result is not SEIZURE")
            ),
        ),
        *(
            f.problem_of(
                name,
                pl.when(seizure & pl.col(name).is_null()).then(
                    pl.lit("missing: a SEIZURE names the goods seized, their quantity and unit")
                ),
            )
            for name in _SEIZURE_REQUIRED
        ),
    ]
    return f.with_rules(checked, rules, "control_id")


def content_hashes(valid: pl.DataFrame, *, legacy: bool = False) -> pl.DataFrame:
    """``_run``, ``_key``, the control and consignment ids and the SHA-256 of the outcome."""
    return f.content_hashes(
        valid, COLUMNS, ["control_id", "consignment_id", "version"], legacy=legacy
    )
