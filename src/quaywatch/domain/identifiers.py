"""Identifiers that arrive on cargo data, each checked twice over the same rules.

For every identifier there is a scalar ``validate_*`` (returns the normalised value or raises
``ValueError`` with the reason a person reads) used by the pydantic models, and a vectorised
``*_problem`` polars expression (the reason, or null when valid) used by intake over whole
batches. The two are kept in agreement by property tests; the scalar container check uses
python-stdnum as the reference implementation.

Known limit of ISO 6346: its check digit cannot see a substitution between two characters whose
values differ by a multiple of 11 (e.g. A and K in the owner code), nor one that moves the
weighted sum between remainders 0 and 10 (both give check digit 0). BIC does not issue serials
with remainder 10, but some older numbers carry them, so they are accepted as python-stdnum does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import polars as pl
from stdnum import iso6346

from quaywatch.domain.reference import countries, currencies, hs6_codes, known_ports

CONTAINER_RE = r"^[A-Z]{3}[UJZ][0-9]{7}$"
IMO_RE = r"^[0-9]{7}$"
LOCODE_RE = r"^[A-Z]{2}[A-Z2-9]{3}$"
EORI_RE = r"^[A-Z]{2}[A-Z0-9]{1,15}$"
SCAC_RE = r"^[A-Z]{2,4}$"
HS6_RE = r"^[0-9]{6}$"
SIZE_TYPE_RE = r"^[0-9A-Z]{2}[A-Z][0-9A-Z]$"
PACKAGE_TYPE_RE = r"^[0-9A-Z]{2}$"

#: ISO 6346 character values: digits at face value, letters from 10 skipping multiples of 11.
_ISO6346_VALUES = {ch: i for i, ch in enumerate("0123456789A BCDEFGHIJK LMNOPQRSTU VWXYZ")}
#: EORI prefixes that are not ISO 3166 countries: XI is Northern Ireland under the Windsor Framework.
_EORI_EXTRA_PREFIXES = frozenset({"XI"})


def _fail_unless(ok: bool, reason: str) -> None:
    if not ok:
        raise ValueError(reason)


def normalise_code(value: str) -> str:
    """Upper-case and remove spaces: how codes are compared and stored."""
    return value.replace(" ", "").strip().upper()


def normalise_code_expr(expr: pl.Expr) -> pl.Expr:
    """Vectorised ``normalise_code``."""
    return expr.str.replace_all(" ", "", literal=True).str.strip_chars().str.to_uppercase()


# --- ISO 6346 container number -------------------------------------------------------------


def validate_container_number(value: str) -> str:
    """An ISO 6346 container number: owner code, category U/J/Z, six-digit serial, check digit.

    >>> validate_container_number("csqu 305438 3")
    'CSQU3054383'
    """
    number = normalise_code(value)
    _fail_unless(
        bool(re.match(CONTAINER_RE, number)), "not an ISO 6346 container number (AAAU1234565)"
    )
    _fail_unless(iso6346.is_valid(number), "ISO 6346 check digit does not match")
    return number


def container_check_digit(prefix: pl.Expr) -> pl.Expr:
    """ISO 6346 check digit of the first ten characters, vectorised (null if not computable)."""
    total: pl.Expr = pl.lit(0, dtype=pl.Int64)
    for position in range(10):
        value = prefix.str.slice(position, 1).replace_strict(
            _ISO6346_VALUES, default=None, return_dtype=pl.Int64
        )
        total = total + value * (2**position)
    return (total % 11) % 10


def container_number_problem(number: pl.Expr) -> pl.Expr:
    """Reason a normalised container number is invalid, or null."""
    check = container_check_digit(number.str.slice(0, 10)).cast(pl.String)
    return (
        pl.when(~number.str.contains(CONTAINER_RE))
        .then(pl.lit("not an ISO 6346 container number (AAAU1234565)"))
        .when(check != number.str.slice(10, 1))
        .then(pl.lit("ISO 6346 check digit does not match"))
    )


# --- IMO ship identification number -------------------------------------------------------


def normalise_imo(value: str) -> str:
    """Drop an ``IMO`` prefix and spaces."""
    number = normalise_code(value)
    return number[3:] if number.startswith("IMO") else number


def normalise_imo_expr(expr: pl.Expr) -> pl.Expr:
    """Vectorised ``normalise_imo``."""
    return normalise_code_expr(expr).str.strip_prefix("IMO")


def validate_imo(value: str) -> str:
    """A seven-digit IMO ship number whose last digit checks the first six.

    >>> validate_imo("IMO 9074729")
    '9074729'
    """
    number = normalise_imo(value)
    _fail_unless(bool(re.match(IMO_RE, number)), "not an IMO number (seven digits)")
    total = sum(int(digit) * (7 - i) for i, digit in enumerate(number[:6]))
    _fail_unless(total % 10 == int(number[6]), "IMO check digit does not match")
    return number


def imo_problem(number: pl.Expr) -> pl.Expr:
    """Reason a normalised IMO number is invalid, or null."""
    total: pl.Expr = pl.lit(0, dtype=pl.Int64)
    for position in range(6):
        digit = number.str.slice(position, 1).cast(pl.Int64, strict=False)
        total = total + digit * (7 - position)
    check = number.str.slice(6, 1).cast(pl.Int64, strict=False)
    return (
        pl.when(~number.str.contains(IMO_RE))
        .then(pl.lit("not an IMO number (seven digits)"))
        .when(total % 10 != check)
        .then(pl.lit("IMO check digit does not match"))
    )


# --- codes checked against a list -------------------------------------------------------------


def validate_country(value: str) -> str:
    """An ISO 3166 alpha-2 country code."""
    code = normalise_code(value)
    _fail_unless(code in countries(), f"unknown ISO 3166 country code {code!r}")
    return code


def country_problem(code: pl.Expr) -> pl.Expr:
    """Reason a normalised country code is invalid, or null."""
    return pl.when(~code.is_in(list(countries()))).then(
        pl.format("unknown ISO 3166 country code '{}'", code)
    )


def validate_currency(value: str) -> str:
    """An active ISO 4217 currency code."""
    code = normalise_code(value)
    _fail_unless(code in currencies(), f"unknown ISO 4217 currency code {code!r}")
    return code


def currency_problem(code: pl.Expr) -> pl.Expr:
    """Reason a normalised currency code is invalid, or null."""
    return pl.when(~code.is_in(list(currencies()))).then(
        pl.format("unknown ISO 4217 currency code '{}'", code)
    )


def validate_hs6(value: str) -> str:
    """A six-digit subheading of the Harmonized System nomenclature."""
    code = normalise_code(value)
    _fail_unless(bool(re.match(HS6_RE, code)), "not an HS code (six digits)")
    _fail_unless(code in hs6_codes(), f"HS code {code} is not in the HS nomenclature")
    return code


def hs6_problem(code: pl.Expr) -> pl.Expr:
    """Reason a normalised HS6 code is invalid, or null."""
    return (
        pl.when(~code.str.contains(HS6_RE))
        .then(pl.lit("not an HS code (six digits)"))
        .when(~code.is_in(list(hs6_codes())))
        .then(pl.format("HS code {} is not in the HS nomenclature", code))
    )


def validate_locode(value: str) -> str:
    """A UN/LOCODE: ISO country plus three letters or digits 2-9 (any place, not only ports)."""
    code = normalise_code(value)
    _fail_unless(bool(re.match(LOCODE_RE, code)), "not a UN/LOCODE (two-letter country + 3)")
    _fail_unless(code[:2] in countries(), f"UN/LOCODE {code} has an unknown country")
    return code


def locode_problem(code: pl.Expr) -> pl.Expr:
    """Reason a normalised UN/LOCODE is invalid, or null."""
    return (
        pl.when(~code.str.contains(LOCODE_RE))
        .then(pl.lit("not a UN/LOCODE (two-letter country + 3)"))
        .when(~code.str.slice(0, 2).is_in(list(countries())))
        .then(pl.format("UN/LOCODE {} has an unknown country", code))
    )


def validate_port(value: str) -> str:
    """A UN/LOCODE that is a known port (``domain.reference``: UN/LOCODE function 1, curated
    container ports, a site's ports)."""
    code = validate_locode(value)
    _fail_unless(code in known_ports(), f"UN/LOCODE {code} is not a known port")
    return code


def port_problem(code: pl.Expr) -> pl.Expr:
    """Reason a normalised port code is invalid, or null."""
    return pl.coalesce(
        locode_problem(code),
        pl.when(~code.is_in(_known_port_series().implode())).then(
            pl.format("UN/LOCODE {} is not a known port", code)
        ),
    )


_port_series: dict[frozenset[str], pl.Series] = {}


def _known_port_series() -> pl.Series:
    """The known ports as a polars Series, built once per reference in use (17,000 codes)."""
    known = known_ports()
    found = _port_series.get(known)
    if found is None:
        _port_series.clear()
        found = _port_series[known] = pl.Series(values=sorted(known), dtype=pl.String)
    return found


def validate_eori(value: str) -> str:
    """An EORI number's format: country prefix and up to 15 letters or digits."""
    code = normalise_code(value)
    _fail_unless(bool(re.match(EORI_RE, code)), "not an EORI number (country + up to 15)")
    prefix = code[:2]
    _fail_unless(
        prefix in countries() or prefix in _EORI_EXTRA_PREFIXES,
        f"EORI {code} has an unknown country prefix",
    )
    return code


def eori_problem(code: pl.Expr) -> pl.Expr:
    """Reason a normalised EORI is invalid, or null."""
    prefixes = [*countries(), *_EORI_EXTRA_PREFIXES]
    return (
        pl.when(~code.str.contains(EORI_RE))
        .then(pl.lit("not an EORI number (country + up to 15)"))
        .when(~code.str.slice(0, 2).is_in(prefixes))
        .then(pl.format("EORI {} has an unknown country prefix", code))
    )


def _pattern_checks(
    pattern: str, reason: str
) -> tuple[Callable[[str], str], Callable[[pl.Expr], pl.Expr]]:
    def validate(value: str) -> str:
        code = normalise_code(value)
        _fail_unless(bool(re.match(pattern, code)), reason)
        return code

    def problem(code: pl.Expr) -> pl.Expr:
        return pl.when(~code.str.contains(pattern)).then(pl.lit(reason))

    return validate, problem


validate_scac, scac_problem = _pattern_checks(SCAC_RE, "not a carrier SCAC (2 to 4 letters)")
validate_size_type, size_type_problem = _pattern_checks(
    SIZE_TYPE_RE, "not an ISO 6346 size/type code (e.g. 22G1, 45R1)"
)
validate_package_type, package_type_problem = _pattern_checks(
    PACKAGE_TYPE_RE, "not a UN/ECE Rec. 21 package code (two characters)"
)
