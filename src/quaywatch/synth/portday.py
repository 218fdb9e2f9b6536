"""A seeded port day: consignments bound for one port and their containers' DCSA events.

Used by ``quaywatch demo``, the tests and the ingest benchmark. Everything is drawn from real
reference data (curated ports, HS subheadings, ISO 6346 and IMO check digits), vectorised with
numpy so a million consignments take seconds. ``noise`` corrupts that share of consignments in
one field each, as real feeds do, so intake has something to quarantine.

It has no fraud and no ground truth: for realistic traffic over many days with injected
patterns and the truth for every consignment, use ``quaywatch.synth.traffic``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from quaywatch.domain import identifiers as ids
from quaywatch.domain.reference import shipped_ports as ports

#: (HS6, description, package type, value per kg EUR low-high, container size/type)
GOODS = [
    ("080390", "Fresh bananas", "CT", (0.6, 1.2), "45R1"),
    ("080510", "Fresh oranges", "CT", (0.7, 1.5), "45R1"),
    ("080450", "Fresh mangoes", "CT", (1.5, 3.0), "45R1"),
    ("090111", "Green coffee beans, not roasted", "BG", (3.0, 7.0), "22G1"),
    ("180100", "Cocoa beans, raw", "BG", (2.0, 4.0), "22G1"),
    ("030617", "Frozen shrimps and prawns", "CT", (6.0, 14.0), "45R1"),
    ("440799", "Sawn hardwood", "PK", (0.5, 1.5), "42G1"),
    ("611030", "Jerseys and pullovers of man-made fibres", "CT", (8.0, 25.0), "45G1"),
    ("640299", "Footwear with rubber or plastic soles", "CT", (10.0, 40.0), "45G1"),
    ("847130", "Portable computers", "CT", (80.0, 250.0), "45G1"),
    ("851713", "Smartphones", "CT", (150.0, 600.0), "22G1"),
    ("854143", "Photovoltaic cells assembled in modules", "PK", (3.0, 8.0), "45G1"),
    ("950300", "Toys", "CT", (4.0, 15.0), "45G1"),
    ("940360", "Wooden furniture", "PK", (2.0, 6.0), "45G1"),
    ("870323", "Passenger cars, 1500-3000 cc", "VN", (6.0, 20.0), "42G1"),
    ("392690", "Articles of plastics", "CT", (2.0, 8.0), "42G1"),
    ("730890", "Structures of iron or steel", "PK", (1.0, 3.0), "42G1"),
    ("220421", "Wine in containers of 2 l or less", "CT", (3.0, 12.0), "22G1"),
    ("300490", "Medicaments in measured doses", "CT", (40.0, 200.0), "22G1"),
    ("401110", "New pneumatic tyres for cars", "PK", (3.0, 6.0), "45G1"),
]
#: Region weights of origin ports for a North European port of discharge.
REGION_WEIGHTS = {
    "East Asia": 30, "Southeast Asia": 12, "South Asia": 8, "Middle East": 6,
    "North America": 8, "South America": 10, "Central America": 6, "Caribbean": 3,
    "West Africa": 5, "East Africa": 2, "Southern Africa": 3, "North Africa": 2,
    "Mediterranean": 3, "Oceania": 1, "Black Sea": 1,
}  # fmt: skip
HUBS = ["SGSIN", "MAPTM", "ESALG", "PAMIT", "LKCMB", "AEJEA", "GRPIR", "MTMAR", "JMKIN", "PABLB"]
CARRIERS = [("MAEU", "MAEU"), ("MSCU", "MSCU"), ("CMDU", "CMAU"), ("HLCU", "HLXU"),
            ("ONEY", "ONEU"), ("COSU", "CSNU"), ("EGLV", "EGHU"), ("ZIMU", "ZIMU")]  # fmt: skip
_WORDS = ["Atlas", "Nova", "Green", "Harbor", "Pacific", "Delta", "Sun", "Royal", "Euro",
          "Andes", "Tropic", "Orient", "Silver", "Union", "Prime", "Blue", "Star", "Trans"]  # fmt: skip
_TRADES = ["Trading", "Logistics", "Foods", "Imports", "Exports", "Industries", "Fruit", "Textiles"]
_FORMS = ["Ltd", "SA", "NV", "BV", "GmbH", "SRL", "LLC", "Co"]
_SEAL_SOURCES = ["CAR", "SHI", "CUS"]
_SEAL_TYPES = ["BLT", "WIR", "KLP"]


@dataclass(frozen=True, slots=True)
class PortDay:
    """Paths of a generated port day."""

    consignments: Path
    events: Path
    count: int


def _check_digits(frame: pl.DataFrame, prefix: str) -> pl.Series:
    return frame.select(ids.container_check_digit(pl.col(prefix)).cast(pl.String)).to_series()


def _imo_numbers(rng: np.random.Generator, n: int) -> list[str]:
    digits = rng.integers(0, 10, size=(n, 6))
    digits[:, 0] = 9
    check = (digits * np.arange(7, 1, -1)).sum(axis=1) % 10
    return ["".join(map(str, row)) + str(c) for row, c in zip(digits, check, strict=True)]


def _parties(
    rng: np.random.Generator, n: int, countries: np.ndarray, aeo_share: float
) -> pl.DataFrame:
    names = [
        f"{_WORDS[a]} {_TRADES[b]} {_FORMS[c]}" + (f" {d}" if d else "")
        for a, b, c, d in zip(
            rng.integers(0, len(_WORDS), n), rng.integers(0, len(_TRADES), n),
            rng.integers(0, len(_FORMS), n), rng.integers(0, 500, n), strict=True,
        )
    ]  # fmt: skip
    aeo = np.where(rng.random(n) < aeo_share, rng.choice(["AEOC", "AEOS", "AEOF"], n), "NONE")
    return pl.DataFrame({
        "name": names,
        "address": [f"{s} Harbour Road, {c}" for s, c in zip(rng.integers(1, 999, n), countries, strict=True)],
        "country": countries,
        "eori": [f"{c}{v:012d}" if a != "NONE" else None for c, v, a in zip(countries, rng.integers(0, 10**12, n), aeo, strict=True)],
        "aeo": aeo,
        "phone": [f"+{v:011d}" for v in rng.integers(10**10, 10**11, n)],
        "email": [f"info{i}@example.com" for i in range(n)],
    })  # fmt: skip


def generate(
    out: Path,
    *,
    count: int = 2_000,
    seed: int = 7,
    noise: float = 0.01,
    day: datetime | None = None,
    port_of_discharge: str = "BEANR",
    items_per_consignment: int = 3,
    with_events: bool = True,
) -> PortDay:
    """Write ``consignments.csv`` and ``events.json`` for ``count`` consignments into ``out``."""
    rng = np.random.default_rng(seed)
    day = day or datetime(2026, 11, 2, tzinfo=UTC)
    out.mkdir(parents=True, exist_ok=True)
    table = [p for p in ports().values() if p.locode != port_of_discharge]
    weights = np.array([REGION_WEIGHTS.get(p.region, 1) for p in table], dtype=float)
    origin = rng.choice(len(table), size=count, p=weights / weights.sum())
    pol = np.array([table[i].locode for i in origin])
    country = np.array([table[i].country for i in origin])
    hub = np.where(rng.random(count) < 0.35, rng.choice(HUBS, count), "")
    hub = np.where(hub == pol, "", hub)
    transit = rng.integers(12, 40, count)
    eta = [day + timedelta(hours=int(h)) for h in rng.integers(0, 24, count)]
    departed = [e - timedelta(days=int(t)) for e, t in zip(eta, transit, strict=True)]
    lodged = [
        d - timedelta(hours=int(h))
        for d, h in zip(departed, rng.integers(26, 72, count), strict=True)
    ]
    carrier = rng.integers(0, len(CARRIERS), count)
    vessels = _imo_numbers(rng, 60)
    vessel = rng.integers(0, len(vessels), count)
    n_parties = max(count // 8, 20)
    shippers = _parties(rng, n_parties, rng.choice(country, n_parties), 0.05)
    receivers = _parties(rng, n_parties, np.full(n_parties, port_of_discharge[:2]), 0.15)
    consignor = rng.integers(0, n_parties, count)
    consignee = rng.integers(0, n_parties, count)
    header = pl.DataFrame({
        "consignment_id": [f"{day:%y%m%d}-{port_of_discharge}-{i:07d}" for i in range(count)],
        "version": ["1"] * count,
        "transport_document": [f"{CARRIERS[c][0]}{seed % 100:02d}{i:08d}" for i, c in enumerate(carrier)],
        "lodged_at": [t.isoformat() for t in lodged],
        "carrier_scac": [CARRIERS[c][0] for c in carrier],
        "vessel_imo": [vessels[v] for v in vessel],
        "vessel_name": [f"{_WORDS[v % len(_WORDS)].upper()} {v}" for v in vessel],
        "voyage": [f"{v:03d}W" for v in vessel],
        "port_of_loading": pol,
        "transshipment_ports": hub,
        "port_of_discharge": [port_of_discharge] * count,
        "place_of_delivery": [port_of_discharge] * count,
        "eta": [t.isoformat() for t in eta],
        "_owner": [CARRIERS[c][1] for c in carrier],
        "_consignor": consignor, "_consignee": consignee, "_departed": departed, "_hub": hub,
    })  # fmt: skip
    for role, source, index in (("consignor", shippers, "_consignor"), ("consignee", receivers, "_consignee"),
                                ("declarant", receivers, "_consignee")):  # fmt: skip
        header = header.with_columns(
            source[header[index].to_list()].select(pl.all().name.prefix(f"{role}_")).get_columns()
        )
    items = rng.integers(1, items_per_consignment + 1, count)
    rows = (
        header.select(pl.all().repeat_by(pl.lit(items)).explode())
        if items_per_consignment > 1
        else header
    )
    n = rows.height
    goods = rng.integers(0, len(GOODS), n)
    mass = np.round(rng.uniform(2_000, 24_000, n), 1)
    low = np.array([GOODS[g][3][0] for g in goods])
    high = np.array([GOODS[g][3][1] for g in goods])
    serial = [f"{s:06d}" for s in rng.integers(0, 10**6, n)]
    rows = rows.with_columns(
        pl.int_range(1, pl.len() + 1).over("consignment_id").cast(pl.String).alias("item_sequence"),
        pl.Series("hs6", [GOODS[g][0] for g in goods]),
        pl.Series("description", [GOODS[g][1] for g in goods]),
        pl.Series("packages", rng.integers(10, 2_000, n).astype(str)),
        pl.Series("package_type", [GOODS[g][2] for g in goods]),
        pl.Series("gross_mass_kg", mass.astype(str)),
        pl.Series("value", np.round(mass * rng.uniform(low, high), 2).astype(str)),
        pl.lit("EUR").alias("currency"),
        pl.col("consignor_country").alias("origin_country"),
        (pl.col("_owner") + pl.Series(serial)).alias("_prefix"),
        pl.Series("container_size_type", [GOODS[g][4] for g in goods]),
        pl.lit("LADEN").alias("container_status"),
    )
    rows = rows.with_columns(
        (pl.col("_prefix") + _check_digits(rows, "_prefix")).alias("container_number"),
        pl.Series("seals", [f"{a}:{b}:{c}" for a, b, c in zip(
            rng.choice(_SEAL_SOURCES, n), rng.choice(_SEAL_TYPES, n),
            [f"SL{v:08d}" for v in rng.integers(0, 10**8, n)], strict=True)]),
    )  # fmt: skip
    rows = _add_noise(rows, rng, noise)
    from quaywatch.intake.consignments import COLUMNS

    consignments_path = out / "consignments.csv"
    absent = [pl.lit(None, pl.String).alias(c) for c in COLUMNS if c not in rows.columns]
    rows.with_columns(absent).select(COLUMNS).write_csv(consignments_path)
    events_path = out / "events.json"
    if with_events:
        events_path.write_text(json.dumps(_events(rows, rng), indent=None))
    return PortDay(consignments_path, events_path, count)


def _add_noise(rows: pl.DataFrame, rng: np.random.Generator, noise: float) -> pl.DataFrame:
    """Corrupt one field of a ``noise`` share of consignments, as a real feed would."""
    ids_ = rows["consignment_id"].unique(maintain_order=True)
    bad = (
        ids_.sample(n=int(len(ids_) * noise), seed=int(rng.integers(0, 2**31)))
        if noise
        else ids_.clear()
    )
    kind = pl.Series(rng.integers(0, 5, len(bad)))
    faults = pl.DataFrame({"consignment_id": bad, "_fault": kind})
    rows = rows.join(faults, on="consignment_id", how="left", maintain_order="left")
    fault = pl.col("_fault")
    return rows.with_columns(
        pl.when(fault == 0).then(pl.col("container_number").str.slice(0, 10) + "X").otherwise("container_number").alias("container_number"),
        pl.when(fault == 1).then(pl.lit("999999")).otherwise("hs6").alias("hs6"),
        pl.when(fault == 2).then(pl.lit("next tuesday")).otherwise("lodged_at").alias("lodged_at"),
        pl.when(fault == 3).then(pl.lit("XXABC")).otherwise("port_of_loading").alias("port_of_loading"),
        pl.when(fault == 4).then(pl.lit("-12")).otherwise("gross_mass_kg").alias("gross_mass_kg"),
    )  # fmt: skip


def _events(rows: pl.DataFrame, rng: np.random.Generator) -> list[dict[str, object]]:
    """DCSA equipment events along each container's route: load, transship, discharge."""
    out: list[dict[str, object]] = []
    boxes = rows.unique("container_number", keep="first", maintain_order=True)
    for box in boxes.iter_rows(named=True):
        departed, hub = box["_departed"], box["_hub"]
        seals = [{"sealNumber": s.split(":")[2], "sealSource": s.split(":")[0], "sealType": s.split(":")[1]}
                 for s in (box["seals"] or "").split("|") if s.count(":") == 2]  # fmt: skip
        legs = [("LOAD", box["port_of_loading"], departed, False)]
        if hub:
            stop = departed + timedelta(days=int(rng.integers(5, 15)))
            dwell = timedelta(hours=int(rng.integers(12, 96)))
            legs += [("DISC", hub, stop, True), ("LOAD", hub, stop + dwell, True)]
        arrival = datetime.fromisoformat(box["eta"])
        legs.append(("DISC", box["port_of_discharge"], arrival + timedelta(hours=3), False))
        for code, place, when, transship in legs:
            out.append({
                "eventID": f"{box['container_number']}-{code}-{place}-{when:%Y%m%d%H}",
                "eventType": "EQUIPMENT", "eventClassifierCode": "ACT",
                "eventDateTime": when.isoformat(),
                "eventCreatedDateTime": (when + timedelta(minutes=5)).isoformat(),
                "equipmentEventTypeCode": code, "equipmentReference": box["container_number"],
                "ISOEquipmentCode": box["container_size_type"], "emptyIndicatorCode": "LADEN",
                "isTransshipmentMove": transship,
                "eventLocation": {"UNLocationCode": place},
                "transportCall": {"UNLocationCode": place, "facilityTypeCode": "POTE",
                                  "vessel": {"vesselIMONumber": box["vessel_imo"]}},
                "seals": seals,
                "documentReferences": [{"documentReferenceType": "TRD",
                                        "documentReferenceValue": box["transport_document"]}],
            })  # fmt: skip
    return out
