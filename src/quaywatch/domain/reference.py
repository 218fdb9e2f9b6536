"""Reference code lists shipped with quaywatch (see ``data/SOURCES.md`` for sources and licences).

Each list is read once from the package data and kept in memory; all are small.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Port:
    """A container port from the curated list: UN/LOCODE, name, ISO country and trade region."""

    locode: str
    name: str
    country: str
    region: str


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("quaywatch.domain").joinpath("data", filename).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def ports() -> dict[str, Port]:
    """The curated world container ports, keyed by UN/LOCODE."""
    return {
        row["locode"]: Port(row["locode"], row["name"], row["country"], row["region"])
        for row in _rows("ports.csv")
    }


@cache
def countries() -> dict[str, str]:
    """ISO 3166 alpha-2 codes as used by UN/LOCODE, with their names."""
    return {row["CountryCode"]: row["CountryName"] for row in _rows("un-locode-country-codes.csv")}


@cache
def currencies() -> dict[str, str]:
    """Active ISO 4217 currency codes with their names."""
    return {row["code"]: row["name"] for row in _rows("currencies.csv")}


@cache
def hs_nomenclature() -> dict[str, str]:
    """HS codes at every level (2, 4 and 6 digits) with their descriptions."""
    return {row["hscode"]: row["description"] for row in _rows("harmonized-system.csv")}


@cache
def hs6_codes() -> frozenset[str]:
    """The six-digit HS subheadings, the level a goods item is declared at.

    The source's ``TOTAL`` section (999999, "commodities not specified") is a statistical
    placeholder, not a heading anyone may declare.
    """
    rows = _rows("harmonized-system.csv")
    return frozenset(r["hscode"] for r in rows if r["level"] == "6" and r["section"] != "TOTAL")


#: Duty assumed for a subheading the tariff file does not list and whose chapter it does not
#: know either: about the EU's simple average MFN duty (WTO tariff profiles).
DEFAULT_DUTY_PCT = 5.0


@cache
def duty_rates() -> dict[str, float]:
    """Ad valorem third-country duty, in percent, per HS6 subheading quaywatch knows.

    Approximations of the EU Common Customs Tariff for risk analysis (duty exposure, revenue
    at stake), not a substitute for TARIC when duty is assessed.
    """
    return {row["hs6"]: float(row["duty_pct"]) for row in _rows("tariff.csv")}


def duty_pct(hs6: str) -> float:
    """The duty of ``hs6``: listed, else the median of its chapter, else the default."""
    rates = duty_rates()
    if hs6 in rates:
        return rates[hs6]
    return _chapter_duty().get(hs6[:2], DEFAULT_DUTY_PCT)


@cache
def _chapter_duty() -> dict[str, float]:
    by_chapter: dict[str, list[float]] = {}
    for code, rate in duty_rates().items():
        by_chapter.setdefault(code[:2], []).append(rate)
    return {chapter: sorted(r)[len(r) // 2] for chapter, r in by_chapter.items()}


@cache
def exchange_rates() -> dict[str, float]:
    """EUR per unit of each currency quaywatch converts declared values from.

    Approximate reference rates; an administration replaces the file with the customs exchange
    rates it publishes each month.
    """
    return {row["currency"]: float(row["eur_per_unit"]) for row in _rows("exchange-rates.csv")}
