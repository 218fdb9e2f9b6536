"""The fixed world synthetic traffic moves through: lanes, hubs, carriers, vessels, goods.

Everything here is reference data or drawn once per run from the seed: which ports ship to the
port of discharge and how much (region weights over the curated ``ports.csv``), which hubs each
region transships through, the carriers with their SCAC, container owner codes and fleets (IMO
numbers with valid check digits), and a goods catalogue of real HS6 subheadings with a typical
value per kilogram, container type and duty rate. ``docs/synthetic-traffic.md`` explains the
figures; they are rough orders of magnitude, chosen so that value-per-kg and lane features
behave like real ones, not copied from any administration's data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quaywatch.domain import identifiers as ids, reference
from quaywatch.domain.reference import shipped_ports as ports

#: EU member states: their ports are not origins (no entry summary declaration for EU goods),
#: their parties carry EORI numbers.
EU = frozenset((
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
))  # fmt: skip
#: Share of traffic to a North European port by origin region (relative weights).
REGION_WEIGHTS = {
    "East Asia": 32, "Southeast Asia": 10, "South Asia": 8, "Middle East": 5,
    "North America": 9, "South America": 10, "Central America": 6, "Caribbean": 2,
    "West Africa": 5, "East Africa": 2, "Southern Africa": 3, "North Africa": 3,
    "Mediterranean": 3, "Oceania": 1.5, "Black Sea": 1, "North Europe": 1,
}  # fmt: skip
REGIONS = list(REGION_WEIGHTS)
#: Sanctioned origins are left out so that every generated lane is a plausible one today.
_EXCLUDED_COUNTRIES = frozenset({"RU", "IR"})
#: Per region: share of consignments transshipped, the hubs used, and sea days (low, high).
LANES: dict[str, tuple[float, tuple[str, ...], tuple[int, int]]] = {
    "East Asia": (0.33, ("SGSIN", "LKCMB", "AEJEA", "MAPTM", "GRPIR", "MTMAR"), (28, 38)),
    "Southeast Asia": (0.40, ("SGSIN", "LKCMB", "AEJEA", "MAPTM"), (24, 32)),
    "South Asia": (0.45, ("LKCMB", "AEJEA", "MAPTM", "GRPIR"), (18, 26)),
    "Middle East": (0.20, ("AEJEA", "GRPIR", "MTMAR"), (15, 22)),
    "North America": (0.08, ("ESALG", "JMKIN"), (9, 14)),
    "South America": (0.45, ("PAMIT", "COCTG", "JMKIN", "PABLB", "ESALG", "MAPTM"), (16, 24)),
    "Central America": (0.50, ("PAMIT", "COCTG", "JMKIN", "PABLB", "ESALG"), (14, 20)),
    "Caribbean": (0.55, ("JMKIN", "COCTG", "ESALG"), (12, 18)),
    "West Africa": (0.50, ("MAPTM", "ESALG", "TGLFW"), (12, 18)),
    "East Africa": (0.60, ("AEJEA", "LKCMB", "DJJIB", "MAPTM"), (18, 26)),
    "Southern Africa": (0.35, ("MAPTM", "ESALG", "LKCMB"), (16, 22)),
    "North Africa": (0.30, ("MAPTM", "ESALG", "MTMAR"), (5, 9)),
    "Mediterranean": (0.40, ("GRPIR", "MTMAR", "MAPTM"), (7, 12)),
    "Oceania": (0.70, ("SGSIN", "LKCMB"), (36, 44)),
    "Black Sea": (0.50, ("GRPIR", "MTMAR"), (10, 15)),
    "North Europe": (0.0, (), (1, 4)),
}
#: Every hub a route may pass; SGSIN ... DJJIB are real transshipment ports in ``ports.csv``.
HUBS = sorted({hub for _, hubs, _ in LANES.values() for hub in hubs})
#: (SCAC, container owner codes, vessel name pattern, market share).
CARRIERS = [
    ("MSCU", ("MSCU", "MEDU", "MSDU"), "MSC {}", 20.0),
    ("MAEU", ("MAEU", "MRKU", "MSKU"), "MAERSK {}", 16.0),
    ("CMDU", ("CMAU", "CGMU", "ECMU"), "CMA CGM {}", 13.0),
    ("HLCU", ("HLXU", "HLBU", "HAMU"), "{} EXPRESS", 10.0),
    ("COSU", ("CSNU", "CBHU", "CCLU"), "COSCO {}", 9.0),
    ("EGLV", ("EGHU", "EISU", "EMCU"), "EVER {}", 8.0),
    ("ONEY", ("ONEU", "NYKU", "TCNU"), "ONE {}", 7.0),
    ("ZIMU", ("ZIMU", "ZCSU"), "ZIM {}", 4.0),
    ("YMLU", ("YMLU", "YMMU"), "YM {}", 4.0),
    ("HDMU", ("HDMU", "HMMU"), "HMM {}", 4.0),
]  # fmt: skip
MAINLINERS = 16
FEEDERS = 8

#: category: (ISO size/type, payload tonnes per container (low, high), package, origin weights).
CATEGORIES: dict[str, tuple[str, tuple[float, float], str, dict[str, float]]] = {
    "fruit": ("45R1", (16, 22), "CT", {"South America": 10, "Central America": 8, "Caribbean": 2, "Southern Africa": 3, "North Africa": 2, "Mediterranean": 2, "Oceania": 1, "West Africa": 1}),
    "fish": ("45R1", (14, 24), "CT", {"Southeast Asia": 4, "South Asia": 3, "South America": 4, "East Asia": 2, "West Africa": 1, "North America": 1, "Oceania": 1, "North Europe": 1}),
    "dry_food": ("22G1", (14, 24), "BG", {"South America": 4, "Central America": 2, "West Africa": 4, "East Africa": 3, "Southeast Asia": 3, "South Asia": 3, "East Asia": 1, "Mediterranean": 1, "Oceania": 1}),
    "apparel": ("45G1", (4, 12), "CT", {"East Asia": 6, "South Asia": 6, "Southeast Asia": 4, "Mediterranean": 2, "North Africa": 2}),
    "footwear": ("45G1", (4, 10), "CT", {"East Asia": 6, "Southeast Asia": 5, "South Asia": 1}),
    "electronics": ("45G1", (3, 10), "CT", {"East Asia": 10, "Southeast Asia": 3, "North America": 1}),
    "toys": ("45G1", (3, 9), "CT", {"East Asia": 9, "Southeast Asia": 2}),
    "household": ("45G1", (6, 16), "PK", {"East Asia": 8, "Southeast Asia": 3, "Mediterranean": 2, "South Asia": 1, "North Africa": 1}),
    "vehicles": ("42G1", (8, 18), "VN", {"East Asia": 6, "North America": 3, "South Asia": 1, "Mediterranean": 1, "North Europe": 1}),
    "industrial": ("22G1", (15, 26), "PK", {"East Asia": 6, "North America": 4, "Middle East": 5, "South Asia": 2, "Mediterranean": 1, "Southern Africa": 1, "Black Sea": 1, "North Europe": 2}),
    "pharma": ("22G1", (2, 8), "CT", {"North America": 4, "South Asia": 3, "East Asia": 1, "Mediterranean": 1, "North Europe": 2}),
    "beverages": ("22G1", (10, 20), "CT", {"South America": 2, "Southern Africa": 2, "Oceania": 2, "North America": 1, "East Asia": 0.3}),
    "timber": ("42G1", (18, 26), "PK", {"West Africa": 3, "South America": 1.5, "Southeast Asia": 1.5, "North America": 1, "Central America": 0.5}),
    "wildlife": ("22G1", (0.5, 5), "PK", {"West Africa": 0.02, "Southeast Asia": 0.02, "South America": 0.02}),
}  # fmt: skip
CATEGORY_NAMES = list(CATEGORIES)

#: (HS6, category, description, median EUR per kg, lognormal sigma); duties are the tariff's
#: (``domain/data/tariff.csv``), which risk analysis reads too.
GOODS: list[tuple[str, str, str, float, float]] = [
    ("080390", "fruit", "Fresh bananas", 0.75, 0.25),
    ("080430", "fruit", "Fresh pineapples", 1.0, 0.3),
    ("080440", "fruit", "Fresh avocados", 2.2, 0.3),
    ("080450", "fruit", "Fresh mangoes", 1.8, 0.3),
    ("080510", "fruit", "Fresh oranges", 0.9, 0.3),
    ("080521", "fruit", "Fresh mandarins", 1.1, 0.3),
    ("080550", "fruit", "Fresh limes", 1.2, 0.3),
    ("080610", "fruit", "Fresh table grapes", 2.0, 0.3),
    ("080810", "fruit", "Fresh apples", 0.9, 0.25),
    ("081050", "fruit", "Fresh kiwifruit", 1.5, 0.3),
    ("030617", "fish", "Frozen shrimps", 7.5, 0.35),
    ("030342", "fish", "Frozen yellowfin tuna", 3.5, 0.3),
    ("030366", "fish", "Frozen hake", 2.8, 0.3),
    ("030462", "fish", "Frozen pangasius fillets", 2.2, 0.3),
    ("030475", "fish", "Frozen Alaska pollock fillets", 3.0, 0.3),
    ("030487", "fish", "Frozen tuna loins", 6.0, 0.3),
    ("030743", "fish", "Frozen squid", 3.5, 0.35),
    ("090111", "dry_food", "Green coffee beans", 4.5, 0.3),
    ("180100", "dry_food", "Raw cocoa beans", 5.0, 0.3),
    ("090230", "dry_food", "Black tea in packets", 3.5, 0.35),
    ("090411", "dry_food", "Black pepper, whole", 5.0, 0.3),
    ("080132", "dry_food", "Cashew kernels", 7.0, 0.3),
    ("100630", "dry_food", "Milled rice", 0.8, 0.25),
    ("160414", "dry_food", "Canned tuna", 5.0, 0.3),
    ("151190", "dry_food", "Refined palm oil", 1.0, 0.2),
    ("610910", "apparel", "Cotton T-shirts", 9.0, 0.45),
    ("611030", "apparel", "Pullovers of man-made fibres", 12.0, 0.45),
    ("611020", "apparel", "Cotton pullovers", 12.0, 0.45),
    ("620342", "apparel", "Men's cotton trousers", 11.0, 0.45),
    ("620462", "apparel", "Women's cotton trousers", 11.0, 0.45),
    ("630260", "apparel", "Cotton terry towels", 6.0, 0.4),
    ("630790", "apparel", "Made-up textile articles", 5.0, 0.5),
    ("520942", "apparel", "Cotton denim fabric", 5.0, 0.35),
    ("420222", "apparel", "Handbags of textile or plastic", 15.0, 0.5),
    ("640299", "footwear", "Footwear with rubber or plastic soles", 8.0, 0.5),
    ("640411", "footwear", "Sports shoes with textile uppers", 14.0, 0.5),
    ("640391", "footwear", "Leather ankle boots", 20.0, 0.45),
    ("640610", "footwear", "Shoe uppers", 9.0, 0.5),
    ("847130", "electronics", "Laptop computers", 90.0, 0.4),
    ("851713", "electronics", "Smartphones", 300.0, 0.5),
    ("852872", "electronics", "LED television sets", 9.0, 0.35),
    ("852852", "electronics", "Computer monitors", 11.0, 0.35),
    ("850760", "electronics", "Lithium-ion batteries", 18.0, 0.4),
    ("851830", "electronics", "Headphones and earphones", 40.0, 0.5),
    ("854143", "electronics", "Photovoltaic modules", 3.5, 0.3),
    ("850440", "electronics", "Power supplies and chargers", 12.0, 0.45),
    ("847330", "electronics", "Computer parts and accessories", 40.0, 0.5),
    ("851762", "electronics", "Network routers and switches", 60.0, 0.5),
    ("950300", "toys", "Toys, dolls and puzzles", 8.0, 0.45),
    ("950450", "toys", "Video game consoles", 45.0, 0.4),
    ("950490", "toys", "Table and parlour games", 6.0, 0.45),
    ("950691", "toys", "Fitness equipment", 3.5, 0.4),
    ("950510", "toys", "Christmas decorations", 4.0, 0.45),
    ("940360", "household", "Wooden furniture", 3.0, 0.4),
    ("940161", "household", "Upholstered wooden chairs", 4.0, 0.4),
    ("940320", "household", "Metal furniture", 3.0, 0.4),
    ("841810", "household", "Fridge-freezers", 3.5, 0.3),
    ("845011", "household", "Washing machines", 3.2, 0.3),
    ("690721", "household", "Porcelain floor tiles", 0.5, 0.3),
    ("392690", "household", "Articles of plastics", 4.0, 0.5),
    ("392390", "household", "Plastic boxes and crates", 2.5, 0.45),
    ("870323", "vehicles", "Passenger cars 1500-3000 cc", 9.0, 0.4),
    ("870899", "vehicles", "Motor vehicle parts", 6.0, 0.5),
    ("871160", "vehicles", "Electric bicycles", 25.0, 0.35),
    ("871499", "vehicles", "Bicycle parts", 10.0, 0.5),
    ("401110", "vehicles", "New car tyres", 3.5, 0.3),
    ("730890", "industrial", "Steel structures", 1.8, 0.35),
    ("731815", "industrial", "Steel screws and bolts", 2.0, 0.35),
    ("720839", "industrial", "Hot-rolled steel coils", 0.6, 0.2),
    ("761699", "industrial", "Aluminium articles", 5.0, 0.45),
    ("390110", "industrial", "Polyethylene granules", 1.1, 0.2),
    ("290531", "industrial", "Ethylene glycol", 0.7, 0.2),
    ("842139", "industrial", "Gas filtering machinery", 20.0, 0.5),
    ("843311", "industrial", "Powered lawn mowers", 10.0, 0.4),
    ("300490", "pharma", "Medicaments in measured doses", 60.0, 0.6),
    ("220421", "beverages", "Still wine in bottles", 4.0, 0.4),
    ("240220", "beverages", "Cigarettes", 90.0, 0.3),
    ("481390", "beverages", "Cigarette paper", 7.0, 0.35),
    ("440349", "timber", "Tropical hardwood logs", 0.35, 0.3),
    ("440729", "timber", "Sawn tropical hardwood", 0.9, 0.3),
    ("440727", "timber", "Sawn sapelli", 1.0, 0.3),
    ("440725", "timber", "Sawn meranti", 0.9, 0.3),
    ("441299", "timber", "Plywood", 0.7, 0.3),
    ("440712", "timber", "Sawn spruce", 0.4, 0.25),
    ("010620", "wildlife", "Live reptiles", 60.0, 0.6),
    ("010632", "wildlife", "Live parrots", 150.0, 0.6),
    ("010611", "wildlife", "Live primates", 200.0, 0.6),
    ("010619", "wildlife", "Live mammals", 80.0, 0.6),
    ("010649", "wildlife", "Live insects", 100.0, 0.6),
    ("050800", "wildlife", "Coral and shells", 20.0, 0.6),
    ("440341", "wildlife", "Dark red meranti logs", 0.5, 0.3),
    ("440721", "wildlife", "Sawn mahogany", 2.5, 0.35),
    ("440722", "wildlife", "Sawn virola and imbuia", 1.5, 0.35),
    ("440728", "wildlife", "Sawn iroko", 1.0, 0.3),
]  # fmt: skip
#: HS misdeclaration: the true subheading and the lower-duty one of similar goods declared.
MISDECLARED = {
    "852872": "852852",  # television sets as computer monitors
    "640411": "640610",  # finished sports shoes as uppers
    "640299": "640610",  # finished footwear as uppers
    "610910": "630790",  # T-shirts as made-up textile articles
    "611030": "630790",  # pullovers as made-up textile articles
    "620342": "520942",  # denim trousers as denim fabric
    "870323": "870899",  # cars as motor vehicle parts
    "871160": "871499",  # e-bikes as bicycle parts
    "160414": "030487",  # canned tuna as frozen tuna loins
    "240220": "481390",  # cigarettes as cigarette paper
    "100630": "080132",  # rice as cashew kernels (duty-free)
    "030342": "030462",  # frozen tuna as pangasius fillets
}
#: Goods a counterfeiter copies: HS chapters 61-64, 85 and 95.
COUNTERFEIT_CHAPTERS = ("61", "62", "63", "64", "85", "95")
#: Fruit and fish that cocaine is hidden in.
COCAINE_COVER = ("080390", "080430", "080440", "080450", "080510", "080550", "030617", "030342")
VAT = 0.21
#: EUR per unit of declared currency: the reference rates risk analysis converts with too.
FX_TO_EUR = {code: reference.exchange_rates()[code] for code in ("EUR", "USD")}


@dataclass(frozen=True, slots=True)
class World:
    """Lane, fleet and catalogue arrays, indexed as the generator draws from them."""

    port_of_discharge: str
    origin: np.ndarray  # UN/LOCODEs of origin ports
    origin_name: np.ndarray  # the port's city, used in consignor addresses
    origin_country: np.ndarray
    origin_region: np.ndarray  # index into REGIONS
    origin_weight: np.ndarray  # probability of each origin
    region_hubs: list[np.ndarray]  # per region, its hubs
    carrier_scac: np.ndarray
    carrier_share: np.ndarray
    carrier_owners: list[tuple[str, ...]]
    vessel_imo: np.ndarray  # (carriers, MAINLINERS + FEEDERS)
    vessel_name: np.ndarray
    goods_hs6: np.ndarray
    goods_category: np.ndarray  # index into CATEGORY_NAMES
    goods_description: np.ndarray
    goods_median: np.ndarray
    goods_sigma: np.ndarray
    goods_duty: np.ndarray  # fraction
    category_goods: list[np.ndarray]  # per category, goods indices
    category_given_region: np.ndarray  # (regions, categories) conditional probabilities

    def origin_index(self, locodes: tuple[str, ...]) -> np.ndarray:
        """Indices of the given ports among the origins (ports not in it are skipped)."""
        return np.flatnonzero(np.isin(self.origin, list(locodes)))

    def goods_index(self, hs6: str) -> int:
        """Position of a subheading in the catalogue."""
        return int(np.flatnonzero(self.goods_hs6 == hs6)[0])


def choose_by_key(
    rng: np.random.Generator,
    options: dict[str, tuple[str, ...]],
    keys: np.ndarray,
    default: tuple[str, ...],
) -> np.ndarray:
    """For each key, one of its options at random (``default`` for unknown keys), vectorised."""
    unique, inverse = np.unique(keys, return_inverse=True)
    lists = [options.get(str(k), default) for k in unique]
    width = max([len(v) for v in lists] + [1])
    matrix = np.array([[v[i % len(v)] for i in range(width)] for v in lists] or [[""] * width])
    lengths = np.array([len(v) for v in lists] or [1])
    choice = (rng.random(len(keys)) * lengths[inverse]).astype(np.int64)
    chosen: np.ndarray = matrix[inverse, choice]
    return chosen


def _imo_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct seven-digit IMO numbers starting with 9, each with its check digit."""
    body = rng.choice(np.arange(900_000, 1_000_000), size=n, replace=False)
    digits = (body[:, None] // 10 ** np.arange(5, -1, -1)) % 10
    check = (digits * np.arange(7, 1, -1)).sum(axis=1) % 10
    return np.char.mod("%07d", body * 10 + check)


def check_catalogue() -> None:
    """Fail loudly if the catalogue names a subheading the HS nomenclature does not have."""
    for hs6, *_ in GOODS:
        ids.validate_hs6(hs6)
    codes = {g[0] for g in GOODS}
    assert set(MISDECLARED) | set(MISDECLARED.values()) | set(COCAINE_COVER) <= codes
    for hub in HUBS:
        ids.validate_port(hub)


def build(rng: np.random.Generator, port_of_discharge: str) -> World:
    """Draw the run's fleet and lay out lanes and catalogue for ``port_of_discharge``."""
    check_catalogue()
    table = [
        p
        for p in ports().values()
        if p.country not in EU
        and p.country not in _EXCLUDED_COUNTRIES
        and p.locode != port_of_discharge
        and p.region in REGION_WEIGHTS
    ]
    region = np.array([REGIONS.index(p.region) for p in table])
    # Within a region the curated list runs from the largest port down: a gentle rank decay.
    rank = np.zeros(len(table))
    for r in range(len(REGIONS)):
        members = np.flatnonzero(region == r)
        rank[members] = np.arange(len(members))
    region_total = np.bincount(region, minlength=len(REGIONS)).astype(float)
    share = 1.0 / (rank + 1.0) ** 0.6
    share /= np.bincount(region, weights=share, minlength=len(REGIONS))[region]
    weight = share * np.array([REGION_WEIGHTS[REGIONS[r]] for r in region])
    weight = np.where(region_total[region] > 0, weight, 0.0)

    names = sorted({p.name.split(" (")[0].upper() for p in ports().values() if p.name.isascii()})
    fleet = MAINLINERS + FEEDERS
    imo = _imo_numbers(rng, len(CARRIERS) * fleet).reshape(len(CARRIERS), fleet)
    stems = rng.choice(names, size=(len(CARRIERS), fleet))
    vessel_name = np.array(
        [[CARRIERS[c][2].format(stems[c, v]) for v in range(fleet)] for c in range(len(CARRIERS))]
    )
    shares = np.array([c[3] for c in CARRIERS])

    category = np.array([CATEGORY_NAMES.index(g[1]) for g in GOODS])
    conditional = np.array(
        [[CATEGORIES[c][3].get(r, 0.0) for c in CATEGORY_NAMES] for r in REGIONS]
    )
    conditional = conditional / np.maximum(conditional.sum(axis=1, keepdims=True), 1e-12)
    return World(
        port_of_discharge=port_of_discharge,
        origin=np.array([p.locode for p in table]),
        origin_name=np.array([p.name.split(" (")[0] for p in table]),
        origin_country=np.array([p.country for p in table]),
        origin_region=region,
        origin_weight=weight / weight.sum(),
        region_hubs=[np.array(LANES[r][1], dtype=str) for r in REGIONS],
        carrier_scac=np.array([c[0] for c in CARRIERS]),
        carrier_share=shares / shares.sum(),
        carrier_owners=[c[1] for c in CARRIERS],
        vessel_imo=imo,
        vessel_name=vessel_name,
        goods_hs6=np.array([g[0] for g in GOODS]),
        goods_category=category,
        goods_description=np.array([g[2] for g in GOODS]),
        goods_median=np.array([g[3] for g in GOODS]),
        goods_sigma=np.array([g[4] for g in GOODS]),
        goods_duty=np.array([reference.duty_pct(g[0]) for g in GOODS]) / 100.0,
        category_goods=[np.flatnonzero(category == c) for c in range(len(CATEGORY_NAMES))],
        category_given_region=conditional,
    )
