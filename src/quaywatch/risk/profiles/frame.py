"""The frame profile conditions run on: one row per consignment, every field an analyst may use.

It is the frame the risk engine already builds for the model (``declared.consignment_features``
joined with ``assessment.model_inputs``: declared features and as-of entity histories) plus a
few columns only profiles need, added here by ``with_extras``: the whole route and the hubs as
lists, every HS6, chapter and origin country of the goods, the container types, and the name,
country and EORI of the consignee, consignor and declarant.

``FIELDS`` lists every field with its kind and the sentence ``docs/profiles.md`` shows analysts;
``profiles validate`` checks conditions against it without any data.
"""

from __future__ import annotations

import polars as pl

from quaywatch.features import assessment, declared
from quaywatch.risk.profiles.compiler import Kind

N, T, B, L = Kind.NUMBER, Kind.TEXT, Kind.BOOL, Kind.TEXT_LIST
_DECLARED: dict[str, tuple[Kind, str]] = {
    "consignment_id": (T, "the consignment's reference"),
    "version": (N, "the consignment's version: 1, higher after an amendment"),
    "lodged_at": (Kind.TIME, "when the consignment was lodged (UTC); compare with \"YYYY-MM-DD\""),
    "consignee_key": (T, "the consignee's party key (quaywatch's id for the party)"),
    "consignor_key": (T, "the consignor's party key"),
    "declarant_key": (T, "the declarant's party key"),
    "carrier_scac": (T, "the carrier's SCAC code, e.g. MSCU"),
    "n_items": (N, "number of goods items"),
    "n_containers": (N, "number of containers"),
    "total_value_eur": (N, "declared value of all goods, EUR"),
    "total_mass_kg": (N, "gross mass of all goods, kg"),
    "value_per_kg_eur": (N, "declared value per kg of the whole consignment, EUR"),
    "value_z": (N, "robust z-score of value per kg of the most undervalued item against its "
                "HS6 reference (-3: far below usual)"),
    "value_ratio": (N, "value per kg of that item divided by the HS6 reference median (0.2: "
                    "declared at a fifth of the usual price)"),
    "value_hs6": (T, "the HS6 of that most undervalued item"),
    "value_z_max": (N, "robust z-score of value per kg of the item declared most above its HS6 "
                    "reference (3: worth far more per kg than such goods usually are)"),
    "value_ratio_max": (N, "value per kg of that item divided by the HS6 reference median"),
    "value_hs6_max": (T, "the HS6 of that item"),
    "box_mismatch": (N, "how far an item's container is from how its HS6 usually travels: "
                     "the HS6's reefer share, minus 1 if the item is in a reefer (0.95: "
                     "reefer goods in a dry box; -0.95: dry goods in a reefer)"),
    "box_hs6": (T, "the HS6 of that item"),
    "max_duty_pct": (N, "highest duty rate of the goods, percent"),
    "duty_exposure_eur": (N, "duty on the declared value, EUR"),
    "main_hs6": (T, "HS6 of the goods item with the highest value"),
    "main_chapter": (T, "HS chapter (2 digits) of that item"),
    "origin_country": (T, "country of origin of that item (ISO 3166 alpha-2)"),
    "port_of_loading": (T, "port of loading (UN/LOCODE)"),
    "origin_region": (T, "region of the port of loading, e.g. \"South America\""),
    "transshipments": (N, "number of transshipment ports"),
    "hubs": (T, "transshipment ports as one text, separated by | (\"PAMIT|ESALG\")"),
    "lane": (T, "port of loading and port of discharge, \"ECGYE-BEANR\""),
    "reefer": (B, "a refrigerated container carries goods"),
    "consignee_aeo": (B, "the consignee is an Authorised Economic Operator"),
    "consignor_aeo": (B, "the consignor is an AEO"),
    "declarant_aeo": (B, "the declarant is an AEO"),
    "lodged_hours_before_eta": (N, "hours between lodging and the estimated arrival"),
    "origin_differs_from_loading": (B, "the origin country is not the country of loading"),
}  # fmt: skip
_HISTORY_ENTITIES = {
    "consignee": "the consignee", "consignor": "the consignor", "declarant": "the declarant",
    "carrier": "the carrier", "hs6": "the main HS6", "origin": "the origin country",
    "lane": "the lane", "hs6_origin": "the main HS6 from this origin",
    "consignee_hs6": "the consignee with this main HS6",
}  # fmt: skip
_HISTORY_KINDS = {
    "hit_rate": "smoothed share of controls of {} that found something, before lodging",
    "controls": "controls of {} with a known result before lodging",
    "days_since_first": "days since {} was first seen; missing if never seen before",
}
_EXTRAS: dict[str, tuple[Kind, str]] = {
    "port_of_discharge": (T, "port of discharge (UN/LOCODE)"),
    "loading_country": (T, "country of the port of loading (first two letters of its LOCODE)"),
    "transshipment_ports": (L, "transshipment ports in route order (empty when direct)"),
    "route": (L, "port of loading, transshipment ports and port of discharge, in order"),
    "hs6_codes": (L, "every HS6 declared in the consignment"),
    "chapters": (L, "every HS chapter (2 digits) declared in the consignment"),
    "origin_countries": (L, "every country of origin of the goods"),
    "container_types": (L, "ISO size/type codes of the containers, e.g. 45R1 (reefer)"),
    **{
        f"{role}_{what}": (T, f"{role}'s {label}")
        for role in ("consignee", "consignor", "declarant")
        for what, label in (("name", "name as declared"), ("country", "country (alpha-2)"),
                            ("eori", "EORI number, if declared"))
    },
}  # fmt: skip
#: Every field a condition or a reason template may use: kind and description.
FIELDS: dict[str, tuple[Kind, str]] = {
    **_DECLARED,
    **{
        f"{entity}_{kind}": (N, text.format(label))
        for entity, label in _HISTORY_ENTITIES.items()
        for kind, text in _HISTORY_KINDS.items()
    },
    **_EXTRAS,
}
FIELD_KINDS: dict[str, Kind] = {name: kind for name, (kind, _) in FIELDS.items()}
#: The roles whose parties profiles name (``<role>_name``, ``_country``, ``_eori``).
NAMED_ROLES = ("consignee", "consignor", "declarant")


def with_extras(
    frame: pl.DataFrame, items: pl.DataFrame, parties: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``frame`` (one row per consignment) with the profile-only columns (``_EXTRAS``).

    ``items`` are goods-item rows (``store.reads.goods_item_rows``) covering the consignments
    of ``frame``; ``parties`` is ``store.reads.parties`` (without it, the party fields are missing).
    """
    hubs = pl.col("transshipment_ports")
    extras = (
        items.group_by(*declared.KEY, maintain_order=True)
        .agg(
            pl.col("port_of_loading", "port_of_discharge", "transshipment_ports").first(),
            pl.col("hs6").drop_nulls().unique(maintain_order=True).alias("hs6_codes"),
            pl.col("origin_country")
            .drop_nulls()
            .unique(maintain_order=True)
            .alias("origin_countries"),
            pl.col("container_size_type")
            .drop_nulls()
            .unique(maintain_order=True)
            .alias("container_types"),
        )  # fmt: skip
        .with_columns(
            pl.when(hubs.is_null() | (hubs == ""))
            .then(pl.lit([], pl.List(pl.String)))
            .otherwise(hubs.str.split("|"))
            .alias("transshipment_ports"),
        )
        .with_columns(
            pl.concat_list("port_of_loading", "transshipment_ports", "port_of_discharge").alias(
                "route"
            ),
            pl.col("hs6_codes")
            .list.eval(pl.element().str.slice(0, 2))
            .list.unique(maintain_order=True)
            .alias("chapters"),
            pl.col("port_of_loading").str.slice(0, 2).alias("loading_country"),
        )  # fmt: skip
        .drop("port_of_loading")
    )
    out = frame.drop([c for c in extras.columns if c in frame.columns and c not in declared.KEY])
    out = out.join(extras, on=list(declared.KEY), how="left", maintain_order="left")
    for role in NAMED_ROLES:
        columns = [f"{role}_name", f"{role}_country", f"{role}_eori"]
        out = out.drop([c for c in columns if c in out.columns])
        if parties is None:
            out = out.with_columns(pl.lit(None, pl.String).alias(c) for c in columns)
            continue
        named = parties.select(
            pl.col("party_key").alias(f"{role}_key"),
            *(pl.col(what).alias(column) for what, column in
              zip(("name", "country", "eori"), columns, strict=True)),
        ).unique(f"{role}_key")  # fmt: skip
        out = out.join(named, on=f"{role}_key", how="left", maintain_order="left")
    return out


def profile_frame(
    items: pl.DataFrame,
    *,
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    reference: declared.ValueReference,
    parties: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The profile frame of the consignments of ``items``, in their order.

    ``assessment.assessment_frame`` (what the engine's model reads) plus ``with_extras``. As
    ``risk.engine.assess`` reads its arguments: ``items`` the goods-item rows to assess,
    ``history`` those of every consignment known (entity histories count them as of each
    consignment's lodging), ``outcomes`` the control outcomes known, ``reference`` the value
    reference of the model (or one fitted on earlier data). Columns: every one of ``FIELDS``
    plus ``version``.
    """
    frame = assessment.assessment_frame(
        items, history=history, outcomes=outcomes, reference=reference
    )
    return with_extras(frame, items, parties)
