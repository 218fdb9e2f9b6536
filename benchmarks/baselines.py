"""Anomaly baselines learnt from all traffic against baselines learnt from reference traffic.

Runs every detector over a store twice, as of one moment: once with every consignment counting
fully towards the hub-dwell and route baselines (as before ``features.reference``), once with
reference traffic only (suspects out, newcomers light). For ``hub_dwell`` and ``rare_route``,
prints how many consignments each flags, how many of them are cocaine and how many of the
cocaine consignments displaced to new hubs, from the generator's ground truth; and the figures
of the hubs the displaced routes use. Generated traffic only: the truth file is the generator's.

    python benchmarks/baselines.py --database sqlite:///m.db --truth traffic/truth/truth.parquet
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime

import polars as pl

from quaywatch.risk.anomaly import detect, hubs, reads
from quaywatch.risk.signals import data_end
from quaywatch.store.store import Store

DISPLACED_HUBS = ("TGLFW", "GRPIR", "MTMAR")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--at", help="ISO moment with timezone (default: the end of the data)")
    args = parser.parse_args()
    store = Store.open(args.database)
    at = datetime.fromisoformat(args.at) if args.at else data_end(store)
    events, boxes = reads.events(store), reads.boxes(store)
    reference = reads.reference(store, at=at)
    truth = pl.read_parquet(args.truth).select("consignment_id", "pattern", "displaced")
    standing = reference.unique("consignment_id").group_by("weight").len().sort("weight")
    print(f"as of {at.isoformat()}; reference weights: {dict(standing.iter_rows())}")
    figures: dict[str, object] = {"at": at.isoformat()}
    for name, ref in (("all traffic", None), ("reference traffic", reference)):
        found = detect(events, boxes, at=at, reference=ref).join(truth, on="consignment_id")
        row: dict[str, object] = {}
        for code in ("anomaly:hub_dwell", "anomaly:rare_route"):
            hit = found.filter(pl.col("code") == code)
            coke = hit.filter(pl.col("pattern") == "cocaine")
            row[code] = {
                "flagged": hit.height,
                "cocaine": coke.height,
                "displaced cocaine": coke.filter(pl.col("displaced")).height,
                "at displaced hubs": hit.filter(
                    pl.col("text").str.contains("|".join(DISPLACED_HUBS))
                ).height,
            }
        usual = hubs.baseline(reads.transshipments(store), ref).filter(
            pl.col("un_locode").is_in(DISPLACED_HUBS) | pl.col("un_locode").is_null()
        )
        row["baselines"] = usual.sort("un_locode", nulls_last=True).to_dicts()
        figures[name] = row
        print(name, json.dumps(row, default=str, indent=1))
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
