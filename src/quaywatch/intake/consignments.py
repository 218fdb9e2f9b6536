"""Consignments: the flat goods-item row format, its checks and its rows for the store.

Every consignment input (CSV, Parquet, JSON Lines) becomes the same flat frame: one row per
goods item, consignment fields repeated on each row. The rows of one consignment need not be
next to each other in a file: the pipeline gathers them (``pipeline.Importer``), in file order.
A consignment is accepted whole or quarantined whole.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from quaywatch.domain import identifiers as ids
from quaywatch.domain.models import AeoStatus, EmptyIndicator
from quaywatch.intake import entities, fields as f
from quaywatch.store import tables

ROLES = ("declarant", "consignor", "consignee", "notify_party")
PARTY_FIELDS = ("name", "address", "country", "eori", "aeo", "phone", "email")
REQUIRED_ROLES = ("declarant", "consignor", "consignee")


def _party_fields(role: str) -> list[f.Field]:
    required = role in REQUIRED_ROLES
    return [
        f.Field(f"{role}_name", f.text(512), required, controls=f.TAB),
        f.Field(f"{role}_address", f.text(512), controls=f.LINES),
        f.Field(f"{role}_country", f.code(ids.country_problem), required, repeats=True),
        f.Field(f"{role}_eori", f.code(ids.eori_problem), repeats=True),
        f.Field(f"{role}_aeo", f.enum(AeoStatus)),
        f.Field(f"{role}_phone", f.text(64)),
        f.Field(
            f"{role}_email",
            lambda raw: (
                raw,
                pl.when(~raw.str.contains(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")).then(
                    pl.lit("not an e-mail address")
                ),
            ),
        ),
    ]


CONSIGNMENT_FIELDS: list[f.Field] = [
    f.Field("consignment_id", f.text(35), required=True),
    f.Field("version", f.integer(1, f.column_max(tables.consignments.c.version))),
    f.Field("transport_document", f.text(35), required=True),
    f.Field("master_transport_document", f.text(35)),
    f.Field("lodged_at", f.timestamp(), required=True, repeats=True, bound=f.plausible_time),
    *(field for role in ROLES for field in _party_fields(role)),
    f.Field("carrier_scac", f.code(ids.scac_problem), required=True, repeats=True),
    f.Field(
        "vessel_imo",
        f.code(ids.imo_problem, ids.normalise_imo_expr),
        required=True,
        repeats=True,
    ),
    f.Field("vessel_name", f.text(128), controls=f.TAB),
    f.Field("voyage", f.text(35)),
    f.Field("port_of_loading", f.code(ids.port_problem), required=True, repeats=True),
    f.Field("transshipment_ports", f.code_list(ids.port_problem), repeats=True),
    f.Field("port_of_discharge", f.code(ids.port_problem), required=True, repeats=True),
    f.Field("place_of_delivery", f.code(ids.locode_problem), repeats=True),
    f.Field("eta", f.timestamp(), required=True, repeats=True, bound=f.plausible_time),
]
ITEM_FIELDS: list[f.Field] = [
    f.Field("item_sequence", f.integer(1, 9999), required=True),
    f.Field("hs6", f.code(ids.hs6_problem), required=True, repeats=True),
    f.Field("description", f.text(512), required=True, controls=f.LINES),
    f.Field("packages", f.integer(0, f.column_max(tables.goods_items.c.packages)), required=True),
    f.Field("package_type", f.code(ids.package_type_problem), required=True, repeats=True),
    f.Field("gross_mass_kg", f.number(0, strict=True), required=True, bound=f.plausible_mass),
    f.Field("value", f.number(0), required=True),
    f.Field("currency", f.code(ids.currency_problem), required=True, repeats=True),
    f.Field("origin_country", f.code(ids.country_problem), required=True, repeats=True),
    f.Field("container_number", f.code(ids.container_number_problem), required=True),
    f.Field("container_size_type", f.code(ids.size_type_problem), required=True, repeats=True),
    f.Field("container_status", f.enum(EmptyIndicator)),
    f.Field("seals", f.seal_list()),
]
FIELDS = CONSIGNMENT_FIELDS + ITEM_FIELDS
COLUMNS = [field.name for field in FIELDS]
REQUIRED_COLUMNS = ["consignment_id", "item_sequence"]
_HEADER_COLUMNS = [field.name for field in CONSIGNMENT_FIELDS]
_CONTAINER_COLUMNS = ["container_size_type", "container_status", "seals"]


def flatten(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A nested JSON consignment (as ``Consignment.model_dump``) to flat goods-item rows.

    Unknown shapes are passed through as text so the checks report them by field.
    """
    header: dict[str, Any] = {
        key: record.get(key)
        for key in (
            "consignment_id", "version", "transport_document", "master_transport_document",
            "lodged_at", "carrier_scac", "voyage", "eta",
        )
    }  # fmt: skip
    for role in ROLES:
        party = record.get(role) or {}
        for name in PARTY_FIELDS:
            header[f"{role}_{name}"] = party.get(name) if isinstance(party, dict) else party
    vessel = record.get("vessel") or {}
    header["vessel_imo"], header["vessel_name"] = vessel.get("imo"), vessel.get("name")
    route = record.get("route") or {}
    for key in ("port_of_loading", "port_of_discharge", "place_of_delivery"):
        header[key] = route.get(key)
    header["transshipment_ports"] = _joined(route.get("transshipment_ports"))
    containers = {
        str(c.get("number", "")).replace(" ", "").upper(): c
        for c in record.get("containers") or []
        if isinstance(c, dict)
    }
    rows = []
    for item in record.get("goods_items") or [{}]:
        container = containers.get(str(item.get("container_number", "")).replace(" ", "").upper())
        seals = (container or {}).get("seals") or []
        rows.append(
            header
            | {
                "item_sequence": item.get("sequence"),
                **{k: item.get(k) for k in ("hs6", "description", "packages", "package_type")},
                **{k: item.get(k) for k in ("gross_mass_kg", "value", "currency")},
                "origin_country": item.get("origin_country"),
                "container_number": item.get("container_number"),
                "container_size_type": (container or {}).get("size_type"),
                "container_status": (container or {}).get("status"),
                "seals": _joined(
                    f"{s.get('source')}:{s.get('type')}:{s.get('number')}" for s in seals
                ),
            }
        )
    return rows


def _joined(values: Any) -> str | None:
    items = [str(v) for v in values or []]
    return f.LIST_SEP.join(items) if items else None


def validate(frame: pl.DataFrame, plausible: f.Plausible = f.PLAUSIBLE) -> pl.DataFrame:
    """Check a frame of raw flat rows; adds ``_key`` (record id) and ``_problems`` per row.

    Rows of one record (``_run``) share a consignment id and version: a problem on any of them,
    or rows that disagree on consignment fields, marks every row of the record. A goods item's
    value is held to ``plausible.max_value_eur`` at the reference exchange rate.
    """
    frame = f.blanks_to_null(frame, COLUMNS).with_columns(
        pl.col("version").fill_null("1"),
        pl.col("container_status").fill_null("LADEN"),
        pl.col([f"{role}_aeo" for role in ROLES]).fill_null("NONE"),
    )
    checked = f.check(frame, FIELDS, plausible)
    key = pl.coalesce(
        pl.col("consignment_id") + pl.lit(" v") + pl.col("version").cast(pl.String),
        pl.format("at {}", pl.col("_loc")),
    ).alias("_key")
    checked = checked.with_columns(key)
    # Checks across the rows of one consignment; they cannot fail where each has one row.
    multi_row = checked.select(pl.col("_run").n_unique()).item() < checked.height
    group_problems = (
        [
            f.problem_of(
                "item_sequence",
                pl.when(pl.col("item_sequence").is_duplicated().over("_run")).then(
                    pl.lit("repeats a goods item sequence number of this consignment")
                ),
            ),
            f.problem_of(
                "consignment_id",
                pl.when(f.encoded(_HEADER_COLUMNS).n_unique().over("_run") > 1).then(
                    pl.lit("rows of this consignment disagree on consignment fields")
                ),
            ),
            f.problem_of(
                "container_number",
                pl.when(
                    f.encoded(_CONTAINER_COLUMNS).n_unique().over("_run", "container_number") > 1
                ).then(pl.lit("rows disagree on this container's size/type, status or seals")),
            ),
        ]
        if multi_row
        else []
    )
    group_problems += [
        f.problem_of("value", _value_problem(plausible)),
        f.problem_of(
            "notify_party_name",
            pl.when(
                pl.col("notify_party_name").is_null()
                & pl.any_horizontal(
                    pl.col(f"notify_party_{n}").is_not_null()
                    for n in ("address", "eori", "phone", "email")
                )
            ).then(pl.lit("missing: a notify party needs a name")),
        ),
        f.problem_of(
            "notify_party_country",
            pl.when(
                pl.col("notify_party_name").is_not_null() & pl.col("notify_party_country").is_null()
            ).then(pl.lit("missing: a notify party needs a country")),
        ),
        f.problem_of(
            "port_of_discharge",
            pl.when(pl.col("port_of_loading") == pl.col("port_of_discharge")).then(
                pl.lit("equals the port of loading")
            ),
        ),
    ]
    return checked.with_columns(
        pl.concat_str(
            [pl.col("_problems"), *group_problems], separator=f.PROBLEM_SEP, ignore_nulls=True
        )
        .replace("", None)
        .alias("_problems")
    )


def _value_problem(plausible: f.Plausible) -> pl.Expr:
    """Why a goods item's value is implausible: above the EUR maximum at the reference rate,
    or, in a currency without one, above that maximum times 100,000 in the currency's units."""
    eur = entities.value_eur()
    most = plausible.max_value_eur
    return (
        pl.when(eur > most)
        .then(pl.lit(f"is above {most:,.0f} EUR (at the reference rate), the most accepted"))
        .when(eur.is_null() & (pl.col("value") > most * 1e5))
        .then(pl.lit(f"is above {most * 1e5:,.0f} units of its currency, the most accepted"))
    )


def content_hashes(valid: pl.DataFrame, *, legacy: bool = False) -> pl.DataFrame:
    """One row per record (``_run``): ``_key``, id, version and the SHA-256 of its content.

    The hash does not depend on the input format, on row order or on spelling a normaliser
    absorbs (case of codes, surrounding spaces), so the same declaration re-sent is recognised.
    It is over the record's rows, in item order, each ``f.encoded`` and the rows encoded again
    as a list, so no two different records share the text hashed. ``legacy``: the hash as
    stored before that encoding (rows ``f.legacy_joined`` and joined with ``PROBLEM_SEP``), only
    for comparing with such a stored hash.
    """
    if legacy:
        row_text = f.legacy_joined(COLUMNS).alias("_canonical")
        join = pl.col("_canonical").str.join(f.PROBLEM_SEP)
    else:  # each row's text length-prefixed in its turn: the record a list of rows
        encoded = f.encoded(COLUMNS)
        row_text = pl.format("{}:{}", encoded.str.len_bytes(), encoded).alias("_canonical")
        join = pl.col("_canonical").str.join("")
    if valid.select(pl.col("_run").n_unique()).item() == valid.height:  # one row per record
        canonical = valid.select("_run", "_key", "consignment_id", "version", row_text)
    else:
        canonical = (
            valid.sort("_run", "item_sequence")
            .with_columns(row_text)
            .group_by("_run", maintain_order=True)
            .agg(
                pl.col("_key").first(),
                pl.col("consignment_id").first(),
                pl.col("version").first(),
                join,
            )
        )
    return canonical.with_columns(
        f.sha256_hex(canonical["_canonical"]).alias("content_sha256")
    ).drop("_canonical")


def party_frame(valid: pl.DataFrame) -> pl.DataFrame:
    """Every distinct party on ``valid`` with its key; adds ``<role>_key`` columns to rows."""
    parts = []
    for role in ROLES:
        cols = [f"{role}_{name}" for name in PARTY_FIELDS]
        parts.append(
            valid.select(
                [pl.col(c).alias(name) for c, name in zip(cols, PARTY_FIELDS, strict=True)]
            ).filter(pl.col("name").is_not_null())
        )
    distinct = pl.concat(parts).unique(maintain_order=True)
    # The party key keeps the encoding it always had: it is the party's identity across imports.
    canonical = distinct.select(f.legacy_joined(PARTY_FIELDS)).to_series()
    return distinct.with_columns(f.sha256_hex(canonical).str.slice(0, 32).alias("party_key"))


def owned_parties(valid: pl.DataFrame, parties: pl.DataFrame) -> pl.DataFrame:
    """Each consignment of ``valid`` (``consignment_id``, ``version``) with every party it
    names, as the ``parties`` row it points at (``party_frame``'s columns), once."""
    keyed = with_party_keys(valid, parties)
    owned = pl.concat(
        [
            keyed.select("consignment_id", "version", pl.col(f"{role}_key").alias("party_key"))
            for role in ROLES
        ]
    )
    return owned.drop_nulls("party_key").unique().join(parties, on="party_key")


def with_party_keys(valid: pl.DataFrame, parties: pl.DataFrame) -> pl.DataFrame:
    """Add ``<role>_key`` to every row by joining on the party's fields."""
    for role in ROLES:
        renamed = parties.rename(
            {name: f"{role}_{name}" for name in PARTY_FIELDS} | {"party_key": f"{role}_key"}
        )
        valid = valid.join(
            renamed, on=[f"{role}_{name}" for name in PARTY_FIELDS], how="left", nulls_equal=True
        )
    return valid
