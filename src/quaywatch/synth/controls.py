"""The legacy control history: what an administration's old targeting controlled, and found.

Each day's consignments pass a legacy selection made of two independent draws: a uniform random
sample (``random_share`` of every consignment) and a rule-based selection that favours the
well-known risk lanes and spares AEO consignees (``rule_share`` on average). A consignment is
controlled if either picks it, so the probability that the policy controlled it, its
*propensity*, is ``1 - (1 - p_random) * (1 - p_rule)``; each outcome carries it, which is what
lets the learning loop weight the controlled consignments back to the whole traffic.

The rules read only the declaration (port of loading, declared HS code, container type,
consignee AEO status) and the administration's own history (is the consignee new?). Controls
find the truth imperfectly, at the rates of ``DETECTION``. Everything is drawn column-wise,
from a random stream of its own, so that turning the history off leaves every other file as is.
See ``docs/synthetic-traffic.md`` for the figures and why they matter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from quaywatch.domain.reference import shipped_ports as ports
from quaywatch.intake.outcomes import COLUMNS
from quaywatch.synth.day import Day
from quaywatch.synth.journeys import DAY

TYPES = ("DOCUMENTARY", "SCAN", "PHYSICAL")
LATAM = ("South America", "Central America", "Caribbean")
TIMBER_REGIONS = (
    "West Africa",
    "East Africa",
    "Southeast Asia",
    "South America",
    "Central America",
)
CONSUMER_CHAPTERS = ("61", "62", "64", "95")
#: Rule weight of each lane relative to ordinary traffic; the East Asian consumer-goods lane
#: weighs NEW_CONSIGNEE_WEIGHT for a consignee first seen recently; AEOs get AEO_FACTOR.
LANE_WEIGHT = {"other": 1.0, "reefer_latam": 8.0, "consumer_east_asia": 1.5,
               "sensitive_timber": 6.0}  # fmt: skip
NEW_CONSIGNEE_WEIGHT = 10.0
AEO_FACTOR = 0.2
#: Share of DOCUMENTARY, SCAN, PHYSICAL controls by what selected the consignment.
CONTROL_MIX = {
    "random": (0.50, 0.25, 0.25),
    "other": (0.70, 0.15, 0.15),
    "reefer_latam": (0.10, 0.55, 0.35),
    "consumer_east_asia": (0.30, 0.20, 0.50),
    "sensitive_timber": (0.40, 0.00, 0.60),
}
#: Probability that a DOCUMENTARY, SCAN, PHYSICAL control finds the fraud committed; for a
#: licit consignment ("none"), the rate of a minor irregularity (papers, a quantity) found.
DETECTION = {
    "none": (0.02, 0.005, 0.03),
    "undervaluation": (0.60, 0.10, 0.70),
    "misdeclaration": (0.45, 0.40, 0.85),
    "cocaine": (0.20, 0.75, 0.90),
    "counterfeit": (0.15, 0.30, 0.85),
    "wildlife": (0.35, 0.60, 0.90),
}
#: Days from arrival to the control, and from the control to its recorded result, per type.
_TO_CONTROL = (0.25, 3.0)
_TO_RESULT = {"DOCUMENTARY": (0.0, 2.0), "SCAN": (0.0, 1.0), "PHYSICAL": (1.0, 10.0)}
_CONCEALMENT = {
    "cocaine": (("RIP_ON_RIP_OFF", "MIXED_IN_CARGO", "REEFER_UNIT", "FALSE_WALL"),
                (0.65, 0.15, 0.12, 0.08)),
    "counterfeit": (("NOT_CONCEALED", "MIXED_IN_CARGO"), (0.7, 0.3)),
    "wildlife": (("NOT_CONCEALED", "MIXED_IN_CARGO"), (0.6, 0.4)),
}  # fmt: skip
COCAINE_HS6 = "293972"
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, slots=True)
class ControlRates:
    """How much the legacy selection controls: its random and its rule-based share.

    >>> ControlRates(random_share=0.02).random_share
    0.02
    """

    random_share: float = 0.01
    rule_share: float = 0.02
    #: No lane is controlled with certainty by the rules: keeps every propensity below one.
    max_rule_probability: float = 0.5

    def __post_init__(self) -> None:
        shares = (self.random_share, self.rule_share, self.max_rule_probability)
        if any(not 0.0 <= s <= 1.0 for s in shares) or self.random_share + self.rule_share > 0.5:
            raise ValueError("control shares are in [0, 1] and sum to at most 0.5")

    def as_dict(self) -> dict[str, float]:
        """The rates as plain values, for the manifest."""
        return asdict(self)


def lane(frame: pl.DataFrame) -> pl.Series:
    """The legacy rule lane of each consignment, from its declaration's first goods item.

    ``frame`` has ``port_of_loading``, ``hs6`` and ``container_size_type`` (raw intake
    strings). Lanes: ``reefer_latam`` (a reefer from South/Central America or the Caribbean),
    ``consumer_east_asia`` (apparel, footwear, toys from East Asia), ``sensitive_timber``
    (timber, live animals, coral from the regions of illegal logging and wildlife trade),
    ``other``.
    """
    region = pl.col("port_of_loading").replace_strict(
        {code: port.region for code, port in ports().items()}, default=None
    )
    chapter = pl.col("hs6").str.slice(0, 2)
    reefer = pl.col("container_size_type").str.slice(2, 1) == "R"
    sensitive = (chapter == "44") | pl.col("hs6").str.slice(0, 4).is_in(["0106", "0508"])
    return frame.select(
        pl.when(reefer & region.is_in(LATAM))
        .then(pl.lit("reefer_latam"))
        .when(chapter.is_in(CONSUMER_CHAPTERS) & (region == "East Asia"))
        .then(pl.lit("consumer_east_asia"))
        .when(sensitive & region.is_in(TIMBER_REGIONS))
        .then(pl.lit("sensitive_timber"))
        .otherwise(pl.lit("other"))
        .alias("lane")
    ).to_series()


def _index(values: np.ndarray, names: list[str]) -> np.ndarray:
    """The position in ``names`` of each value (looked up once per distinct value)."""
    distinct, inverse = np.unique(values.astype(str), return_inverse=True)
    positions = np.array([names.index(str(name)) for name in distinct], dtype=np.int64)
    return positions[inverse] if len(values) else np.zeros(0, dtype=np.int64)


def propensities(
    lanes: np.ndarray, new_consignee: np.ndarray, aeo: np.ndarray, rates: ControlRates
) -> tuple[np.ndarray, np.ndarray]:
    """Per consignment of a day, the probability of the random and of the rule selection.

    Rule weights are normalised over the day so that the rules control ``rule_share`` of it on
    average, whatever the day's mix of lanes.
    """
    weight = np.array(list(LANE_WEIGHT.values()))[_index(lanes, list(LANE_WEIGHT))]
    weight = np.where((lanes == "consumer_east_asia") & new_consignee, NEW_CONSIGNEE_WEIGHT, weight)
    weight = np.where(aeo, weight * AEO_FACTOR, weight)
    rule = np.minimum(rates.rule_share * weight / max(weight.mean(), 1e-12), rates.max_rule_probability)  # fmt: skip
    return np.full(len(lanes), rates.random_share), rule.astype(float)


def _choice(rng: np.random.Generator, table: np.ndarray, row: np.ndarray) -> np.ndarray:
    """One column index per entry, drawn with the probabilities of ``table[row]``."""
    cumulative = np.cumsum(table[row], axis=1)
    chosen: np.ndarray = (rng.random(len(row))[:, None] >= cumulative[:, :-1]).sum(axis=1)
    return chosen


def detected(rng: np.random.Generator, fraud: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Whether each control of type ``kind`` finds ``fraud`` (a minor irregularity if "none")."""
    rates = np.array(list(DETECTION.values()))
    chance = rates[_index(fraud, list(DETECTION)), _index(kind, list(TYPES))]
    found: np.ndarray = rng.random(len(fraud)) < chance
    return found


def _stamp(micros: pl.Expr) -> pl.Expr:
    return pl.from_epoch(micros, time_unit="us").dt.strftime(_STAMP)


def draw(rng: np.random.Generator, day: Day, rates: ControlRates) -> pl.DataFrame:
    """The day's legacy controls and their outcomes, in the intake outcome format.

    Returns the ``intake.outcomes.COLUMNS`` as strings (null where empty) and ``_controlled``,
    the control time in µs, by which ``traffic`` files them.
    """
    first = day.rows.filter(pl.col("item_sequence") == "1")
    facts = day.facts.join(day.truth, on="consignment_id", maintain_order="left")
    lanes = lane(first).to_numpy()
    aeo = (first["consignee_aeo"] != "NONE").to_numpy()
    p_random, p_rule = propensities(lanes, facts["new_consignee"].to_numpy(), aeo, rates)
    by_random = rng.random(len(lanes)) < p_random
    by_rule = rng.random(len(lanes)) < p_rule
    chosen = np.flatnonzero(by_random | by_rule)
    m = len(chosen)
    picked = facts[chosen]
    fraud = picked["fraud"].to_numpy()
    source = np.where(by_random[chosen], "random", lanes[chosen])
    mix = np.array(list(CONTROL_MIX.values()))
    type_index = _choice(rng, mix, _index(source, list(CONTROL_MIX)))
    kind = np.array(TYPES)[type_index]
    found = detected(rng, fraud, kind)
    found_outcome = _findings(rng, picked, fraud, kind, found)

    eta = picked["eta"].to_numpy()
    controlled = eta + (rng.uniform(*_TO_CONTROL, m) * DAY).astype(np.int64)
    lo = np.array([_TO_RESULT[str(k)][0] for k in kind])
    hi = np.array([_TO_RESULT[str(k)][1] for k in kind])
    known = controlled + (rng.uniform(0.0, 1.0, m) * (hi - lo) * DAY + lo * DAY).astype(np.int64)
    propensity = 1.0 - (1.0 - p_random[chosen]) * (1.0 - p_rule[chosen])
    ids = picked["consignment_id"]
    frame = pl.DataFrame(
        {
            "control_id": "C-" + ids,
            "consignment_id": ids,
            "version": pl.Series(["1"] * m, dtype=pl.String),
            "container_number": picked["container_number"],
            "control_type": pl.Series(kind.tolist(), dtype=pl.String),
            "selected_by": pl.Series(
                np.where(by_random[chosen], "RANDOM", "RULE").tolist(), dtype=pl.String
            ),
            "propensity": pl.Series(propensity, dtype=pl.Float64),
            "_controlled": pl.Series(controlled // 1_000_000 * 1_000_000, dtype=pl.Int64),
            "_known": pl.Series(known // 1_000_000 * 1_000_000, dtype=pl.Int64),
        }
    ).with_columns(
        _stamp(pl.col("_controlled")).alias("controlled_at"),
        _stamp(pl.col("_known")).alias("known_at"),
    )
    return pl.concat([frame, found_outcome], how="horizontal").select(*COLUMNS, "_controlled")


def _findings(
    rng: np.random.Generator, picked: pl.DataFrame, fraud: np.ndarray, kind: np.ndarray,
    found: np.ndarray,
) -> pl.DataFrame:  # fmt: skip
    """Result, irregularity, revenue recovered and seizure details of each control.

    Revenue recovered never exceeds the revenue at stake, except the tiny sums of the minor
    irregularities found on licit consignments (which the truth counts as licit).
    """
    m = len(fraud)
    stake = picked["revenue_at_stake_eur"].to_numpy()
    minor = found & (fraud == "none")
    seized = found & np.isin(fraud, ["cocaine", "counterfeit", "wildlife"])
    result = np.where(seized, "SEIZURE", np.where(found, "IRREGULAR", "COMPLIANT"))
    irregularity = np.select(
        [fraud == "undervaluation", fraud == "misdeclaration", fraud == "cocaine",
         fraud == "counterfeit", fraud == "wildlife", kind == "DOCUMENTARY"],
        ["VALUE", "CLASSIFICATION", "DRUGS", "IPR", "CITES", "DOCUMENTS"],
        "QUANTITY",
    )  # fmt: skip
    share = np.select(
        [fraud == "undervaluation", fraud == "misdeclaration"],
        [rng.uniform(0.5, 1.0, m), rng.uniform(0.9, 1.0, m)],
        0.0,
    )
    tiny = np.where(rng.random(m) < 0.5, np.round(rng.uniform(10.0, 400.0, m), 2), 0.0)
    revenue = np.where(minor, tiny, np.floor(stake * share * 100.0) / 100.0)
    revenue = np.where(found, revenue, 0.0)

    goods = picked["true_goods"].to_numpy().astype(str)
    hs6 = picked["true_hs6"].to_numpy().astype(str)
    mass = picked["mass_kg"].to_numpy()
    live = np.char.startswith(hs6, "0106")
    timber = np.char.startswith(hs6, "44")
    cocaine_kg = np.clip(np.round(rng.lognormal(np.log(150.0), 0.8, m), 1), 5.0, 3_000.0)
    quantity = np.select(
        [fraud == "cocaine", fraud == "counterfeit", live, timber],
        [cocaine_kg, np.round(mass * rng.uniform(0.3, 1.0, m), 1),
         np.maximum(np.round(mass / 3.0), 1.0), np.maximum(np.round(mass / 700.0, 1), 0.1)],
        np.round(mass, 1),
    )  # fmt: skip
    unit = np.where((fraud == "wildlife") & live, "NAR", np.where(
        (fraud == "wildlife") & timber, "MTQ", "KGM"))  # fmt: skip
    named = pl.Series(goods, dtype=pl.String)
    lowered = (named.str.slice(0, 1).str.to_lowercase() + named.str.slice(1)).to_numpy().astype(str)
    description = np.select(
        [fraud == "cocaine", fraud == "counterfeit", fraud == "wildlife"],
        ["Cocaine hydrochloride", np.char.add("Counterfeit ", lowered),
         np.char.add(goods, " without CITES permit")],
        "",
    )  # fmt: skip
    hiding = np.full(m, "", dtype="<U14")
    for name, (places, weights) in _CONCEALMENT.items():
        rows = np.flatnonzero(fraud == name)
        hiding[rows] = rng.choice(places, len(rows), p=weights)
    text = {
        "result": result,
        "irregularity": np.where(found, irregularity, ""),
        "seizure_goods": np.where(seized, description, ""),
        "seizure_unit": np.where(seized, unit, ""),
        "seizure_hs6": np.where(seized, np.where(fraud == "cocaine", COCAINE_HS6, hs6), ""),
        "concealment": np.where(seized, hiding, ""),
    }
    return pl.DataFrame(
        {
            **{name: values.astype(str) for name, values in text.items()},
            "revenue_recovered_eur": revenue.astype(float),
            "seizure_quantity": np.where(seized, quantity, np.nan).astype(float),
        },
        schema_overrides=dict.fromkeys(text, pl.String),
    ).with_columns(
        pl.col(list(text)).replace("", None),
        pl.col("revenue_recovered_eur").cast(pl.String),
        pl.col("seizure_quantity").fill_nan(None).cast(pl.String),
    )
