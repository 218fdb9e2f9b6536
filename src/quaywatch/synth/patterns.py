"""Fraud and smuggling patterns: how often each is injected, into what, and what it costs.

Each consignment carries at most one pattern. The rates in ``PatternRates`` are shares of all
consignments; undervaluation and misdeclaration are spread over consignees by risk (bad actors
far more often, AEOs far less, never zero) so that party history is informative without being
decisive. The other patterns rewrite the lane, goods and parties of the consignments chosen so
that they look the way such cases look in practice (see ``docs/synthetic-traffic.md``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntEnum

import numpy as np

from quaywatch.synth.world import VAT

#: Nominal revenue at stake (EUR) where the harm is not a duty: a seizure's worth of
#: penalties and enforcement value, large enough to rank the case high, not to swamp revenue.
COCAINE_STAKE_EUR = 50_000.0
WILDLIFE_STAKE_EUR = 20_000.0
#: Main cocaine departure ports and the alternatives traffickers move to under pressure.
COCAINE_ORIGINS = ("ECGYE", "COBUN", "COCTG", "BRSSZ", "PECLL", "PAMIT", "ECPBO", "COBAQ", "CRMOB")
DISPLACED_ORIGINS = ("DOCAU", "GTPBR", "HNPCR", "BRPEC", "BRSUA", "UYMVD", "CLSAI")
DISPLACED_HUBS = ("TGLFW", "GRPIR", "MTMAR")
#: Wildlife and timber leave from West/Central and East Africa, Southeast Asia, South America.
WILDLIFE_ORIGINS = ("CMDLA", "CGPNR", "NGAPP", "NGONN", "GHTEM", "CIABJ", "GNCKY", "KEMBA",
                    "TZDAR", "MGTMM", "MYPKG", "IDTPP", "VNHPH", "THLCH", "BRPEC", "PECLL")  # fmt: skip
COUNTERFEIT_ORIGINS = ("CNSHA", "CNNGB", "CNSZX", "CNYTN", "CNXMN", "CNCAN", "CNNSA", "HKHKG",
                       "CNFOC", "CNTAO")  # fmt: skip


class Pattern(IntEnum):
    """The ground-truth pattern of a consignment; the names are those of ``truth.parquet``."""

    NONE = 0
    UNDERVALUATION = 1
    MISDECLARATION = 2
    COCAINE = 3
    COUNTERFEIT = 4
    WILDLIFE = 5
    SHELL_COMPANY = 6


PATTERN_NAMES = [p.name.lower() for p in Pattern]


@dataclass(frozen=True, slots=True)
class PatternRates:
    """Share of consignments carrying each pattern, and the displacement of cocaine routes.

    >>> PatternRates(cocaine=0.01).cocaine
    0.01
    """

    undervaluation: float = 0.015
    misdeclaration: float = 0.010
    cocaine: float = 0.0025
    counterfeit: float = 0.008
    wildlife: float = 0.002
    shell_company: float = 0.003
    #: From this week of the window on (0 = first week), cocaine traffic shifts routes.
    displacement_week: int | None = 2
    #: Share of cocaine consignments that take the alternative route once displaced.
    displacement_share: float = 0.5
    #: How much more often a bad actor commits value fraud than an ordinary trader, and an AEO.
    bad_actor_factor: float = 12.0
    aeo_factor: float = 0.1

    def __post_init__(self) -> None:
        shares = [self.undervaluation, self.misdeclaration, self.cocaine, self.counterfeit,
                  self.wildlife, self.shell_company, self.displacement_share]  # fmt: skip
        if any(not 0.0 <= s <= 1.0 for s in shares) or sum(shares[:-1]) > 0.5:
            raise ValueError("pattern rates are shares in [0, 1] summing to at most 0.5")

    def as_dict(self) -> dict[str, float | int | None]:
        """The rates as plain values, for the manifest."""
        return asdict(self)


def assign(
    rng: np.random.Generator, rates: PatternRates, bad: np.ndarray, aeo: np.ndarray
) -> np.ndarray:
    """A ``Pattern`` per consignment, given whether its consignee is a bad actor or an AEO.

    Value fraud is spread by consignee risk; the weights are normalised over the day so the
    expected share of each pattern is its rate.
    """
    weight = np.where(bad, rates.bad_actor_factor, np.where(aeo, rates.aeo_factor, 1.0))
    weight = weight / weight.mean()
    n = len(bad)
    columns = [
        np.zeros(n),
        rates.undervaluation * weight,
        rates.misdeclaration * weight,
        np.full(n, rates.cocaine),
        np.full(n, rates.counterfeit),
        np.full(n, rates.wildlife),
        np.full(n, rates.shell_company),
    ]
    cumulative = np.cumsum(np.column_stack(columns), axis=1)
    u = rng.random(n)[:, None]
    pattern = (u >= cumulative).sum(axis=1)
    # Past the last threshold a consignment is clean: shift so that index 0 means none.
    return np.where(pattern == len(columns), Pattern.NONE, pattern).astype(np.int64)


def undervaluation_factor(rng: np.random.Generator, n: int) -> np.ndarray:
    """Declared value as a share of true value for an undervalued consignment."""
    return rng.uniform(0.15, 0.6, n)


def duty_and_vat(value: np.ndarray, duty: np.ndarray) -> np.ndarray:
    """Duty plus 21% VAT on the duty-paid value, for a customs value ``value``."""
    return value * (duty + VAT * (1.0 + duty))


def revenue_at_stake(
    pattern: np.ndarray,
    true_value: np.ndarray,
    declared_value: np.ndarray,
    true_duty: np.ndarray,
    declared_duty: np.ndarray,
    genuine_value: np.ndarray,
) -> np.ndarray:
    """Revenue at stake per goods item (sum them per consignment); zero for licit items.

    ``pattern`` is the item's consignment pattern, with shell-company items already resolved to
    the fraud they carry (undervaluation or counterfeit).
    """
    undervalued = duty_and_vat(np.maximum(true_value - declared_value, 0.0), true_duty)
    misdeclared = true_value * np.maximum(true_duty - declared_duty, 0.0) * (1.0 + VAT)
    counterfeit = duty_and_vat(genuine_value, true_duty)
    return np.select(
        [pattern == Pattern.UNDERVALUATION, pattern == Pattern.MISDECLARATION,
         pattern == Pattern.COUNTERFEIT],
        [undervalued, misdeclared, counterfeit],
        0.0,
    )  # fmt: skip
