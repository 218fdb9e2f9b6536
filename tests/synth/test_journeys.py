"""Container events: in time order, along the declared route, with rip-on/rip-off marks."""

from __future__ import annotations

import polars as pl

from quaywatch.synth.traffic import Traffic

HOUR_US = 3_600_000_000


def _events(traffic: Traffic) -> pl.DataFrame:
    """One row per event with the fields the checks need, in file order."""
    frame = pl.concat(pl.read_ndjson(p) for p in traffic.event_files)
    return frame.select(
        pl.col("equipmentReference").alias("container"),
        pl.col("equipmentEventTypeCode").alias("code"),
        pl.col("eventLocation").struct.field("UNLocationCode").alias("place"),
        pl.col("eventDateTime").str.to_datetime(time_zone="UTC").alias("t"),
        pl.col("isTransshipmentMove").alias("transship"),
        pl.col("seals").list.first().struct.field("sealNumber").alias("seal"),
        pl.col("seals").list.first().struct.field("sealSource").alias("source"),
        pl.col("documentReferences").list.first().struct.field("documentReferenceValue")
        .alias("document"),
    ).with_row_index("order")  # fmt: skip


def _routes(traffic: Traffic) -> pl.DataFrame:
    rows = pl.concat(pl.read_csv(p, infer_schema=False) for p in traffic.consignment_files)
    return rows.unique("container_number", keep="first").select(
        pl.col("container_number").alias("container"),
        "consignment_id", "port_of_loading", "transshipment_ports", "port_of_discharge", "eta",
    )  # fmt: skip


def test_events_are_in_time_order_and_follow_the_declared_route(clean: Traffic) -> None:
    events = _events(clean)
    assert events.group_by("container").agg(pl.col("t").is_sorted()).get_column("t").all()
    moves = (
        events.filter(pl.col("code").is_in(["LOAD", "DISC"]))
        .group_by("container", maintain_order=True)
        .agg(pl.col("place"), pl.col("code"))
        .join(_routes(clean), on="container")
    )
    assert moves.height == events["container"].n_unique()
    for row in moves.iter_rows(named=True):
        hubs = (row["transshipment_ports"] or "").split("|") if row["transshipment_ports"] else []
        expected = [row["port_of_loading"]] + [h for h in hubs for _ in (0, 1)]
        expected.append(row["port_of_discharge"])
        assert row["place"] == expected, row
        assert row["code"] == ["LOAD"] + ["DISC", "LOAD"] * len(hubs) + ["DISC"]
    routes = _routes(clean)
    ends = events.join(routes, on="container").filter(
        (pl.col("place") == pl.col("port_of_loading"))
        | (pl.col("place") == pl.col("port_of_discharge"))
    )
    assert not ends["transship"].any()
    hub_moves = events.filter(pl.col("code").is_in(["LOAD", "DISC"]) & pl.col("transship"))
    hubs = routes["transshipment_ports"].str.split("|").list.len().fill_null(0)
    assert hub_moves.height == 2 * hubs.sum()
    assert 0.3 < (hubs > 0).mean() < 0.42  # type: ignore[operator]
    gate_out = events.filter(pl.col("code") == "GTOT")
    assert 0.8 < gate_out.height / events["container"].n_unique() < 0.98  # some not yet out


def test_dwell_at_hubs_is_mostly_one_to_four_days(clean: Traffic) -> None:
    dwell = (
        _events(clean)
        .filter(pl.col("transship") & pl.col("code").is_in(["DISC", "LOAD"]))
        .group_by("container", "place")
        .agg((pl.col("t").max() - pl.col("t").min()).dt.total_hours().alias("hours"))
    )
    typical = dwell["hours"].is_between(24, 96).mean()
    assert typical > 0.9  # type: ignore[operator]


def test_discharge_is_near_the_declared_eta(clean: Traffic) -> None:
    arrivals = (
        _events(clean)
        .join(_routes(clean), on="container")
        .filter((pl.col("code") == "DISC") & (pl.col("place") == pl.col("port_of_discharge")))
        .with_columns(
            (pl.col("t") - pl.col("eta").str.to_datetime(time_zone="UTC"))
            .dt.total_hours()
            .alias("late")
        )  # fmt: skip
    )
    assert arrivals["late"].is_between(-48, 48).mean() > 0.95  # type: ignore[operator]


def _signs(traffic: Traffic) -> pl.DataFrame:
    """Per consignment: does any of its containers show a rip-on/rip-off mark?"""
    events = _events(traffic)
    changed = ((pl.col("seal") != pl.col("seal").shift(1)) & (pl.col("source") != "CUS")).over(
        "container"
    )
    per_box = (
        events.sort("container", "t")
        .with_columns(changed.fill_null(False).alias("swap"))
        .group_by("container")
        .agg(
            pl.col("swap").any(),
            pl.col("code").is_in(["STRP", "STUF"]).any().alias("strip"),
        )
    )
    dwell = (
        events.filter(pl.col("transship"))
        .group_by("container", "place")
        .agg((pl.col("t").max() - pl.col("t").min()).dt.total_hours().alias("hours"))
        .group_by("container")
        .agg((pl.col("hours") > 5 * 24).any().alias("long_dwell"))
    )
    truth = pl.read_parquet(traffic.truth).select("consignment_id", "pattern")
    return (
        per_box.join(dwell, on="container", how="left")
        .join(_routes(traffic), on="container")
        .group_by("consignment_id")
        .agg(
            pl.any_horizontal("swap", "strip", pl.col("long_dwell").fill_null(False))
            .any()
            .alias("sign")
        )  # fmt: skip
        .join(truth, on="consignment_id")
    )


def test_rip_signs_mark_most_cocaine_and_few_licit_boxes(rich: Traffic) -> None:
    signs = _signs(rich)
    cocaine = signs.filter(pl.col("pattern") == "cocaine")["sign"].mean()
    licit = signs.filter(pl.col("pattern") == "none")["sign"].mean()
    assert cocaine > 0.6  # type: ignore[operator]
    assert 0 < licit < 0.03  # type: ignore[operator]


def test_customs_reseals_are_legitimate_seal_changes(clean: Traffic) -> None:
    events = _events(clean)
    resealed = events.filter(pl.col("code") == "RSEA")
    assert resealed.height > 0 and (resealed["source"] == "CUS").all()
    after = events.join(resealed.select("container", pl.col("t").alias("at")), on="container")
    assert (after.filter(pl.col("t") > pl.col("at"))["source"] == "CUS").all()


def test_event_ids_and_container_numbers_are_unique_across_the_run(clean: Traffic) -> None:
    frame = pl.concat(pl.read_ndjson(p) for p in clean.event_files)
    assert frame["eventID"].is_unique().all()
    boxes = pl.concat(pl.read_csv(p, infer_schema=False) for p in clean.consignment_files)
    per_box = boxes.group_by("container_number").agg(pl.col("consignment_id").n_unique())
    assert (per_box["consignment_id"] == 1).all()
