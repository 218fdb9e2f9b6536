"""Routes in time and the DCSA equipment events containers leave along them.

A route is the port of loading, zero to two transshipment hubs and the port of discharge. Each
container is gated in and loaded at the port of loading, discharged and reloaded at every hub
after a dwell of typically one to four days (``isTransshipmentMove`` true), discharged at the
port of discharge near its ETA and, usually a few days after release, gated out. Seals travel
with the events. Rip-on/rip-off leaves its marks here: a seal number that changes without a
customs reseal, an unplanned strip and stuff at a hub, an abnormal dwell. Legitimate look-alikes
(customs reseals, consolidation at a hub, long dwells, a seal typed wrong once) keep those marks
from being proof.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from quaywatch.synth.world import LANES, REGIONS, World

HOUR = 3_600_000_000  # microseconds
DAY = 24 * HOUR
_TIME = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, slots=True)
class Routes:
    """Consignment-level route and times (µs since the epoch, UTC); -1 marks "no such step"."""

    hub1: np.ndarray  # UN/LOCODE or ""
    hub2: np.ndarray
    gate_in: np.ndarray
    departure: np.ndarray
    hub1_in: np.ndarray
    hub1_out: np.ndarray
    hub2_in: np.ndarray
    hub2_out: np.ndarray
    arrival: np.ndarray
    eta: np.ndarray  # declared at lodging: the plan, without unplanned delays
    gate_out: np.ndarray


def plan(
    rng: np.random.Generator,
    world: World,
    origin: np.ndarray,
    lodged: np.ndarray,
    transship: np.ndarray,
    hub_override: np.ndarray,
    long_dwell: np.ndarray,
) -> Routes:
    """Choose hubs and times for consignments leaving ``origin`` (indices) after ``lodged``.

    ``transship`` is the probability of a transshipment per consignment; ``hub_override`` a hub
    to use instead of the region's ("" for none); ``long_dwell`` marks an abnormal dwell at the
    first hub.
    """
    n = len(origin)
    region = world.origin_region[origin]
    pol = world.origin[origin]
    width = max(len(h) for h in world.region_hubs)
    pool = np.array([list(h) + [""] * (width - len(h)) for h in world.region_hubs], dtype="<U5")
    count = np.array([len(h) for h in world.region_hubs])[region]
    has_hub = (rng.random(n) < transship) & ((count > 0) | (hub_override != ""))
    pick = (rng.random(n) * np.maximum(count, 1)).astype(np.int64)
    hub1 = pool[region, pick]
    # A hub equal to the port of loading is no transshipment: take the region's next hub.
    clash = hub1 == pol
    hub1 = np.where(clash, pool[region, (pick + 1) % np.maximum(count, 1)], hub1)
    hub1 = np.where(hub_override != "", hub_override, hub1)
    # With a hub as port of discharge (say ESALG), routes through that hub go direct.
    pod = world.port_of_discharge
    hub1 = np.where(has_hub & (hub1 != pol) & (hub1 != pod), hub1, "")
    second = (rng.random(n) < 0.12) & (hub1 != "") & (count >= 3) & (hub_override == "")
    hub2 = pool[
        region,
        (pick + 1 + (rng.random(n) * (count - 1).clip(1)).astype(np.int64)) % np.maximum(count, 1),
    ]
    hub2 = np.where(second & (hub2 != hub1) & (hub2 != pol) & (hub2 != pod), hub2, "")

    lo = np.array([LANES[r][2][0] for r in REGIONS])[region]
    hi = np.array([LANES[r][2][1] for r in REGIONS])[region]
    sea = rng.uniform(lo, hi) * DAY
    departure = lodged + (rng.uniform(26, 72, n) * HOUR).astype(np.int64)
    gate_in = departure - (rng.uniform(12, 60, n) * HOUR).astype(np.int64)
    dwell1 = np.clip(rng.lognormal(np.log(2.0), 0.35, n), 1.0, 4.0) * DAY
    dwell2 = np.clip(rng.lognormal(np.log(1.5), 0.35, n), 0.75, 4.0) * DAY
    extra = np.where(long_dwell & (hub1 != ""), rng.uniform(6, 13, n) * DAY - dwell1, 0.0)
    with_hub1, with_hub2 = hub1 != "", hub2 != ""
    share1 = np.where(with_hub2, rng.uniform(0.15, 0.35, n), rng.uniform(0.25, 0.6, n))
    share2 = rng.uniform(0.45, 0.7, n)
    hub1_in = departure + (sea * share1).astype(np.int64)
    hub1_out = hub1_in + (dwell1 + extra).astype(np.int64)
    hub2_in = hub1_out + (sea * (share2 - share1)).astype(np.int64)
    hub2_out = hub2_in + dwell2.astype(np.int64)
    dwell = np.where(with_hub1, dwell1, 0.0) + np.where(with_hub2, dwell2, 0.0)
    eta = departure + (sea + dwell).astype(np.int64) + (rng.normal(0, 8, n) * HOUR).astype(np.int64)
    arrival = departure + (sea + dwell + extra + rng.uniform(-6, 18, n) * HOUR).astype(np.int64)
    released = np.clip(rng.lognormal(np.log(2.5), 0.6, n), 0.3, 14.0) * DAY
    gate_out = np.where(rng.random(n) < 0.08, -1, arrival + released.astype(np.int64))
    none = np.full(n, -1)
    return Routes(
        hub1=hub1,
        hub2=hub2,
        gate_in=gate_in,
        departure=departure,
        hub1_in=np.where(with_hub1, hub1_in, none),
        hub1_out=np.where(with_hub1, hub1_out, none),
        hub2_in=np.where(with_hub2, hub2_in, none),
        hub2_out=np.where(with_hub2, hub2_out, none),
        arrival=arrival,
        eta=eta,
        gate_out=gate_out,
    )


def marks(
    rng: np.random.Generator, routes: Routes, box_of: np.ndarray, swap: np.ndarray,
    strip: np.ndarray,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Per container (``box_of`` gives its consignment): route times and the marks on it.

    A swapped seal (``swap``) is changed at the first hub while the box waits there, or, for
    a direct route and three in ten transshipped ones, after discharge at the port of
    discharge (rip-off; such a box then always gates out). A stripped box (``strip``) is
    unpacked and packed again at the first hub. Two percent of all boxes are opened and
    resealed by customs after discharge (``cus_at``): a seal change that is no mark.
    """
    names = ("gate_in", "departure", "hub1_in", "hub1_out", "hub2_in", "hub2_out", "arrival",
             "gate_out")  # fmt: skip
    t = {name: getattr(routes, name)[box_of] for name in names}
    n = len(box_of)
    at_hub = (t["hub1_in"] >= 0) & (rng.random(n) < 0.7)
    t["gate_out"] = np.where(
        swap & ~at_hub & (t["gate_out"] < 0), t["arrival"] + int(1.5 * DAY), t["gate_out"]
    )
    wait = t["hub1_out"] - t["hub1_in"]
    after = t["gate_out"] - t["arrival"]
    at_pod = t["arrival"] + (after * rng.uniform(0.1, 0.5, n)).astype(np.int64)
    swap_at = np.where(
        at_hub, t["hub1_in"] + (wait * rng.uniform(0.2, 0.8, n)).astype(np.int64), at_pod
    )
    strip_at = t["hub1_in"] + (wait * rng.uniform(0.2, 0.45, n)).astype(np.int64)
    cus_at = np.where(
        t["gate_out"] >= 0,
        t["arrival"] + (after * rng.uniform(0.3, 0.7, n)).astype(np.int64),
        t["arrival"] + (rng.uniform(6, 30, n) * HOUR).astype(np.int64),
    )
    t["swap_at"] = np.where(swap, swap_at, -1)
    t["strip_at"] = np.where(strip & (t["hub1_in"] >= 0), strip_at, -1)
    t["cus_at"] = np.where(rng.random(n) < 0.02, cus_at, -1)
    return t


def _step(boxes: pl.DataFrame, when: str, code: str, place: str, *, transship: bool,
          vessel: str | None, facility: str = "POTE") -> pl.DataFrame:  # fmt: skip
    """One event per box whose ``when`` column is set."""
    return boxes.filter(pl.col(when) >= 0).select(
        pl.col("box"),
        pl.col(when).alias("t"),
        pl.lit(code).alias("code"),
        pl.col(place).alias("place"),
        pl.lit(transship).alias("transship"),
        (pl.col(vessel) if vessel else pl.lit(None, pl.String)).alias("vessel"),
        pl.lit(facility).alias("facility"),
    )


def events(boxes: pl.DataFrame, port_of_discharge: str) -> pl.DataFrame:
    """DCSA equipment events for ``boxes``, one row per event, in the JSON shape of intake.

    ``boxes`` has one row per container: ``box`` (order), ``container_number``, ``size_type``,
    ``document``, ``pol``, ``hub1``, ``hub2``, the times ``marks`` returns (a route time, or
    -1 for a step the box does not make; ``swap_at``, ``cus_at`` and ``strip_at`` for a seal
    swap, a customs reseal and a strip-and-stuff), vessels ``feeder1``, ``feeder2`` and
    ``mainline`` (the last leg's), and seals: ``seal``, ``seal_source``, ``seal_type``,
    ``shipper_seal`` (or null), ``swap_seal`` and ``cus_seal``.
    """
    boxes = boxes.with_columns(
        pl.lit(port_of_discharge).alias("pod"),
        pl.when(pl.col("hub2") != "").then(pl.col("feeder2")).otherwise(pl.col("mainline"))
        .alias("hub1_vessel"),
        pl.when(pl.col("hub1") != "").then(pl.col("feeder1")).otherwise(pl.col("mainline"))
        .alias("pol_vessel"),
        pl.when(pl.col("strip_at") >= 0).then(pl.col("strip_at") + HOUR * 6).otherwise(-1)
        .alias("stuff_at"),
        pl.when(pl.col("cus_at") >= 0).then(pl.col("cus_at") - HOUR).otherwise(-1).alias("insp_at"),
    )  # fmt: skip
    steps = [
        _step(boxes, "gate_in", "GTIN", "pol", transship=False, vessel=None),
        _step(boxes, "departure", "LOAD", "pol", transship=False, vessel="pol_vessel"),
        _step(boxes, "hub1_in", "DISC", "hub1", transship=True, vessel="feeder1"),
        _step(boxes, "strip_at", "STRP", "hub1", transship=True, vessel=None, facility="DEPO"),
        _step(boxes, "stuff_at", "STUF", "hub1", transship=True, vessel=None, facility="DEPO"),
        _step(boxes, "hub1_out", "LOAD", "hub1", transship=True, vessel="hub1_vessel"),
        _step(boxes, "hub2_in", "DISC", "hub2", transship=True, vessel="feeder2"),
        _step(boxes, "hub2_out", "LOAD", "hub2", transship=True, vessel="mainline"),
        _step(boxes, "arrival", "DISC", "pod", transship=False, vessel="mainline"),
        _step(boxes, "insp_at", "INSP", "pod", transship=False, vessel=None),
        _step(boxes, "cus_at", "RSEA", "pod", transship=False, vessel=None),
        _step(boxes, "gate_out", "GTOT", "pod", transship=False, vessel=None),
    ]
    seal_columns = ["box", "container_number", "size_type", "document", "seal", "seal_source",
                    "seal_type", "shipper_seal", "swap_at", "swap_seal", "cus_at", "cus_seal"]  # fmt: skip
    rows = (
        pl.concat(steps)
        .sort("box", "t", maintain_order=True)
        .join(boxes.select(seal_columns), on="box", how="left", maintain_order="left")
    )
    t = pl.from_epoch(pl.col("t"), time_unit="us")
    created = pl.from_epoch(pl.col("t") + (pl.col("t") % 29 + 1) * 60_000_000, time_unit="us")
    resealed = (pl.col("cus_at") >= 0) & (pl.col("t") >= pl.col("cus_at"))
    swapped = (pl.col("swap_at") >= 0) & (pl.col("t") >= pl.col("swap_at"))
    carrier = pl.struct(
        pl.when(resealed).then(pl.col("cus_seal")).when(swapped).then(pl.col("swap_seal"))
        .otherwise(pl.col("seal")).alias("sealNumber"),
        pl.when(resealed).then(pl.lit("CUS")).otherwise(pl.col("seal_source")).alias("sealSource"),
        pl.when(resealed).then(pl.lit("BLT")).otherwise(pl.col("seal_type")).alias("sealType"),
    )  # fmt: skip
    shipper = pl.when(pl.col("shipper_seal").is_not_null() & ~resealed).then(
        pl.struct(
            pl.col("shipper_seal").alias("sealNumber"),
            pl.lit("SHI").alias("sealSource"),
            pl.lit("WIR").alias("sealType"),
        )
    )
    return rows.select(
        pl.format(
            "{}-{}-{}-{}", "container_number", "code", "place", t.dt.strftime("%Y%m%d%H%M")
        ).alias("eventID"),
        pl.lit("EQUIPMENT").alias("eventType"),
        pl.lit("ACT").alias("eventClassifierCode"),
        t.dt.strftime(_TIME).alias("eventDateTime"),
        created.dt.strftime(_TIME).alias("eventCreatedDateTime"),
        pl.col("code").alias("equipmentEventTypeCode"),
        pl.col("container_number").alias("equipmentReference"),
        pl.col("size_type").alias("ISOEquipmentCode"),
        pl.lit("LADEN").alias("emptyIndicatorCode"),
        pl.col("transship").alias("isTransshipmentMove"),
        pl.struct(pl.col("place").alias("UNLocationCode")).alias("eventLocation"),
        pl.struct(
            pl.col("place").alias("UNLocationCode"),
            pl.col("facility").alias("facilityTypeCode"),
            pl.when(pl.col("vessel").is_not_null())
            .then(pl.struct(pl.col("vessel").alias("vesselIMONumber")))
            .alias("vessel"),
        ).alias("transportCall"),
        pl.concat_list(carrier, shipper).list.drop_nulls().alias("seals"),
        pl.concat_list(
            pl.struct(
                pl.lit("TRD").alias("documentReferenceType"),
                pl.col("document").alias("documentReferenceValue"),
            )
        ).alias("documentReferences"),
    )
