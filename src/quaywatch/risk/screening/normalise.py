"""Normalised names, addresses and identifiers: what screening and the party graph compare.

A watchlist says "Zenith Trading Ltd"; a declaration says "ZENITH TRADING LIMITED" or
"Trading Zenith" or "Zénith Trading". Screening compares what is left after removing what does
not identify a company:

- case (``casefold``) and accents or other scripts (``transliterate``: NFKD decomposition with
  the combining marks dropped, plus a table for letters that do not decompose, ß, Æ, Ø, Ł, and
  the Cyrillic and Greek alphabets);
- punctuation (dots vanish so that "S.A." reads as "SA"; every other sign separates words);
- legal forms and trade words (``LEGAL_FORMS``: Ltd, LLC, GmbH, BV, NV, SA, SARL, Co, Limited,
  Company, Trading, Import Export, ...), unless nothing else is left;
- word order (the words are sorted).

>>> name_key("Zénith Trading Ltd.")
'zenith'
>>> name_key("TRADING CO. ZENITH") == name_key("Zenith Trading Company")
True
>>> phone_key("+32 (0)3 123 45 67") == phone_key("0032 3 1234567")
True

Each function comes in two forms: one for a string (``name_key``), used for a single query, and
one polars expression (``name_key_expr``) for whole columns, which maps the same function over
the distinct values only (names repeat a lot in traffic).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import polars as pl
from rapidfuzz.distance import Levenshtein

#: Legal forms and words that say what a company does rather than which one it is.
LEGAL_FORMS = frozenset([
    "ltd", "limited", "llc", "llp", "lp", "inc", "incorporated", "corp", "corporation", "co",
    "company", "cie", "cia", "plc", "pty", "pvt", "pte", "gmbh", "ag", "kg", "ohg", "ug", "mbh",
    "ev", "bv", "bvba", "nv", "vof", "cv", "sa", "sas", "sarl", "sasu", "sl", "slu", "srl", "spa",
    "snc", "sc", "scs", "ab", "aps", "as", "asa", "oy", "oyj", "sro", "kft", "doo", "ooo", "ao",
    "zao", "oao", "pao", "jsc", "bhd", "sdn", "kk", "ltda", "sti", "eireli", "tic",
    "trading", "import", "export", "impex", "intl", "international", "group", "holding",
    "holdings", "and", "und", "et", "the", "of",
])  # fmt: skip
_LONG_FORMS = tuple(sorted(form for form in LEGAL_FORMS if len(form) >= 5))
# Letters NFKD does not decompose into an ASCII base letter, and two whole alphabets.
_LETTERS = {
    "ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
    "ı": "i", "ħ": "h", "ŋ": "ng", "ſ": "s",
}  # fmt: skip
_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяєіїґ", [
    "a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
    "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "ye", "i",
    "yi", "g",
], strict=True))  # fmt: skip
_GREEK = dict(zip("αβγδεζηθικλμνξοπρσςτυφχψω", [
    "a", "v", "g", "d", "e", "z", "i", "th", "i", "k", "l", "m", "n", "x", "o", "p", "r", "s",
    "s", "t", "y", "f", "ch", "ps", "o",
], strict=True))  # fmt: skip
_TABLE = str.maketrans({**_LETTERS, **_CYRILLIC, **_GREEK})
_DOTS = re.compile(r"[.'’`´]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_DIGITS = re.compile(r"\D+")
_ALNUM = re.compile(r"[^A-Z0-9]+")
_EORI = re.compile(r"^[A-Z]{2}[A-Z0-9]{3,15}$")
#: Phone numbers shorter than this (digits) are extensions or garbage, not identifiers.
MIN_PHONE_DIGITS = 7


def transliterate(text: str) -> str:
    """``text`` casefolded and written in ASCII letters, digits and signs."""
    # The table before and after the marks go: й is a letter of its own (y), but an accented
    # Greek letter must lose its accent to be found in the table.
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_TABLE))
    bare = "".join(ch for ch in folded if not unicodedata.combining(ch)).translate(_TABLE)
    return unicodedata.normalize("NFKD", bare).encode("ascii", "ignore").decode("ascii")


def words(text: str) -> list[str]:
    """The words of ``text`` after transliteration; dots and apostrophes join, others split."""
    return _NON_WORD.sub(" ", _DOTS.sub("", transliterate(text))).split()


@lru_cache(maxsize=65_536)
def is_legal_form(word: str) -> bool:
    """Whether ``word`` is a legal form, or one mistyped (one edit, in words of five letters+)."""
    if word in LEGAL_FORMS:
        return True
    return len(word) >= 5 and any(
        Levenshtein.distance(word, form, score_cutoff=1) <= 1 for form in _LONG_FORMS
    )


def name_words(name: str) -> list[str]:
    """The identifying words of a company name, sorted; legal forms left out if others remain."""
    found = words(name)
    kept = [w for w in found if not is_legal_form(w)]
    return sorted(kept or found)


def name_key(name: str | None) -> str:
    """The normalised name: identifying words sorted and joined by spaces ('' for none)."""
    return " ".join(name_words(name)) if name else ""


def address_key(address: str | None) -> str:
    """An address as words in their order (house numbers and postcodes matter, order does)."""
    return " ".join(words(address)) if address else ""


def phone_key(phone: str | None) -> str:
    """A phone number as its digits, without a trunk prefix: ``+32 (0)3 ...`` = ``0032 3 ...``.

    Empty when fewer than ``MIN_PHONE_DIGITS`` digits remain.
    """
    if not phone:
        return ""
    text = phone.replace("(0)", "")
    digits = _DIGITS.sub("", text)
    digits = digits[2:] if digits.startswith("00") else digits
    return digits if len(digits) >= MIN_PHONE_DIGITS else ""


def email_key(email: str | None) -> str:
    """An e-mail address, trimmed and casefolded ('' if it is not one)."""
    text = (email or "").strip().casefold()
    return text if text.count("@") == 1 and "." in text.split("@")[1] else ""


def eori_key(eori: str | None) -> str:
    """An EORI number in capitals without spaces or signs ('' if it cannot be one)."""
    text = _ALNUM.sub("", (eori or "").upper())
    return text if _EORI.match(text) and any(c.isdigit() for c in text) else ""


def identifier_kind(identifier: str) -> tuple[str, str] | None:
    """``(kind, key)`` of one watchlist identifier: an e-mail, an EORI or a phone number."""
    text = identifier.strip()
    if "@" in text:
        key = email_key(text)
        return ("email", key) if key else None
    if text[:2].isalpha():
        key = eori_key(text)
        return ("eori", key) if key else None
    key = phone_key(text)
    return ("phone", key) if key else None


def _mapped(expr: pl.Expr, function: object) -> pl.Expr:
    # ``replace_strict`` over the distinct values: a name that occurs on ten thousand
    # consignments is normalised once.
    return expr.map_batches(
        lambda s: s.replace_strict(
            (unique := s.unique().drop_nulls()),
            [function(v) for v in unique],  # type: ignore[operator]
            default="",
            return_dtype=pl.String,
        ),
        return_dtype=pl.String,
    )


def name_key_expr(expr: pl.Expr) -> pl.Expr:
    """``name_key`` over a column."""
    return _mapped(expr, name_key)


def address_key_expr(expr: pl.Expr) -> pl.Expr:
    """``address_key`` over a column."""
    return _mapped(expr, address_key)


def phone_key_expr(expr: pl.Expr) -> pl.Expr:
    """``phone_key`` over a column."""
    return _mapped(expr, phone_key)


def email_key_expr(expr: pl.Expr) -> pl.Expr:
    """``email_key`` over a column."""
    return _mapped(expr, email_key)


def eori_key_expr(expr: pl.Expr) -> pl.Expr:
    """``eori_key`` over a column."""
    return _mapped(expr, eori_key)
