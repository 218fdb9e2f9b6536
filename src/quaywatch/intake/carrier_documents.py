"""Carriers' documents (DCSA eBL transport documents and shipping instructions): their checks,
content hash and rows for the store.

A document comes as the rows ``dcsa_ebl.flatten`` gives: one per line (the document, each
party, equipment, seal and cargo item), every row repeating the document's fields. The checks
are the document's own, what DCSA makes mandatory and what quaywatch needs to keep it and link
it to declarations: a reference, at least one piece of equipment or cargo item, a container
number shaped as ISO 6346 on each, each cargo item in a container the document lists, a name
on each party, codes (UN/LOCODE, HS, ISO country and currency, EORI, ISO size/type) as their
lists define them. Nothing a declaration needs and a carrier does not give (the vessel's IMO
number, goods values and origins, seal types) is asked for. A container number whose ISO 6346
check digit is wrong is kept as the carrier filed it, with ``check_digit_valid`` false: a
discrepancy to show (``risk.carrier_documents``), not a reason to lose the filing.

A fault is named by the DCSA path of its line and field (``utilizedTransportEquipments[0].
equipment.equipmentReference``). A document is accepted whole or quarantined whole.

Identity: a document is its content (``document_id`` is its content hash); the same reference
with other content is the next revision, numbered when stored (``pipeline.Importer``).
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Table

from quaywatch.domain import identifiers as ids
from quaywatch.domain.models import EmptyIndicator
from quaywatch.domain.vocabulary import SealSource, SealType
from quaywatch.intake import dcsa_ebl as ebl, fields as f
from quaywatch.store import tables


def _date() -> f.Parser:
    """An ISO 8601 calendar date (``2023-12-20``), as DCSA gives its dates."""

    def parse(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        value = raw.str.to_date("%Y-%m-%d", strict=False)
        return value, pl.when(value.is_null()).then(
            pl.format("'{}' is not an ISO 8601 date (YYYY-MM-DD)", raw)
        )

    return parse


def _container() -> f.Parser:
    """A container number shaped as ISO 6346; its check digit is judged apart (kept)."""

    def parse(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        value = ids.normalise_code_expr(raw)
        return value, pl.when(~value.str.contains(ids.CONTAINER_RE)).then(
            pl.lit("not an ISO 6346 container number (AAAU1234565)")
        )

    return parse


HEADER_FIELDS: list[f.Field] = [
    f.Field("document_kind", f.enum(["TD", "SI"])),
    f.Field("reference", f.text(100)),
    f.Field("transport_document_reference", f.text(35)),
    f.Field("shipping_instructions_reference", f.text(100)),
    f.Field("booking_references", f.text(1000)),
    f.Field("status", f.text(50)),
    f.Field("carrier_code", f.text(10)),
    f.Field("carrier_code_list", f.enum(["SMDG", "NMFTA"])),
    f.Field("vessel_name", f.text(512)),
    f.Field("vessel_imo", f.code(ids.imo_problem, ids.normalise_imo_expr)),
    f.Field("voyage", f.text(50)),
    f.Field("port_of_loading", f.code(ids.locode_problem)),
    f.Field("port_of_discharge", f.code(ids.locode_problem)),
    f.Field("place_of_delivery", f.code(ids.locode_problem)),
    f.Field("planned_arrival", _date()),
    f.Field("issue_date", _date()),
    f.Field("shipped_on_board_date", _date()),
    f.Field("is_to_order", f.boolean()),
    f.Field("cargo_in_ics2_zone", f.boolean()),
    f.Field("advance_manifest_filings", f.text(1000)),
    f.Field("declared_value", f.number(0)),
    f.Field("declared_value_currency", f.code(ids.currency_problem)),
]
LINE_FIELDS: list[f.Field] = [
    f.Field(
        "line_type", f.enum([ebl.DOCUMENT_LINE, ebl.PARTY, ebl.EQUIPMENT, ebl.SEAL, ebl.CARGO])
    ),
    f.Field("line", f.integer(0, 99_999)),
    f.Field("dcsa_path", f.text(1000)),
    f.Field("party_role", f.text(20)),
    f.Field("party_name", f.text(512), controls=f.TAB),
    f.Field("party_address", f.text(2000), controls=f.LINES),
    f.Field("party_country", f.code(ids.country_problem)),
    f.Field("party_eori", f.code(ids.eori_problem)),
    f.Field("party_tax_ids", f.text(1000)),
    f.Field("party_codes", f.text(1000)),
    f.Field("container_number", _container()),
    f.Field("size_type", f.code(ids.size_type_problem)),
    f.Field("container_status", f.enum(EmptyIndicator)),
    f.Field("shipper_owned", f.boolean()),
    f.Field("tare_kg", f.number(0)),
    f.Field("cargo_gross_kg", f.number(0)),
    f.Field("seal_number", f.text(15)),
    f.Field("seal_source", f.enum(SealSource)),
    f.Field("seal_type", f.enum(SealType)),
    f.Field("consignment_item", f.integer(1, 9999)),
    f.Field("hs_codes", f.code_list(ids.hs6_problem)),
    f.Field("description", f.text(5000), controls=f.LINES),
    f.Field("packages", f.integer(0, f.column_max(tables.carrier_document_cargo.c.packages))),
    f.Field("package_code", f.code(ids.package_type_problem)),
    f.Field("gross_weight_kg", f.number(0, strict=True), bound=f.plausible_mass),
]
FIELDS = HEADER_FIELDS + LINE_FIELDS
COLUMNS = [field.name for field in FIELDS]
#: Flat files do not carry carrier documents (``readers.open_file`` refuses them).
REQUIRED_COLUMNS = ["reference", "line_type"]
_HEADER = {field.name for field in HEADER_FIELDS}
#: Fields a line of some type must give (``validate`` says which).
_REQUIRED_ON_LINES = (
    "reference",
    "party_name",
    "container_number",
    "seal_number",
    "description",
    "gross_weight_kg",
)
#: Where each field of a line is in the DCSA document, from the line's own path (``^``: from the
#: path of the object holding the line). A field not listed for a line type is not on it.
_PATHS: dict[str, dict[str, str]] = {
    ebl.DOCUMENT_LINE: {
        "transport_document_reference": "transportDocumentReference",
        "shipping_instructions_reference": "shippingInstructionsReference",
        "booking_references": "consignmentItems.carrierBookingReference",
        "carrier_code": "carrierCode",
        "carrier_code_list": "carrierCodeListProvider",
        "vessel_name": "transports.vesselVoyages[0].vesselName",
        "vessel_imo": "transports.vesselVoyages[0].vesselIMONumber",
        "voyage": "transports.vesselVoyages[0].carrierExportVoyageNumber",
        "port_of_loading": "transports.portOfLoading.UNLocationCode",
        "port_of_discharge": "transports.portOfDischarge.UNLocationCode",
        "place_of_delivery": "transports.placeOfDelivery.UNLocationCode",
        "planned_arrival": "transports.plannedArrivalDate",
        "issue_date": "issueDate",
        "shipped_on_board_date": "shippedOnBoardDate",
        "is_to_order": "isToOrder",
        "cargo_in_ics2_zone": "isCargoDeliveredInICS2Zone",
        "advance_manifest_filings": "advanceManifestFilings",
        "declared_value": "declaredValue",
        "declared_value_currency": "declaredValueCurrency",
        "utilizedTransportEquipments": "utilizedTransportEquipments",
    },
    ebl.PARTY: {
        "party_role": "partyFunction",
        "party_name": "partyName",
        "party_address": "address",
        "party_country": "address.countryCode",
        "party_eori": "taxLegalReferences",
        "party_tax_ids": "taxLegalReferences",
        "party_codes": "identifyingCodes",
    },
    ebl.EQUIPMENT: {
        "container_number": "equipment.equipmentReference",
        "size_type": "equipment.ISOEquipmentCode",
        "container_status": "emptyIndicatorCode",
        "shipper_owned": "isShipperOwned",
        "tare_kg": "equipment.tareWeight",
        "cargo_gross_kg": "cargoGrossWeight",
    },
    ebl.SEAL: {"seal_number": "number", "seal_source": "source", "seal_type": "type"},
    ebl.CARGO: {
        "consignment_item": "",
        "hs_codes": "^HSCodes",
        "description": "^descriptionOfGoods",
        "packages": "outerPackaging.numberOfPackages",
        "package_code": "outerPackaging.packageCode",
        "gross_weight_kg": "cargoGrossWeight",
        "container_number": "equipmentReference",
    },
}


def validate(frame: pl.DataFrame, plausible: f.Plausible = f.PLAUSIBLE) -> pl.DataFrame:
    """Check a document's rows; adds ``_key`` (``TD reference``) and ``_problems`` per row,
    each problem named by its DCSA path. A problem on any row marks the whole document."""
    frame = f.blanks_to_null(frame, COLUMNS)
    # "missing" is judged on the value given: one the checks could not read is named by them
    given = [pl.col(n).is_null().alias(f"_no_{n}") for n in _REQUIRED_ON_LINES]
    checked = f.check(frame.with_columns(given), FIELDS, plausible)
    line = pl.col("line_type")
    equipment, cargo, seal = line == ebl.EQUIPMENT, line == ebl.CARGO, line == ebl.SEAL
    listed = pl.col("container_number").filter(equipment).implode().over("_run")
    rules = [
        f.problem_of(
            "reference",
            pl.when((line == ebl.DOCUMENT_LINE) & pl.col("_no_reference")).then(
                pl.when(pl.col("document_kind") == "TD")
                .then(pl.lit("missing: a transport document is kept under its reference"))
                .otherwise(
                    pl.lit(
                        "missing: shipping instructions are kept under their reference (or, "
                        "before the carrier gives one, their one carrierBookingReference)"
                    )
                )
            ),
        ),
        f.problem_of(
            "utilizedTransportEquipments",
            pl.when((line == ebl.DOCUMENT_LINE) & ~(equipment | cargo).any().over("_run")).then(
                pl.lit(
                    "missing: a document with no equipment and no cargo item has nothing to "
                    "link to a declaration"
                )
            ),
        ),
        f.problem_of(
            "party_name",
            pl.when((line == ebl.PARTY) & pl.col("_no_party_name")).then(
                pl.lit("missing: a party needs its name")
            ),
        ),  # fmt: skip
        f.problem_of(
            "container_number",
            pl.when((equipment | cargo) & pl.col("_no_container_number"))
            .then(pl.lit("missing: the container number"))
            .when(equipment & pl.col("container_number").is_duplicated().over("_run", line))
            .then(pl.lit("names a container listed before in utilizedTransportEquipments"))
            .when(cargo & ~pl.col("container_number").is_in(listed))
            .then(pl.lit("names no container of utilizedTransportEquipments")),
        ),
        f.problem_of(
            "seal_number",
            pl.when(seal & pl.col("_no_seal_number"))
            .then(pl.lit("missing: a seal needs its number"))
            .when(seal & pl.struct("container_number", "seal_number").is_duplicated().over("_run"))
            .then(pl.lit("repeats a seal number of this container")),
        ),
        *(
            f.problem_of(
                name, pl.when(cargo & pl.col(f"_no_{name}")).then(pl.lit(f"missing: {what}"))
            )
            for name, what in (
                ("description", "a cargo item needs its description of goods"),
                ("gross_weight_kg", "a cargo item needs its gross weight"),
            )
        ),
    ]
    checked = checked.with_columns(
        pl.coalesce(
            pl.format("{} {}", "document_kind", "reference"), pl.format("at {}", pl.col("_loc"))
        ).alias("_key"),
        pl.concat_str([pl.col("_problems"), *rules], separator=f.PROBLEM_SEP, ignore_nulls=True)
        .replace("", None)
        .alias("_problems"),
    ).drop(f"_no_{n}" for n in _REQUIRED_ON_LINES)
    return _located(checked)


def _located(checked: pl.DataFrame) -> pl.DataFrame:
    """``_problems`` named by DCSA path: each field's problem on the line holding it, once
    (the document's fields are repeated on every row and judged on the document's line)."""
    if checked.select(pl.col("_problems").is_null().all()).item():
        return checked
    named: list[str | None] = []
    for kind, line, path, problems in checked.select(
        "document_kind", "line_type", "dcsa_path", "_problems"
    ).iter_rows():
        kept = []
        for field, reason in f.split_problems(problems or ""):
            at = _path(kind, line, path or "", field)
            if at is not None:
                kept.append(f"{at}{f.FIELD_SEP}{reason}")
        named.append(f.PROBLEM_SEP.join(kept) if kept else None)
    return checked.with_columns(pl.Series("_problems", named, pl.String))


def _path(kind: str | None, line: str | None, path: str, field: str) -> str | None:
    """The DCSA path of ``field`` on a line at ``path``; None where it is not that line's."""
    if field in _HEADER or line == ebl.DOCUMENT_LINE:
        if line != ebl.DOCUMENT_LINE:
            return None  # judged on the document's own line
        if field in ("reference", "status", "document_kind"):
            td = kind == "TD"
            field = {
                "reference": "transportDocumentReference"
                if td
                else "shippingInstructionsReference",
                "status": "transportDocumentStatus" if td else "shippingInstructionsStatus",
                "document_kind": "",
            }[field]
            return _join(path, field)
        return _join(path, _PATHS[ebl.DOCUMENT_LINE].get(field, field))
    rel = _PATHS.get(line or "", {}).get(field)
    if rel is None:
        return None  # a field of another line type (its value is that line's, judged there)
    if rel.startswith("^"):
        return _join(path.rsplit(".", 1)[0], rel[1:])
    return _join(path, rel)


def _join(path: str, rel: str) -> str:
    return ".".join(part for part in (path, rel) if part) or "document"


def content_hashes(valid: pl.DataFrame, *, legacy: bool = False) -> pl.DataFrame:
    """One row per document (``_run``): ``_key``, ``document_id`` and the SHA-256 of its
    content, which is its ``document_id`` too.

    The hash is over the document's rows in line order, each ``f.encoded`` without its DCSA
    path, so the same document bare or wrapped in a notification is the same content.
    ``legacy`` is accepted for the pipeline's interface; documents have no older encoding.
    """
    del legacy
    columns = [c for c in COLUMNS if c != "dcsa_path"]
    encoded = f.encoded(columns)
    row_text = pl.format("{}:{}", encoded.str.len_bytes(), encoded).alias("_canonical")
    canonical = (
        valid.sort("_run", "line")
        .with_columns(row_text)
        .group_by("_run", maintain_order=True)
        .agg(pl.col("_key").first(), pl.col("_canonical").str.join(""))
    )
    digest = f.sha256_hex(canonical["_canonical"])
    return canonical.with_columns(digest.alias("content_sha256"), digest.alias("document_id")).drop(
        "_canonical"
    )


def _columns(table: Table) -> list[str]:
    return [column.name for column in table.columns]


def rows(frame: pl.DataFrame) -> dict[Table, pl.DataFrame]:
    """The rows of every carrier-document table, each with ``_run``, in foreign-key order.

    ``revision`` is left empty: the pipeline numbers it when storing (``Kind.revisions``).
    """
    frame = frame.with_columns(
        pl.col("content_sha256").alias("document_id"),
        pl.col("received_at").alias("known_at"),
        pl.lit(None, pl.Int64).alias("revision"),
    )
    line = pl.col("line_type")
    heads = frame.filter(line == ebl.DOCUMENT_LINE)
    parties = frame.filter(line == ebl.PARTY).with_columns(
        pl.int_range(1, pl.len() + 1).over("_run").alias("sequence")
    )
    equipment = frame.filter(line == ebl.EQUIPMENT).with_columns(
        (ids.container_check_digit(pl.col("container_number").str.slice(0, 10)).cast(pl.String)
         == pl.col("container_number").str.slice(10, 1)).fill_null(False)
        .alias("check_digit_valid")
    )  # fmt: skip
    cargo = frame.filter(line == ebl.CARGO).with_columns(
        pl.int_range(1, pl.len() + 1).over("_run").alias("sequence")
    )
    return {
        tables.carrier_documents: heads.select("_run", *_columns(tables.carrier_documents)),
        tables.carrier_document_parties: parties.select(
            "_run",
            "document_id",
            "sequence",
            *(
                pl.col(f"party_{n}").alias(n)
                for n in ("role", "name", "address", "country", "eori", "tax_ids")
            ),
            pl.col("party_codes"),
        ),  # fmt: skip
        tables.carrier_document_equipment: equipment.select(
            "_run",
            "document_id",
            "container_number",
            "check_digit_valid",
            "size_type",
            pl.col("container_status").alias("status"),
            "shipper_owned",
            "tare_kg",
            "cargo_gross_kg",
        ),  # fmt: skip
        tables.carrier_document_seals: frame.filter(line == ebl.SEAL).select(
            "_run",
            "document_id",
            "container_number",
            "seal_number",
            pl.col("seal_source").alias("source"),
            pl.col("seal_type").alias("type"),
        ),  # fmt: skip
        tables.carrier_document_cargo: cargo.select(
            "_run",
            "document_id",
            "sequence",
            "consignment_item",
            "hs_codes",
            "description",
            "packages",
            "package_code",
            "gross_weight_kg",
            "container_number",
        ),  # fmt: skip
    }
