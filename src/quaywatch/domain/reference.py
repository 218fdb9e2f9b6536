"""Reference data: the code lists shipped with quaywatch, and a site's own additions.

Shipped (``data/``, sources and licences in ``data/SOURCES.md``): the curated container ports
(``ports.csv``, with their trade regions), the full UN/LOCODE code list with its function
classifiers (``un-locode.csv.gz``), the HS nomenclature, an approximate tariff and exchange
rates, ISO country and currency codes.

A **site reference directory** (the setting ``QUAYWATCH_REFERENCE_DIR``) may hold any of
``ports.csv``, ``harmonized-system.csv``, ``tariff.csv`` and ``exchange-rates.csv``, with the
shipped columns; each entry adds to the shipped list or replaces the shipped entry of the same
code. Site files are checked when they are loaded: every bad line is named (file, line, field)
in one ``ReferenceDataError``, and nothing of a bad directory is used.

A **known port** is a UN/LOCODE whose function classifier has 1 (maritime transport) and whose
status is not XX (to be removed) or RR (request rejected); or a port of the curated list; or a
port of the site's ``ports.csv``. The curated list also gives the trade region of a port of
loading (a feature of the risk model); a port known only from UN/LOCODE has no region.

The **version** of the reference data in use (``Reference.version``) is a short SHA-256 over
every file in use, shipped and site, named with the UN/LOCODE edition; each import batch and
each assessment records it.

Which site directory is in use is set by the adapter that read the settings (``use``); the
lists are read when first needed and kept per directory and file stamp, so a changed site file
is read again (and changes the version).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from threading import Lock

from quaywatch.errors import ReferenceDataError, ReferenceProblem

#: The UN/LOCODE edition shipped in ``data/un-locode.csv.gz`` (see ``data/SOURCES.md``).
UN_LOCODE_EDITION = "2024"
#: Files a site reference directory may hold, each with the shipped columns.
SITE_FILES = ("ports.csv", "harmonized-system.csv", "tariff.csv", "exchange-rates.csv")
#: The shipped files, in the order the version hashes them.
SHIPPED_FILES = (
    "ports.csv",
    "un-locode.csv.gz",
    "harmonized-system.csv",
    "tariff.csv",
    "exchange-rates.csv",
    "currencies.csv",
    "un-locode-country-codes.csv",
)
#: Trade regions of the curated ports (``data/SOURCES.md``); a site port has one or none.
REGIONS = frozenset({
    "North Europe", "Mediterranean", "Black Sea", "North Africa", "Middle East", "South Asia",
    "East Asia", "Southeast Asia", "Oceania", "North America", "Central America", "Caribbean",
    "South America", "West Africa", "East Africa", "Southern Africa",
})  # fmt: skip
#: UN/LOCODE status indicators of entries that are not (or no longer) locations in use.
_DROPPED_STATUS = frozenset({"XX", "RR"})
_LOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
_HS = re.compile(r"^[0-9]{2}(?:[0-9]{2}){0,2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
#: Largest duty a tariff line may carry, in percent (some specific duties convert to ~1000 %).
MAX_DUTY_PCT = 10_000.0


@dataclass(frozen=True, slots=True)
class Port:
    """A container port from the curated list (or a site's): UN/LOCODE, name, country, region.

    ``region`` is empty for a site port given none.
    """

    locode: str
    name: str
    country: str
    region: str


@dataclass(frozen=True, slots=True)
class ReferenceFile:
    """One file in use: its name, whether shipped or the site's, where, and how many entries."""

    name: str
    origin: str
    path: str
    entries: int
    sha256: str


def _shipped_bytes(filename: str) -> bytes:
    return resources.files("quaywatch.domain").joinpath("data", filename).read_bytes()


def _shipped_rows(filename: str) -> list[dict[str, str]]:
    return list(csv.DictReader(_shipped_bytes(filename).decode("utf-8").splitlines()))


@cache
def countries() -> dict[str, str]:
    """ISO 3166 alpha-2 codes as used by UN/LOCODE, with their names."""
    rows = _shipped_rows("un-locode-country-codes.csv")
    return {row["CountryCode"]: row["CountryName"] for row in rows}


@cache
def currencies() -> dict[str, str]:
    """Active ISO 4217 currency codes with their names."""
    return {row["code"]: row["name"] for row in _shipped_rows("currencies.csv")}


@cache
def un_locode_ports() -> frozenset[str]:
    """UN/LOCODEs with the port function (1) whose status is not XX or RR, from the shipped list.

    Read once (about 116,000 entries, 17,500 of them ports) when a port is first checked.
    """
    lines = gzip.decompress(_shipped_bytes("un-locode.csv.gz")).decode("utf-8").splitlines()
    if lines[0] != "locode,name,subdivision,function,status":
        raise ValueError("data/un-locode.csv.gz: unexpected header")
    found: set[str] = set()
    for line in lines[1:]:
        # The code leads each line; function and status end it and are never quoted (only a
        # name may hold a comma), so the line needs no full CSV parse.
        _, function, status = line.rsplit(",", 2)
        if function.startswith("1") and status not in _DROPPED_STATUS:
            found.add(line[:5])
    return frozenset(found)


# --- site files: read and checked -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    check: Callable[[str], str | None]  # the reason the value is bad, or None
    required: bool = True


def _locode_problem(value: str) -> str | None:
    if not _LOCODE.match(value):
        return "not a UN/LOCODE (two-letter country + 3 letters or digits 2-9)"
    if value[:2] not in countries():
        return f"UN/LOCODE {value} has an unknown country"
    return None


def _text(limit: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if len(value) > limit:
            return f"longer than {limit} characters"
        if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value):
            return "holds a control character"
        return None

    return check


def _region_problem(value: str) -> str | None:
    if value and value not in REGIONS:
        return f"not a trade region (one of {', '.join(sorted(REGIONS))}, or empty)"
    return None


def _number(low: float, high: float, *, above: bool = False) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        try:
            number = float(value)
        except ValueError:
            return "not a number"
        if not math.isfinite(number) or number < low or number > high or above and number == low:
            return f"not a number {'above' if above else 'from'} {low:g} to {high:g}"
        return None

    return check


def _hs_problem(value: str) -> str | None:
    return None if _HS.match(value) else "not an HS code (2, 4 or 6 digits)"


def _hs6_problem(value: str) -> str | None:
    return None if re.match(r"^[0-9]{6}$", value) else "not an HS subheading (six digits)"


def _currency_problem(value: str) -> str | None:
    if not _CURRENCY.match(value) or value not in currencies():
        return "not an active ISO 4217 currency code"
    return None


def _level_problem(value: str) -> str | None:
    return None if value in {"2", "4", "6"} else "not an HS level (2, 4 or 6)"


#: The columns of each site file, as shipped, with the check of each value.
SITE_COLUMNS: dict[str, tuple[_Column, ...]] = {
    "ports.csv": (
        _Column("locode", _locode_problem),
        _Column("name", _text(70)),
        _Column("country", lambda v: None if v in countries() else "not an ISO 3166 country"),
        _Column("region", _region_problem, required=False),
    ),
    "harmonized-system.csv": (
        _Column("section", _text(8), required=False),
        _Column("hscode", _hs_problem),
        _Column("description", _text(500)),
        _Column("parent", _text(8), required=False),
        _Column("level", _level_problem),
    ),
    "tariff.csv": (
        _Column("hs6", _hs6_problem),
        _Column("duty_pct", _number(0.0, MAX_DUTY_PCT)),
        _Column("description", _text(500), required=False),
    ),
    "exchange-rates.csv": (
        _Column("currency", _currency_problem),
        _Column("eur_per_unit", _number(0.0, 1e9, above=True)),
    ),
}


def _cross_checks(name: str, row: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Checks between the fields of one row: ``(field, reason)``."""
    if name == "ports.csv" and row["country"] != row["locode"][:2]:
        yield "country", f"not the country of {row['locode']} ({row['locode'][:2]})"
    if name == "harmonized-system.csv" and len(row["hscode"]) != int(row["level"]):
        yield "level", f"HS code {row['hscode']} is not of level {row['level']}"


def read_site_file(path: Path) -> tuple[list[dict[str, str]], list[ReferenceProblem]]:
    """The rows of one site file, and every problem found in it (line 1 is the header)."""
    name = path.name
    columns = SITE_COLUMNS[name]
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        return [], [ReferenceProblem(name, 0, "", f"cannot be read: {exc.strerror or exc}")]
    except UnicodeDecodeError:
        return [], [ReferenceProblem(name, 0, "", "is not UTF-8 text")]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        return [], [ReferenceProblem(name, 1, "", f"is not CSV: {exc}")]
    missing = [c.name for c in columns if c.required and c.name not in header]
    if missing:
        wanted = ",".join(c.name for c in columns)
        return [], [ReferenceProblem(name, 1, missing[0], f"column missing (header: {wanted})")]
    rows: list[dict[str, str]] = []
    problems: list[ReferenceProblem] = []
    seen: dict[str, int] = {}
    try:
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                reason = f"has {len(values)} fields, the header {len(header)}"
                problems.append(ReferenceProblem(name, number, "", reason))
                continue
            raw = dict(zip(header, (v.strip() for v in values), strict=True))
            row = {c.name: raw.get(c.name, "") for c in columns}
            bad = False
            for column in columns:
                value = row[column.name]
                why = "empty" if column.required and not value else None
                why = why or (column.check(value) if value else None)
                if why:
                    problems.append(ReferenceProblem(name, number, column.name, why))
                    bad = True
            if bad:
                continue
            found = list(_cross_checks(name, row))
            problems += [ReferenceProblem(name, number, f, reason) for f, reason in found]
            key = row[columns[0].name]
            if key in seen:
                reason = f"{key} is already on line {seen[key]}"
                problems.append(ReferenceProblem(name, number, columns[0].name, reason))
                continue
            seen[key] = number
            if not found:
                rows.append(row)
    except csv.Error as exc:
        problems.append(ReferenceProblem(name, reader.line_num, "", f"is not CSV: {exc}"))
    return rows, problems


def check_site_dir(site_dir: Path) -> list[ReferenceProblem]:
    """Every problem of a site reference directory (none: it may be used)."""
    return _read_site(site_dir)[1]


def _read_site(site_dir: Path) -> tuple[dict[str, list[dict[str, str]]], list[ReferenceProblem]]:
    if not site_dir.is_dir():
        return {}, [ReferenceProblem(str(site_dir), 0, "", "is not a directory")]
    tables: dict[str, list[dict[str, str]]] = {}
    problems: list[ReferenceProblem] = []
    for path in sorted(site_dir.iterdir()):
        if path.suffix.lower() != ".csv":
            continue
        if path.name not in SITE_FILES:
            reason = f"is not a reference file quaywatch reads (one of {', '.join(SITE_FILES)})"
            problems.append(ReferenceProblem(path.name, 0, "", reason))
            continue
        rows, found = read_site_file(path)
        tables[path.name] = rows
        problems += found
    return tables, problems


# --- the reference in use ---------------------------------------------------------------------


class Reference:
    """The reference data of one site directory (or none: the shipped lists alone).

    Build it with ``load``; its lists are read when first asked for.
    """

    def __init__(self, site_dir: Path | None, site: dict[str, list[dict[str, str]]]) -> None:
        self.site_dir = site_dir
        self._site = site

    def _merged(self, name: str, key: str) -> list[dict[str, str]]:
        merged = {row[key]: row for row in _shipped_rows(name)}
        merged.update({row[key]: row for row in self._site.get(name, [])})
        return list(merged.values())

    @cached_property
    def ports(self) -> dict[str, Port]:
        """The curated container ports and the site's, keyed by UN/LOCODE."""
        rows = self._merged("ports.csv", "locode")
        return {r["locode"]: Port(r["locode"], r["name"], r["country"], r["region"]) for r in rows}

    @cached_property
    def known_ports(self) -> frozenset[str]:
        """Every code a route may name as a port (see the module docstring)."""
        return un_locode_ports() | frozenset(self.ports)

    @cached_property
    def hs_nomenclature(self) -> dict[str, str]:
        """HS codes at every level (2, 4 and 6 digits) with their descriptions."""
        rows = self._merged("harmonized-system.csv", "hscode")
        return {row["hscode"]: row["description"] for row in rows}

    @cached_property
    def hs6_codes(self) -> frozenset[str]:
        """The six-digit subheadings a goods item may be declared at.

        The source's ``TOTAL`` section (999999, "commodities not specified") is a statistical
        placeholder, not a heading anyone may declare.
        """
        rows = self._merged("harmonized-system.csv", "hscode")
        return frozenset(r["hscode"] for r in rows if r["level"] == "6" and r["section"] != "TOTAL")

    @cached_property
    def duty_rates(self) -> dict[str, float]:
        """Ad valorem duty, in percent, per HS6 subheading listed."""
        return {row["hs6"]: float(row["duty_pct"]) for row in self._merged("tariff.csv", "hs6")}

    @cached_property
    def chapter_duty(self) -> dict[str, float]:
        """The median listed duty of each HS chapter."""
        by_chapter: dict[str, list[float]] = {}
        for code, rate in self.duty_rates.items():
            by_chapter.setdefault(code[:2], []).append(rate)
        return {chapter: sorted(r)[len(r) // 2] for chapter, r in by_chapter.items()}

    @cached_property
    def exchange_rates(self) -> dict[str, float]:
        """EUR per unit of each currency a declared value may be converted from."""
        rows = self._merged("exchange-rates.csv", "currency")
        return {row["currency"]: float(row["eur_per_unit"]) for row in rows}

    @cached_property
    def files(self) -> tuple[ReferenceFile, ...]:
        """Every file in use, shipped then the site's, with its entry count and SHA-256."""
        found: list[ReferenceFile] = []
        for name in SHIPPED_FILES:
            data = _shipped_bytes(name)
            text = gzip.decompress(data) if name.endswith(".gz") else data
            entries = max(text.count(b"\n") - 1, 0)
            digest = hashlib.sha256(data).hexdigest()
            found.append(ReferenceFile(name, "shipped", f"quaywatch/domain/data/{name}", entries,
                                       digest))  # fmt: skip
        if self.site_dir is not None:
            for name in SITE_FILES:
                if name in self._site:
                    path = self.site_dir / name
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    entries = len(self._site[name])
                    found.append(ReferenceFile(name, "site", str(path), entries, digest))
        return tuple(found)

    @cached_property
    def version(self) -> str:
        """``UN/LOCODE edition`` + ``-`` + 12 hex digits of SHA-256 over the files in use.

        The same files give the same version on every machine (the site directory's path does
        not count, only each file's name, origin and content).
        """
        digest = hashlib.sha256()
        for file in self.files:
            digest.update(f"{file.origin}:{file.name}:{file.sha256}\n".encode())
        return f"{UN_LOCODE_EDITION}-{digest.hexdigest()[:12]}"


_Stamp = tuple[tuple[str, int, int], ...]
_loaded: dict[tuple[Path | None, _Stamp], Reference] = {}
_lock = Lock()
_site_dir: Path | None = None


def _stamp(site_dir: Path | None) -> _Stamp:
    if site_dir is None or not site_dir.is_dir():
        return ()
    stamps = []
    for path in sorted(site_dir.glob("*.csv")):
        stat = path.stat()
        stamps.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def load(site_dir: Path | None = None) -> Reference:
    """The reference data with ``site_dir``'s files (none: the shipped lists alone).

    Raises ``ReferenceDataError`` naming every problem of the directory. Kept per directory
    and file stamp (name, modification time, size): a changed file is read again.
    """
    key = (site_dir, _stamp(site_dir))
    with _lock:
        found = _loaded.get(key)
    if found is not None:
        return found
    site: dict[str, list[dict[str, str]]] = {}
    if site_dir is not None:
        site, problems = _read_site(site_dir)
        if problems:
            raise ReferenceDataError(str(site_dir), problems)
    reference = Reference(site_dir, site)
    with _lock:
        if len(_loaded) > 8:
            _loaded.clear()
        return _loaded.setdefault(key, reference)


def use(site_dir: Path | None) -> Reference:
    """Make ``site_dir`` the site directory in use (None: the shipped lists alone).

    Checks it first: a directory with a problem raises ``ReferenceDataError`` and is not used.
    Called by the adapter that read the settings, before any command or request runs.
    """
    global _site_dir
    reference = load(site_dir)
    _site_dir = site_dir
    return reference


def active() -> Reference:
    """The reference data in use (see ``use``)."""
    return load(_site_dir)


# --- the lists in use, as functions -----------------------------------------------------------


def ports() -> dict[str, Port]:
    """The curated container ports and the site's, keyed by UN/LOCODE."""
    return active().ports


@cache
def shipped_ports() -> dict[str, Port]:
    """The curated container ports as shipped (what synthetic traffic is drawn over)."""
    return Reference(None, {}).ports


def known_ports() -> frozenset[str]:
    """Every UN/LOCODE a route may name as a port (UN/LOCODE function 1, curated, site)."""
    return active().known_ports


def hs_nomenclature() -> dict[str, str]:
    """HS codes at every level (2, 4 and 6 digits) with their descriptions."""
    return active().hs_nomenclature


def hs6_codes() -> frozenset[str]:
    """The six-digit HS subheadings, the level a goods item is declared at."""
    return active().hs6_codes


#: Duty assumed for a subheading the tariff file does not list and whose chapter it does not
#: know either: about the EU's simple average MFN duty (WTO tariff profiles).
DEFAULT_DUTY_PCT = 5.0


def duty_rates() -> dict[str, float]:
    """Ad valorem third-country duty, in percent, per HS6 subheading quaywatch knows.

    Approximations of the EU Common Customs Tariff for risk analysis (duty exposure, revenue
    at stake), not a substitute for TARIC when duty is assessed; a site's ``tariff.csv``
    replaces or adds lines.
    """
    return active().duty_rates


def duty_pct(hs6: str) -> float:
    """The duty of ``hs6``: listed, else the median of its chapter, else the default."""
    known = duty_known(hs6)
    return DEFAULT_DUTY_PCT if known is None else known


def duty_known(hs6: str) -> float | None:
    """The duty of ``hs6`` as the tariff in use knows it: listed, else the median of its
    chapter; ``None`` where the tariff lists nothing of its chapter."""
    reference = active()
    rates = reference.duty_rates
    if hs6 in rates:
        return rates[hs6]
    return reference.chapter_duty.get(hs6[:2])


def exchange_rates() -> dict[str, float]:
    """EUR per unit of each currency quaywatch converts declared values from.

    Approximate reference rates; an administration puts the customs exchange rates it
    publishes each month in its site ``exchange-rates.csv``.
    """
    return active().exchange_rates


def version() -> str:
    """The version of the reference data in use (``Reference.version``)."""
    return active().version
