"""Matching parties against watchlist entries: exact identifiers, fuzzy names, fast.

Two kinds of match:

- **identifier**: the party's EORI, phone number or e-mail address is one the entry lists
  (after ``normalise``). A company can rename itself overnight; it rarely gives up its number.
  These are *strong* matches.
- **name**: the normalised names (legal forms gone, words sorted) are close, measured by
  rapidfuzz's ``ratio`` (0-100, an edit distance scaled by length) on the sorted words. A match
  needs ``threshold`` (88 by default: one typo in a twelve-letter name still matches, a
  different word does not); a differing country, when both sides give one, costs
  ``COUNTRY_PENALTY`` points. A name match with the same normalised address as the entry is
  strong too.

Comparing every party with every entry would be 10¹⁰ comparisons for a 10,000-name list and
100,000 parties. ``Screener`` compares only *candidates*: it indexes the entries by blocking
keys (each word, and the first and last three letters of words of four letters or more, so that a
typo still shares a key) and, for each party, looks up its ``BLOCK_KEYS`` rarest keys, leaving out common ones (shared
by more than ``RARE_SHARE`` of the entries) unless the name has nothing rarer. The candidate pairs
are built with polars joins and scored with rapidfuzz's ``cpdist`` in one call, so nothing loops
over parties in Python (``benchmarks/screening.py`` measures it).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from quaywatch.errors import said
from quaywatch.risk.screening import normalise as nz
from quaywatch.risk.wording import Worded, chosen, worded, words

#: Minimum name score (0-100) for a name match.
THRESHOLD = 88.0
#: Points taken off a name score when party and entry give different countries.
COUNTRY_PENALTY = 8.0
#: Blocking keys looked up per name: its rarest ones.
BLOCK_KEYS = 3
#: A key shared by more than this share of the entries (and ``RARE_MIN``) is common.
RARE_SHARE = 0.002
RARE_MIN = 20
#: Columns of a matches frame.
MATCH_COLUMNS = ("party_key", "watchlist_id", "entry_id", "entry_name", "category", "score",
                 "kind", "strong", "detail")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Screener:
    """Watchlist entries indexed for screening; build with ``Screener.build(entries)``."""

    entries: pl.DataFrame  # entry columns + _e (row), _name
    keys: pl.DataFrame  # _key, _e, plus _df (how many entries share the key)
    identifiers: pl.DataFrame  # _e, id_kind, id_key

    @classmethod
    def build(cls, entries: pl.DataFrame) -> Screener:
        """Index ``entries`` (``lists.watchlist_entries``, or any frame with its columns)."""
        entries = entries.with_row_index("_e").with_columns(
            nz.name_key_expr(pl.col("name")).alias("_name"),
            nz.address_key_expr(pl.col("address")).alias("_address"),
        )
        keys = _block_keys(entries.select("_e", "_name"), "_e")
        keys = keys.with_columns(pl.len().over("_key").alias("_df"))
        ids = (
            entries.select("_e", pl.col("identifiers").str.split("|").alias("_id"))
            .explode("_id")
            .drop_nulls()
        )
        kinds = [nz.identifier_kind(v) for v in ids["_id"]]
        identifiers = ids.with_columns(
            pl.Series("id_kind", [k[0] if k else None for k in kinds], pl.String),
            pl.Series("id_key", [k[1] if k else None for k in kinds], pl.String),
        ).drop("_id").drop_nulls().unique()  # fmt: skip
        return cls(entries, keys, identifiers)

    @property
    def size(self) -> int:
        """Entries indexed."""
        return self.entries.height

    def screen(self, parties: pl.DataFrame, *, threshold: float = THRESHOLD) -> pl.DataFrame:
        """Every match of ``parties`` (``party_key``, ``name``, ``country`` and optionally
        ``address``, ``eori``, ``phone``, ``email``) with the entries: ``MATCH_COLUMNS``.

        One row per (party, entry) pair that matches, best first within a party: its score
        (100 for an identifier), ``kind`` (``name``, ``eori``, ``phone``, ``email``), whether it
        is strong, and ``detail`` (the party's value that matched).
        """
        if parties.is_empty() or self.entries.is_empty():
            return _empty()
        parties = parties.with_columns(
            pl.lit(None, pl.String).alias(c)
            for c in ("address", "eori", "phone", "email")
            if c not in parties.columns
        ).with_columns(  # fmt: skip
            nz.name_key_expr(pl.col("name")).alias("_name"),
            nz.address_key_expr(pl.col("address")).alias("_address"),
        )
        return pl.concat([self._by_name(parties, threshold), self._by_identifier(parties)]).sort(
            ["party_key", "strong", "score", "watchlist_id", "entry_id"],
            descending=[False, True, True, False, False],
        )

    def screen_name(
        self, name: str, *, country: str | None = None, threshold: float = THRESHOLD
    ) -> pl.DataFrame:
        """The entries a single name matches, best first (``quaywatch screen NAME``)."""
        query = pl.DataFrame(
            {"party_key": ["query"], "name": [name], "country": [country]},
            schema={"party_key": pl.String, "name": pl.String, "country": pl.String},
        )
        return self.screen(query, threshold=threshold)

    def _by_name(self, parties: pl.DataFrame, threshold: float) -> pl.DataFrame:
        names = parties.select("_name").unique().filter(pl.col("_name") != "")
        keys = _block_keys(names.with_row_index("_q"), "_q")
        # A name's rarest keys, but a common one ("trading" on a list of traders) only when
        # the name has nothing rarer: it would make every trader a candidate.
        cap = max(RARE_SHARE * self.size, RARE_MIN)
        rarest = (
            keys.join(self.keys.select("_key", "_df").unique(), on="_key")
            .sort("_q", "_df", "_key")
            .group_by("_q", maintain_order=True)
            .head(BLOCK_KEYS)
            .filter((pl.col("_df") <= cap) | (pl.col("_df") == pl.col("_df").min().over("_q")))
        )
        pairs = (
            rarest.join(self.keys.select("_key", "_e"), on="_key")
            .select("_q", "_e")
            .unique()
            .join(names.with_row_index("_q"), on="_q")
            .join(self.entries.select("_e", pl.col("_name").alias("_entry_name")), on="_e")
        )
        scores = cpdist(pairs["_name"].to_list(), pairs["_entry_name"].to_list(),
                        scorer=fuzz.ratio, workers=1)  # fmt: skip
        scored = pairs.with_columns(pl.Series("_score", scores, pl.Float64)).filter(
            pl.col("_score") >= threshold - 0.001
        )
        e = self.entries
        matched = (
            parties.select("party_key", "name", "country", "_name", "_address")
            .join(scored.select("_name", "_e", "_score"), on="_name")
            .join(
                e.select(
                    "_e",
                    "watchlist_id",
                    "entry_id",
                    pl.col("name").alias("entry_name"),
                    "category",
                    pl.col("country").alias("_ec"),
                    pl.col("_address").alias("_ea"),
                ),
                on="_e",
            )  # fmt: skip
        )
        differs = (
            pl.col("country").is_not_null()
            & pl.col("_ec").is_not_null()
            & (pl.col("country") != pl.col("_ec"))
        )
        same_place = (pl.col("_address") != "") & (pl.col("_address") == pl.col("_ea"))
        return (
            matched.with_columns(
                (pl.col("_score") - pl.when(differs).then(COUNTRY_PENALTY).otherwise(0.0))
                .round(1)
                .alias("score")
            )
            .filter(pl.col("score") >= threshold - 0.001)
            .select(
                "party_key",
                "watchlist_id",
                "entry_id",
                "entry_name",
                "category",
                "score",
                pl.lit("name").alias("kind"),
                same_place.alias("strong"),
                pl.when(same_place)
                .then(pl.format("{}, at the listed address", "name"))
                .otherwise(pl.col("name"))
                .alias("detail"),
            )  # fmt: skip
        )

    def _by_identifier(self, parties: pl.DataFrame) -> pl.DataFrame:
        keyed = {
            "eori": nz.eori_key_expr, "phone": nz.phone_key_expr, "email": nz.email_key_expr,
        }  # fmt: skip
        values = pl.concat(
            parties.select(
                "party_key",
                pl.lit(kind).alias("id_kind"),
                key(pl.col(kind)).alias("id_key"),
                pl.col(kind).alias("detail"),
            )  # fmt: skip
            for kind, key in keyed.items()
        ).filter(pl.col("id_key") != "")
        e = self.entries.select("_e", "watchlist_id", "entry_id",
                                pl.col("name").alias("entry_name"), "category")  # fmt: skip
        return (
            values.join(self.identifiers, on=["id_kind", "id_key"])
            .join(e, on="_e")
            .select(
                "party_key",
                "watchlist_id",
                "entry_id",
                "entry_name",
                "category",
                pl.lit(100.0).alias("score"),
                pl.col("id_kind").alias("kind"),
                pl.lit(True).alias("strong"),
                "detail",
            )  # fmt: skip
        )


def _block_keys(names: pl.DataFrame, row: str) -> pl.DataFrame:
    """``(_key, row)``: each word of ``_name``, and the first and last three letters of words of
    four letters or more (a typo inside a word leaves one of them intact)."""
    word = pl.col("_key")
    exploded = names.select(row, pl.col("_name").str.split(" ").alias("_key")).explode("_key")
    exploded = exploded.filter(word.is_not_null() & (word != ""))
    long = exploded.filter(word.str.len_chars() > 3)
    return pl.concat([
        exploded,
        long.select(row, pl.format("{}<", word.str.slice(0, 3)).alias("_key")),
        long.select(row, pl.format(">{}", word.str.slice(-3)).alias("_key")),
    ]).select("_key", row).unique()  # fmt: skip


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "party_key": pl.String,
            "watchlist_id": pl.String,
            "entry_id": pl.String,
            "entry_name": pl.String,
            "category": pl.String,
            "score": pl.Float64,
            "kind": pl.String,
            "strong": pl.Boolean,
            "detail": pl.String,
        }  # fmt: skip
    )


def best(matches: pl.DataFrame) -> pl.DataFrame:
    """The best match of each party on each watchlist, with its reason in words."""
    top = matches.group_by("party_key", "watchlist_id", maintain_order=True).first()
    return top.with_columns(reason_worded().columns("reason", "reason_said"))


_LABELS = {"eori": "EORI", "phone": "phone", "email": "e-mail"}
#: The labels that are words (they translate; an EORI is a code).
_WORDS = (said("phone"), said("e-mail"))


def reason_expr() -> pl.Expr:
    """The sentence for a match: "name matches 'X' on watchlist W (score 93)"."""
    return reason_worded().text


def reason_worded() -> Worded:
    """``reason_expr`` and its message (``risk.wording``), which a page shows translated."""
    by_name = worded("name matches '%(name)s' on watchlist %(list)s (score %(score)s)",
                     name="entry_name", list="watchlist_id",
                     score=pl.col("score").round(0).cast(pl.Int64))  # fmt: skip
    label = words(pl.col("kind").replace_strict(_LABELS, default=pl.col("kind")),
                  [str(w) for w in _WORDS])  # fmt: skip
    by_id = worded(
        "%(what)s %(detail)s is listed for '%(name)s' on watchlist %(list)s",
        what=label,
        detail="detail",
        name="entry_name",
        list="watchlist_id",
    )
    named = chosen(pl.col("kind") == "name", by_name, by_id)
    return chosen(pl.col("strong") & (pl.col("kind") == "name"),
                  worded("%(match)s, at the listed address", match=by_name), named)  # fmt: skip
