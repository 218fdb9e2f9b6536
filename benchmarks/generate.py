"""Traffic generator benchmark: consignments per second and peak memory.

    python benchmarks/generate.py [--days 50] [--per-day 20000] [--seed 7] [--workdir DIR]
                                  [--no-events] [--no-legacy-controls]

Generates DAYS x PER_DAY consignments with their DCSA events and ground truth into a fresh
folder, and reports the wall time, consignments per second and the peak RSS of this process.
The target is a million consignments (50 x 20,000) in under two minutes on two cores. Last
line: JSON with ``seconds``, ``consignments_per_s`` and ``peak_rss_mb``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from quaywatch.synth import traffic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=50)
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--no-events", action="store_true", help="Skip the DCSA events.")
    parser.add_argument(
        "--no-legacy-controls", action="store_true", help="Skip the control history."
    )
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="quaywatch-generate-"))
    out = work / "traffic"
    shutil.rmtree(out, ignore_errors=True)

    started = time.perf_counter()
    result = traffic.generate(
        out,
        days=args.days,
        per_day=args.per_day,
        seed=args.seed,
        with_events=not args.no_events,
        legacy_controls=not args.no_legacy_controls,
    )
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    rate = result.consignments / seconds
    print(
        f"{result.consignments:,} consignments, {result.goods_items:,} goods items, "
        f"{result.events:,} events, {result.controls:,} control outcomes ({size_mb:,.0f} MB) "
        f"in {seconds:.1f} s"
    )
    print(f"{rate:,.0f} consignments/s, peak RSS {peak_mb:,.0f} MB, output in {out}")
    print("patterns: " + ", ".join(f"{k} {v:,}" for k, v in result.counts.items()))
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "consignments_per_s": round(rate),
                "peak_rss_mb": round(peak_mb),
                "consignments": result.consignments,
                "events": result.events,
                "controls": result.controls,
            }
        )
    )


if __name__ == "__main__":
    main()
