"""How fast and how well screening matches: a watchlist of N names against M parties.

    python benchmarks/screening.py [--entries 10000] [--parties 100000] [--planted 1000]

Names are synthetic company names in the generator's style (``synth.parties``: a word or two,
a trade, a legal form of the country) plus one invented word each, as real names carry
something distinctive. ``--planted`` of the parties are variants of listed names (capitals,
legal form dropped or changed, words reordered, one letter dropped, accents added); the others
are drawn independently. Prints entries, parties, seconds (wall and CPU), parties per second (one core:
rapidfuzz runs with one worker), and precision and recall on the planted variants (a match is
right when it names the entry the variant was made from); the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import polars as pl

from quaywatch.risk.screening import Screener
from quaywatch.synth.parties import _FORMS, _TRADES, _WORDS
from quaywatch.synth.watchlist import _variant

_SYLLABLES = ["ka", "lo", "mi", "ran", "tor", "vel", "zu", "ne", "sta", "bri", "qua", "dor",
              "fen", "gal", "hex", "ix", "jor", "lum", "mar", "nov", "pre", "sol", "tri", "ul"]  # fmt: skip
_ACCENTS = str.maketrans("aeiou", "áéíóü")


def names(rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
    """``n`` company names and their countries."""
    countries = rng.choice(list(_FORMS), n)
    made = []
    for country in countries:
        invented = "".join(rng.choice(_SYLLABLES, int(rng.integers(3, 5)))).capitalize()
        words = [invented, str(rng.choice(_WORDS))]
        if rng.random() < 0.4:
            words.append(str(rng.choice(_WORDS)))
        words += [str(rng.choice(_TRADES)), str(rng.choice(_FORMS[country]))]
        made.append(" ".join(words))
    return made, [str(c) for c in countries]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--planted", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    listed, listed_country = names(rng, args.entries)
    entries = pl.DataFrame({
        "watchlist_id": "BENCH", "entry_id": [f"E{i}" for i in range(args.entries)],
        "name": listed, "address": None, "country": listed_country, "identifiers": None,
        "category": "test", "note": None,
    }, schema_overrides={"address": pl.String, "identifiers": pl.String, "note": pl.String})  # fmt: skip
    others, other_country = names(rng, args.parties - args.planted)
    source = rng.integers(0, args.entries, args.planted)
    planted = []
    for i in source:
        name = _variant(listed[i], rng)
        planted.append(name.translate(_ACCENTS) if rng.random() < 0.2 else name)
    parties = pl.DataFrame({
        "party_key": [f"P{i}" for i in range(args.parties)],
        "name": planted + others,
        "country": [listed_country[i] for i in source] + other_country,
    })  # fmt: skip
    start, cpu = time.perf_counter(), time.process_time()
    screener = Screener.build(entries)
    built = time.perf_counter() - start
    matches = screener.screen(parties)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    truth = pl.DataFrame({"party_key": [f"P{i}" for i in range(args.planted)],
                          "entry_id": [f"E{i}" for i in source]})  # fmt: skip
    best = matches.group_by("party_key", maintain_order=True).first()
    right = best.join(truth, on=["party_key", "entry_id"]).height
    # A hit on a party that was not planted may still be right: two drawn names can coincide.
    precision = right / best.height if best.height else 0.0
    recall = right / args.planted if args.planted else 0.0
    result = {
        "entries": args.entries, "parties": args.parties, "planted": args.planted,
        "seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2),
        "index_seconds": round(built, 2),
        "parties_per_second": round(args.parties / seconds), "matched_parties": best.height,
        "precision": round(precision, 4), "recall": round(recall, 4),
    }  # fmt: skip
    print(f"{args.entries:,} entries x {args.parties:,} parties in {seconds:.2f} s "
          f"({result['parties_per_second']:,} parties/s, index {built:.2f} s, "
          f"CPU {cpu_seconds:.2f} s)")  # fmt: skip
    print(f"planted {args.planted:,}: precision {precision:.3f}, recall {recall:.3f}; "
          f"{best.height:,} parties matched")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
