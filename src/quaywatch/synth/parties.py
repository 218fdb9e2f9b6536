"""A population of traders reused across days, so that party history carries signal.

Consignees are drawn with Zipf-like activity (a few large importers, a long tail), most of
them known for years before the window; a stream of newcomers appears during it. About one
consignee in eight by traffic is an AEO. A few percent are "bad actors" whose consignments are
far more often fraudulent, and shell companies appear days before they are used, sharing an
address or a phone number with such an offender. Consignors belong to an origin port; declarants
are customs brokers or the consignee itself. Names carry a legal form of their country, EU
parties a well-formed EORI (Belgian ones with the enterprise-number check digits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from quaywatch.synth.world import EU, World, choose_by_key

_WORDS = [
    "Atlas", "Nova", "Green", "Harbor", "Pacific", "Delta", "Sun", "Royal", "Euro", "Andes",
    "Tropic", "Orient", "Silver", "Union", "Prime", "Blue", "Star", "Trans", "North", "Golden",
    "Ocean", "Summit", "Eagle", "Lotus", "Crown", "Coral", "Vista", "Terra", "Alpha", "Omega",
    "Falcon", "Sierra", "Jade", "Amber", "Polar", "Meridian", "Horizon", "Pioneer", "Liberty",
    "Crest", "Rainbow", "Dragon", "Phoenix", "Cedar", "Maple", "Lion", "Tiger", "Pearl", "Apex",
    "Zenith", "Global", "Central", "Western", "Eastern", "Southern", "Continental", "Imperial",
    "Victory", "Fortune"
]  # fmt: skip
_TRADES = [
    "Trading", "Logistics", "Foods", "Imports", "Exports", "Industries", "Fruit", "Textiles",
    "Electronics", "Distribution", "Supply", "Commodities", "Retail", "Wholesale", "Materials",
    "Products", "Shipping", "Agro", "Seafood", "Garments"
]  # fmt: skip
_FORMS = {
    "BE": ("NV", "BV", "SRL", "BVBA"), "NL": ("BV", "NV"), "DE": ("GmbH", "AG", "KG"),
    "FR": ("SAS", "SARL", "SA"), "LU": ("SARL", "SA"), "GB": ("Ltd", "PLC"),
    "US": ("Inc", "LLC", "Corp"), "CN": ("Co Ltd",), "HK": ("Ltd",), "IN": ("Pvt Ltd",),
    "BR": ("Ltda", "SA"), "CO": ("SAS", "Ltda"), "EC": ("SA", "Cia Ltda"), "JP": ("KK",),
    "KR": ("Co Ltd",), "VN": ("JSC", "Co Ltd"), "TR": ("AS", "Ltd Sti"), "ZA": ("Pty Ltd",),
}  # fmt: skip
_DEFAULT_FORMS = ("Ltd", "SA", "Co")
#: Where consignees sit: mostly the port's hinterland, weighted roughly by import volume.
_CONSIGNEE_COUNTRIES = {"BE": 55, "NL": 15, "DE": 15, "FR": 10, "LU": 5}
_CITIES = {
    "BE": ("2030 Antwerpen", "9000 Gent", "1000 Brussel", "2800 Mechelen", "3500 Hasselt", "8380 Zeebrugge", "2440 Geel", "4000 Liege"),
    "NL": ("3011 Rotterdam", "5611 Eindhoven", "4811 Breda", "1012 Amsterdam", "6511 Nijmegen"),
    "DE": ("40210 Duesseldorf", "50667 Koeln", "44135 Dortmund", "45127 Essen", "52062 Aachen"),
    "FR": ("59000 Lille", "75011 Paris", "67000 Strasbourg", "51100 Reims"),
    "LU": ("1111 Luxembourg", "4001 Esch-sur-Alzette"),
}  # fmt: skip
_STREETS = (
    "Industrieweg", "Havenlaan", "Noorderlaan", "Kanaalstraat", "Stationsstraat", "Kerkstraat",
    "Hoogstraat", "Schoonmansveld", "Europark", "Logistiekweg", "Hafenstrasse",
    "Industriestrasse", "Rue du Port", "Avenue Louise"
)  # fmt: skip
_FOREIGN_STREETS = (
    "Harbour Road",
    "Industrial Avenue",
    "Export Zone Street",
    "Free Trade Zone Road",
    "Port Boulevard",
    "Commerce Street",
    "Warehouse Lane",
    "Avenida del Puerto",
)
_CALLING = {
    "BE": "32", "NL": "31", "DE": "49", "FR": "33", "LU": "352", "GB": "44", "US": "1",
    "CA": "1", "CN": "86", "HK": "852", "TW": "886", "KR": "82", "JP": "81", "SG": "65",
    "MY": "60", "TH": "66", "VN": "84", "ID": "62", "PH": "63", "IN": "91", "PK": "92",
    "LK": "94", "BD": "880", "AE": "971", "SA": "966", "OM": "968", "QA": "974", "TR": "90",
    "IL": "972", "EG": "20", "MA": "212", "ZA": "27", "NG": "234", "GH": "233", "CI": "225",
    "SN": "221", "CM": "237", "KE": "254", "TZ": "255", "BR": "55", "AR": "54", "CL": "56",
    "PE": "51", "EC": "593", "CO": "57", "PA": "507", "CR": "506", "MX": "52", "GT": "502",
    "DO": "1", "JM": "1", "AU": "61", "NZ": "64",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Parties:
    """Every party of a run (``table``, one row per party) and how each role is drawn."""

    table: pl.DataFrame
    consignee_ids: np.ndarray  # established consignees, most active first
    consignee_cum: np.ndarray  # cumulative Zipf activity over ``consignee_ids``
    newcomer_ids: np.ndarray  # consignees first seen in or just before the window
    newcomer_day: np.ndarray  # their first-seen day relative to the start, sorted
    shell_ids: np.ndarray
    shell_day: np.ndarray
    broker_ids: np.ndarray
    consignor_offset: np.ndarray  # per origin port, first consignor id of its block
    consignor_count: np.ndarray
    aeo: np.ndarray  # per party: AEO status is not NONE
    bad: np.ndarray  # per party: a bad actor (offender)

    def consignees(self, rng: np.random.Generator, n: int, day: int) -> np.ndarray:
        """Consignee ids for ``n`` ordinary consignments lodged on ``day``."""
        known = self.consignee_ids[np.searchsorted(self.consignee_cum, rng.random(n))]
        recent = self.recent(self.newcomer_ids, self.newcomer_day, rng, n, day, 120)
        return np.where(rng.random(n) < 0.04, recent, known)

    def recent(
        self,
        pool: np.ndarray,
        first_day: np.ndarray,
        rng: np.random.Generator,
        n: int,
        day: int,
        window: int,
    ) -> np.ndarray:
        """Parties of ``pool`` first seen within ``window`` days up to ``day`` (or the oldest)."""
        hi = max(int(np.searchsorted(first_day, day, side="right")), 1)
        lo = min(int(np.searchsorted(first_day, day - window, side="left")), hi - 1)
        chosen: np.ndarray = pool[lo + (rng.random(n) * (hi - lo)).astype(np.int64)]
        return chosen

    def consignors(self, rng: np.random.Generator, origin: np.ndarray) -> np.ndarray:
        """A consignor at each origin port, the port's large shippers more often."""
        skew = rng.random(len(origin)) ** 2.5
        chosen: np.ndarray = self.consignor_offset[origin] + (
            skew * self.consignor_count[origin]
        ).astype(np.int64)
        return chosen


def _belgian_eori(rng: np.random.Generator, n: int) -> np.ndarray:
    """``BE`` and an enterprise number: 0 or 1, seven digits, then 97 - (first eight mod 97)."""
    base = rng.integers(2_000_000, 19_999_999, n)
    check = 97 - base % 97
    return np.char.add("BE", np.char.mod("%010d", base * 100 + check))


def _eori(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    """A well-formed EORI for each EU country (others get an empty string)."""
    n = len(country)
    digits = rng.integers(10**8, 10**9, n)
    other = np.char.add(country, np.char.mod("%09d", digits))
    german = np.char.add("DE", np.char.mod("%07d", digits % 10**7))
    french = np.char.add("FR", np.char.mod("%014d", digits * 100_000 + rng.integers(0, 10**5, n)))
    out = np.where(country == "BE", _belgian_eori(rng, n), other)
    out = np.where(country == "DE", german, out)
    out = np.where(country == "FR", french, out)
    return np.where(np.isin(country, list(EU)), out, "")


def _people(
    rng: np.random.Generator, country: np.ndarray, city: np.ndarray, domestic: bool
) -> pl.DataFrame:
    """Name, address, phone and e-mail for parties in ``country`` / ``city``."""
    n = len(country)
    form = choose_by_key(rng, _FORMS, country, _DEFAULT_FORMS)
    frame = pl.DataFrame(
        {
            "w1": rng.choice(_WORDS, n),
            "w2": np.where(rng.random(n) < 0.4, rng.choice(_WORDS, n), ""),
            "trade": rng.choice(_TRADES, n),
            "form": form,
            "street": rng.choice(_STREETS if domestic else _FOREIGN_STREETS, n),
            "number": rng.integers(1, 400, n),
            "city": city,
            "country": country,
            "calling": choose_by_key(rng, {k: (v,) for k, v in _CALLING.items()}, country, ("1",)),
            "line": rng.integers(10**7, 10**9, n),
            "mailbox": rng.choice(["info", "import", "sales", "office", "logistics"], n),
        }
    )
    core = pl.concat_str(pl.col("w1"), pl.col("w2"), pl.col("trade"), separator=" ").str.replace(
        "  ", " ", literal=True
    )
    address = (
        pl.format("{} {}, {}", "street", "number", "city")
        if domestic
        else pl.format("{} {}, {}", "number", "street", "city")
    )
    return frame.select(
        pl.concat_str(core, pl.col("form"), separator=" ").alias("name"),
        address.alias("address"),
        pl.col("country"),
        pl.format("+{} {}", "calling", "line").alias("phone"),
        pl.format(
            "{}@{}.{}",
            "mailbox",
            core.str.to_lowercase().str.replace_all(" ", "-", literal=True),
            pl.when(pl.col("country").is_in(["US", "GB"]))
            .then(pl.lit("com"))
            .otherwise(pl.col("country").str.to_lowercase()),
        ).alias("email"),
    )


def _aeo_by_traffic(
    rng: np.random.Generator, activity: np.ndarray, share: float, eligible: np.ndarray
) -> np.ndarray:
    """AEO statuses covering about ``share`` of traffic, favouring large traders."""
    score = np.log(activity) + rng.gumbel(size=len(activity)) * 2.5
    score = np.where(eligible, score, -np.inf)
    order = np.argsort(-score, kind="stable")
    covered = np.cumsum(activity[order]) / activity.sum()
    is_aeo = np.zeros(len(activity), dtype=bool)
    is_aeo[order[covered <= share]] = True
    kinds = rng.choice(["AEOF", "AEOC", "AEOS"], len(activity), p=[0.7, 0.2, 0.1])
    return np.where(is_aeo, kinds, "NONE")


def _consignors(rng: np.random.Generator, world: World, per_port: np.ndarray) -> pl.DataFrame:
    """A block of shippers per origin port, in the port's city and country."""
    port_of = np.repeat(np.arange(len(world.origin)), per_port)
    n = len(port_of)
    country = world.origin_country[port_of]
    gb_eori = np.char.add("GB", np.char.mod("%012d", rng.integers(10**11, 10**12, n)))
    eori = np.where((country == "GB") & (rng.random(n) < 0.6), gb_eori, "")
    return _people(rng, country, world.origin_name[port_of], domestic=False).with_columns(
        pl.Series("eori", eori).replace("", None),
        pl.Series("aeo", np.where(rng.random(n) < 0.04, "AEOS", "NONE")),
        pl.Series("first_seen", -rng.integers(30, 4_000, n)),
        pl.lit("consignor").alias("kind"),
        pl.lit(False).alias("bad_actor"),
        pl.lit(-1, pl.Int64).alias("linked_to"),
    )


def build(
    rng: np.random.Generator, world: World, start: date, days: int, per_day: int,
    shell_share: float,
) -> Parties:  # fmt: skip
    """The run's trader population, sized to the traffic it will carry.

    Rows of ``table`` (``party_id``): established consignees by falling activity, newcomers,
    shell companies, brokers, then the consignors of each origin port in turn. ``first_seen``
    is a date; ``linked_to`` is, for a shell company, the offender whose contact it shares.
    """
    total = days * per_day
    sizes = {
        "consignee": int(np.clip(total / 40, 300, 40_000)),
        "newcomer": int(np.clip(total / 500, 40, 4_000)),
        "shell": int(np.ceil(total * shell_share / 4)) + 3,
        "broker": 40,
    }
    n_known, n_new, n_shell, n_brokers = sizes.values()
    kind = np.repeat(list(sizes), list(sizes.values()))
    first_shell, first_broker = n_known + n_new, n_known + n_new + n_shell

    # Zipf activity by rank; AEOs are mostly the big ones, offenders small ones.
    activity = 1.0 / np.arange(1, n_known + 1) ** 0.8
    aeo = np.full(len(kind), "NONE", dtype="<U4")
    aeo[:n_known] = _aeo_by_traffic(rng, activity, 0.12, np.ones(n_known, dtype=bool))
    aeo[n_known:first_shell] = np.where(rng.random(n_new) < 0.02, "AEOC", "NONE")
    aeo[first_broker:] = np.where(rng.random(n_brokers) < 0.6, "AEOF", "NONE")
    risky = np.where(kind == "consignee", 0.03, np.where(kind == "newcomer", 0.12, 0.0))
    large = np.arange(len(kind)) < 100
    bad = (aeo == "NONE") & ~large & (rng.random(len(kind)) < risky)
    offenders = np.flatnonzero(bad)
    if len(offenders) == 0:
        offenders = np.array([n_known - 1])
    bad[first_shell:first_broker] = True
    linked = np.full(len(kind), -1, dtype=np.int64)
    linked[first_shell:first_broker] = rng.choice(offenders, n_shell)

    countries = list(_CONSIGNEE_COUNTRIES)
    weights = np.array(list(_CONSIGNEE_COUNTRIES.values()), dtype=float)
    home = rng.choice(countries, len(kind), p=weights / weights.sum())
    home[first_broker:] = world.port_of_discharge[:2] if world.port_of_discharge[:2] in EU else "BE"
    # A shell company is set up next to its offender, in the same country.
    home[first_shell:first_broker] = home[linked[first_shell:first_broker]]
    domestic = _people(rng, home, choose_by_key(rng, _CITIES, home, ("1000 Brussel",)), True)

    # It takes over the offender's address (70 %) or phone (50 %): the link a graph can find.
    link = rng.random(len(kind))
    source = np.maximum(linked, 0)
    is_shell = linked >= 0
    domestic = domestic.with_columns(
        pl.when(pl.lit(pl.Series(is_shell & (link < 0.7))))
        .then(domestic["address"].gather(source))
        .otherwise(pl.col("address"))
        .alias("address"),
        pl.when(pl.lit(pl.Series(is_shell & (link >= 0.5))))
        .then(domestic["phone"].gather(source))
        .otherwise(pl.col("phone"))
        .alias("phone"),
    )
    seen = np.concatenate([
        -rng.integers(30, 3_000, n_known),
        np.sort(rng.integers(-60, max(days, 1), n_new)),
        np.concatenate([[-14], np.sort(rng.integers(-14, max(days, 1), n_shell - 1))]),
        -rng.integers(2_000, 6_000, n_brokers),
    ])  # fmt: skip
    domestic = domestic.with_columns(
        pl.Series("eori", _eori(rng, home)).replace("", None),
        pl.Series("aeo", aeo),
        pl.Series("first_seen", seen),
        pl.Series("kind", kind),
        pl.Series("bad_actor", bad),
        pl.Series("linked_to", linked),
    )
    per_port = np.maximum(
        np.ceil(world.origin_weight * np.clip(total / 30, 400, 50_000)).astype(np.int64), 3
    )
    epoch = start.toordinal() - date(1970, 1, 1).toordinal()
    table = pl.concat([domestic, _consignors(rng, world, per_port)]).with_columns(
        pl.from_epoch(pl.col("first_seen") + epoch, time_unit="d")
    )
    base = domestic.height
    return Parties(
        table=table.with_row_index("party_id"),
        consignee_ids=np.arange(n_known),
        consignee_cum=np.cumsum(activity) / activity.sum(),
        newcomer_ids=np.arange(n_known, first_shell),
        newcomer_day=seen[n_known:first_shell],
        shell_ids=np.arange(first_shell, first_broker),
        shell_day=seen[first_shell:first_broker],
        broker_ids=np.arange(first_broker, base),
        consignor_offset=base + np.concatenate([[0], np.cumsum(per_port)[:-1]]),
        consignor_count=per_port,
        aeo=(table["aeo"] != "NONE").to_numpy(),
        bad=table["bad_actor"].to_numpy(),
    )
