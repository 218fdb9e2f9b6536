"""API benchmark: new consignments posted to `quaywatch serve` at a steady rate, each answered
with its assessment.

    python benchmarks/api.py [--rps 200] [--seconds 30] [--days 4] [--per-day 1000]
                             [--database URL] [--workdir DIR]

Set-up (not timed): generates DAYS × PER_DAY consignments with their control history and
container events, imports them into a fresh store (SQLite file in WORKDIR by default), trains
the model, makes a feed account and its token, and starts `quaywatch serve` on a free loopback
port in its own process.

Load: an open-loop schedule, one new consignment every 1/RPS s for SECONDS s, sent by a pool of
client threads whatever the answers' pace (so a slow server shows as queueing, not as a lower
request rate). Each latency runs from the request's scheduled moment to its answer, so queueing
behind a slow answer counts (no coordinated omission). An error is any answer but 201 with an
assessment, or no answer within 10 s.

Baseline, in the same run and against the same server: `GET /health` at the same rate for a
third of the time: what the framework, the network stack and the client cost alone.

Last line: JSON with ``p50_ms``, ``p99_ms``, ``errors``, ``rps`` (answers per second achieved),
``sent``, the baseline's ``health_p50_ms`` and ``health_p99_ms``, and the set-up. Target:
p99 ≤ 25 ms with 0 errors at 200 requests/s.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import numpy as np

ROOT = Path(__file__).parents[1]
TIMEOUT_S = 10.0
CLIENT_THREADS = 64


def _prepare(workdir: Path, url: str, days: int, per_day: int) -> tuple[Path, str]:
    from quaywatch.intake.pipeline import ingest_file
    from quaywatch.services import accounts
    from quaywatch.services.risk import train_models
    from quaywatch.store.store import Store
    from quaywatch.synth import traffic
    from quaywatch.synth.controls import ControlRates

    made = traffic.generate(
        workdir / "traffic", days=days, per_day=per_day, seed=7, start=date(2026, 10, 1),
        control_rates=ControlRates(random_share=0.2, rule_share=0.25),
    )  # fmt: skip
    store = Store.open(url)
    try:
        outcomes = sorted((made.out / "outcomes").glob("*.csv"))
        for path in [*made.consignment_files, *outcomes, *made.event_files]:
            ingest_file(store, path)
        models = workdir / "models"
        # The API's latency does not depend on how many hits the model learnt from.
        train_models(store, until=datetime(2027, 1, 1, tzinfo=UTC), model_dir=models,
                     capacity_pct=5.0, actor="benchmark", allow_few_hits=True)  # fmt: skip
        accounts.add_user(store, "bench-feed", roles=["feed"], actor="benchmark")
        token = accounts.create_token(store, "bench-feed", name="benchmark", actor="benchmark")
    finally:
        store.close()
    return models, token.token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _consignment(template: dict[str, Any], n: int) -> dict[str, Any]:
    from stdnum import iso6346

    record = copy.deepcopy(template)
    prefix = f"BNCU{n % 1_000_000:06d}"
    box = prefix + iso6346.calc_check_digit(prefix)
    # A new consignment is lodged now, as a port's are: the risk sources then use what a
    # live run keeps for the day (the anomaly baselines, the party graph of its start).
    lodged = datetime.now(UTC)
    record["lodged_at"] = lodged.isoformat()
    record["eta"] = (lodged + timedelta(days=12)).isoformat()
    record["consignment_id"] = f"BENCH-{n:08d}"
    record["transport_document"] = f"BNCU{n:010d}"
    record["goods_items"][0]["container_number"] = box
    record["containers"][0]["number"] = box
    record["containers"][0]["seals"][0]["number"] = f"SL{n:08d}"
    return record


def _load(
    base: str, rps: float, seconds: float, request: Any, check: Any
) -> tuple[list[float], int, float, dict[str, int]]:
    """Latencies (ms) of the answers that passed ``check``, the errors, the elapsed time, and
    the answers by status (``timeout`` for none)."""
    count = int(rps * seconds)
    latencies: list[float] = []
    errors = 0
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    # One client for every thread, its connections opened before the clock starts (creating a
    # client costs tens of milliseconds: it must not be timed).
    limits = httpx2.Limits(max_connections=CLIENT_THREADS, max_keepalive_connections=CLIENT_THREADS)
    client = httpx2.Client(base_url=base, timeout=TIMEOUT_S, limits=limits)
    client.get("/health")
    start = time.perf_counter() + 0.5

    def one(i: int) -> None:
        nonlocal errors
        due = start + i / rps
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        try:
            answer = request(client, i)
            ok, status = check(answer), str(answer.status_code)
        except httpx2.HTTPError as exc:
            ok, status = False, type(exc).__name__
        took = (time.perf_counter() - due) * 1000
        with lock:
            statuses[status] = statuses.get(status, 0) + 1
            if ok:
                latencies.append(took)
            else:
                errors += 1

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        list(pool.map(one, range(count)))
    client.close()
    return latencies, errors, time.perf_counter() - start, statuses


def _percentiles(latencies: list[float]) -> tuple[float | None, float | None]:
    if not latencies:
        return None, None
    p50, p99 = np.percentile(np.array(latencies), [50, 99])
    return round(float(p50), 2), round(float(p99), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rps", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--per-day", type=int, default=1000)
    parser.add_argument("--database", help="store URL (default: a SQLite file in the workdir)")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="quaywatch-api-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url = args.database or f"sqlite:///{workdir / 'bench.db'}"
    print(f"preparing {args.days} × {args.per_day} consignments in {workdir}", flush=True)
    models, token = _prepare(workdir, url, args.days, args.per_day)

    port = _free_port()
    env = {**os.environ, "QUAYWATCH_DATABASE_URL": url, "QUAYWATCH_MODEL_DIR": str(models)}
    quaywatch = str(Path(sys.executable).parent / "quaywatch")
    with subprocess.Popen(
        [quaywatch, "serve", "--port", str(port), "--log-level", "warning"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ) as server:  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx2.get(f"{base}/ready", timeout=2).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("quaywatch serve did not become ready")
                time.sleep(0.2)

            health, health_errors, _, _ = _load(
                base, args.rps, max(args.seconds / 3, 1.0),
                lambda c, i: c.get("/health"), lambda r: r.status_code == 200,
            )  # fmt: skip
            template = json.loads((ROOT / "examples" / "consignment.json").read_text())
            headers = {"Authorization": f"Bearer {token}"}
            print(f"posting at {args.rps:g}/s for {args.seconds:g} s", flush=True)
            latencies, errors, elapsed, statuses = _load(
                base, args.rps, args.seconds,
                lambda c, i: c.post("/api/v1/consignments", json=_consignment(template, i),
                                    headers=headers),
                lambda r: r.status_code == 201 and r.json().get("assessment") is not None,
            )  # fmt: skip
        finally:
            server.terminate()
    p50, p99 = _percentiles(latencies)
    h50, h99 = _percentiles(health)
    print(json.dumps({
        "p50_ms": p50, "p99_ms": p99, "errors": errors, "rps": round(len(latencies) / elapsed, 1),
        "sent": len(latencies) + errors, "statuses": statuses, "target_rps": args.rps,
        "seconds": args.seconds,
        "health_p50_ms": h50, "health_p99_ms": h99, "health_errors": health_errors,
        "history": args.days * args.per_day, "store": url.split(":", 1)[0],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
