"""Web benchmark: the server-side render of a large worklist.

    python benchmarks/web.py [--count 12000] [--capacity-pct 90] [--requests 40] [--workdir DIR]

Set-up (not timed): the demo use case (``services.demo.run_demo``) with COUNT consignments a
day and capacity for CAPACITY_PCT of the assessed day, so that its selection run chooses
about ten thousand consignments (the number is printed); a targeting officer logged in
through the login form.

Timed, in one process through the ASGI test client (no network): REQUESTS renders of
``GET /worklist`` (the whole page: the run's worklist read, filtered, the first
``web.pages.WORKLIST_ROWS`` rows rendered), REQUESTS renders of the htmx fragment filtered to
one lane, and, as the baseline in the same run, REQUESTS reads of what the page shows
(``services.worklist``: ``worklist_summary``, ``worklist`` of those rows and the
``capacity_meter``) without rendering;
for reference, REQUESTS reads of the whole worklist.

Last line: JSON with ``worklist_p95_ms``, ``worklist_p50_ms``, ``fragment_p95_ms``,
``data_p95_ms`` (the baseline), ``render_over_data`` (page p95 / baseline p95),
``full_worklist_read_p95_ms``, ``candidates``
(the run's worklist) and ``rows_shown``. Target (issue "web application"): worklist p95
<= 150 ms with 10,000 candidates.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np


def _p(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(values), q)), 2)


def main() -> None:
    from starlette.testclient import TestClient

    from quaywatch.config import Settings
    from quaywatch.domain.access import Role
    from quaywatch.services import accounts, selection, worklist as worklists
    from quaywatch.services.demo import run_demo
    from quaywatch.store.store import Store
    from quaywatch.web.app import create_app
    from quaywatch.web.pages import WORKLIST_ROWS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=12_000)
    parser.add_argument("--capacity-pct", type=float, default=90.0)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="quaywatch-web-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{workdir / 'web.db'}"
    print(f"preparing the demo with {args.count} consignments a day in {workdir}", flush=True)
    store = Store.open(url)
    made = run_demo(store, out=workdir / "demo", count=args.count,
                    capacity_pct=args.capacity_pct, actor="benchmark")  # fmt: skip
    run = selection.list_selection_runs(store)[0].run_id
    entries = worklists.worklist(store, run)
    lane = entries[0].lane
    password = "benchmark password, not for production"
    accounts.add_user(store, "olga", roles=[Role.TARGETING_OFFICER], password=password,
                      actor="benchmark")  # fmt: skip
    settings = Settings(database_url=url, model_dir=made.model_folder.parent)
    print(f"worklist of {len(entries)} candidates; timing {args.requests} requests", flush=True)
    with TestClient(create_app(settings, store=store), base_url="http://127.0.0.1") as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
        assert token, "no login form"
        client.post("/login", data={"username": "olga", "password": password,
                                    "csrf_token": token.group(1)})  # fmt: skip

        def timed(call: object) -> list[float]:
            took = []
            for _ in range(args.requests):
                started = time.perf_counter()
                call()  # type: ignore[operator]
                took.append((time.perf_counter() - started) * 1000)
            return took

        def page() -> None:
            answer = client.get(f"/worklist?run={run}")
            assert answer.status_code == 200

        def fragment() -> None:
            answer = client.get(
                f"/worklist?run={run}&lane={lane}",
                headers={"HX-Request": "1", "HX-Target": "worklist-rows"},
            )
            assert answer.status_code == 200

        page()  # templates compiled, caches warm
        pages = timed(page)
        fragments = timed(fragment)

        def shown() -> None:
            worklists.worklist_summary(store, run)
            worklists.worklist(store, run, limit=WORKLIST_ROWS)
            worklists.capacity_meter(store, run)

        data = timed(shown)
        full = timed(lambda: worklists.worklist(store, run))
    store.close()
    print(json.dumps({
        "worklist_p95_ms": _p(pages, 95), "worklist_p50_ms": _p(pages, 50),
        "fragment_p95_ms": _p(fragments, 95), "data_p95_ms": _p(data, 95),
        "render_over_data": round(_p(pages, 95) / _p(data, 95), 2),
        "full_worklist_read_p95_ms": _p(full, 95),
        "candidates": len(entries), "rows_shown": min(len(entries), WORKLIST_ROWS),
        "requests": args.requests,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
