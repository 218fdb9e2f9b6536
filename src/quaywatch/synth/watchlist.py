"""A watchlist of known offenders, as an intelligence unit would hold it before the window.

``quaywatch generate`` (``traffic.generate(..., watchlist_share=0.4)``) writes
``watchlists/offenders.csv`` (the format of
``quaywatch.risk.screening.lists``): a share (``SHARE``, 40 %) of the bad-actor consignees that
were known before the first day of the traffic (first seen before it; shell companies are
never listed, they are set up later precisely to stay off lists). Each entry gives the
offender's real address, country and identifiers (EORI, phone, e-mail; one in five without the
e-mail), as a list compiled from past cases would. Names are written as lists write them: about
a third are variants of the declared name (capitals, the legal form dropped or changed, the
words in another order, one letter mistyped), so screening has to normalise to find them.

The list is drawn from its own random stream, ``[seed, 3]``: the traffic files do not depend on
it and the same seed gives the same list.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

#: Share of the known offenders that are listed.
SHARE = 0.4
_FORMS = ("Ltd", "BV", "NV", "GmbH", "SA", "SARL", "LLC", "Co")


def _variant(name: str, rng: np.random.Generator) -> str:
    """``name`` as another clerk might have typed it."""
    words = name.split()
    kind = int(rng.integers(0, 5))
    if kind == 0:
        return name.upper()
    if kind == 1 and len(words) > 2:
        return " ".join(words[:-1])  # without its legal form
    if kind == 2:
        return " ".join([*words[:-1], str(rng.choice(_FORMS))])
    if kind == 3 and len(words) > 2:
        return " ".join([words[-2], *words[:-2], words[-1]])
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    if len(word) > 4:
        cut = int(rng.integers(1, len(word) - 1))
        words[longest] = word[:cut] + word[cut + 1 :]  # one letter dropped
    return " ".join(words)


def offenders(
    parties: pl.DataFrame, rng: np.random.Generator, start: date, share: float = SHARE
) -> pl.DataFrame:
    """Watchlist entries for ``share`` of the offenders of ``parties`` first seen before ``start``.

    ``parties`` is the generator's party table (``truth/parties.parquet``).
    """
    known = parties.filter(
        pl.col("bad_actor") & (pl.col("linked_to") < 0) & (pl.col("first_seen") < start)
    ).sort("party_id")
    chosen = known.filter(pl.Series(rng.random(known.height) < share))
    n = chosen.height
    vary = rng.random(n) < 0.35
    with_mail = rng.random(n) >= 0.2
    names = [
        _variant(name, rng) if v else name
        for name, v in zip(chosen["name"].to_list(), vary.tolist(), strict=True)
    ]
    identifiers = pl.concat_str(
        [pl.col("eori"), pl.col("phone"), pl.when(pl.Series(with_mail)).then(pl.col("email"))],
        separator="|",
        ignore_nulls=True,
    )
    return chosen.select(
        pl.format("OFF-{}", pl.col("party_id").cast(pl.String).str.zfill(6)).alias("entry_id"),
        pl.Series("name", names, pl.String),
        "address",
        "country",
        identifiers.alias("identifiers"),
        pl.lit("customs fraud").alias("category"),
        pl.format("offender known since {}", pl.col("first_seen").cast(pl.String)).alias("note"),
    )


def write(
    path: Path, parties: pl.DataFrame, rng: np.random.Generator, start: date, share: float = SHARE
) -> Path:
    """Write the offenders' watchlist of ``parties`` to ``path`` (CSV); return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    offenders(parties, rng, start, share).write_csv(path)
    return path
