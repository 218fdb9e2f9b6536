"""The policy lab's screens: an analyst starts a run from the form, follows it while it waits
and runs, and compares the set-ups in charts once it is done."""

from __future__ import annotations

import re
import time

from sqlalchemy import update
from web_support import Site, csrf_of

from quaywatch.domain.access import Role
from quaywatch.services import lab, lab_runs
from quaywatch.store import tables

CHOSEN = ["rules", "hybrid", "hybrid-capacity-half"]
SMALL = {"weeks": "2", "warmup_weeks": "2", "per_day": "100", "seed": "7"}


def _form(page: str, **changes: object) -> dict[str, object]:
    return {"csrf_token": csrf_of(page), **SMALL, "strategy": CHOSEN, "displacement": "on",
            "title": "Half the capacity?", **changes}  # fmt: skip


def _series(svg: str) -> list[str]:
    return re.findall(r'<g class="series" data-series="([^"]+)"', svg)


def test_an_analyst_starts_a_run_from_the_form_and_compares_the_set_ups(site: Site) -> None:
    site.login(site.user(Role.ANALYST))
    page = site.client.get("/lab")
    assert page.status_code == 200
    assert '<a href="/lab" aria-current="page">Policy lab</a>' in page.text
    for name, description in lab.DESCRIPTIONS.items():  # every set-up, with what it is
        assert f'value="{name}"' in page.text and description in page.text
    assert "No run yet." in page.text and 'hx-trigger="every 3s"' not in page.text

    started = time.monotonic()
    sent = site.client.post("/lab", data=_form(page.text), follow_redirects=False)
    assert sent.status_code == 303
    run_id = sent.headers["location"].removeprefix("/lab/")
    listed = site.client.get("/lab").text
    assert "Half the capacity?" in listed
    assert re.search(r'class="lab-(queued|running)">(queued|running: \d of 3)', listed)
    # While it waits or runs the list polls itself, and without script the page reloads.
    assert 'hx-get="/lab/runs" hx-trigger="every 3s"' in listed
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in listed
    fragment = site.client.get("/lab/runs", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="lab-runs"') and "<html" not in fragment.text

    while True:  # the run's page polls its state; once done, htmx is told to reload it
        state = site.client.get(f"/lab/{run_id}/state", headers={"HX-Request": "true"})
        assert state.status_code == 200
        if state.headers.get("HX-Refresh") == "true":
            break
        assert 'hx-trigger="every 3s"' in state.text
        assert time.monotonic() - started < 120, state.text
        time.sleep(0.2)
    assert "done" in state.text
    print(f"a run of {len(CHOSEN)} set-ups from the form: {time.monotonic() - started:.1f} s")

    shown = site.client.get(f"/lab/{run_id}").text
    charts = re.findall(r'<svg class="lab-chart".*?</svg>', shown, flags=re.S)
    assert len(charts) >= 3  # bars of the shares and of the ratios, detected week by week
    assert _series(charts[2]) == CHOSEN  # one line per set-up chosen
    for bars in charts[:2]:
        for index, _ in enumerate(CHOSEN):
            assert f'class="lab-bar lab-c{index}"' in bars or "–" in bars
    assert all(f'<th scope="row" class="code">{name}</th>' in shown for name in CHOSEN)
    legend = re.search(r'<ul class="lab-legend".*?</ul>', shown, flags=re.S)
    assert legend and [n for n in CHOSEN if f'<span class="code">{n}</span>' in legend.group(0)]
    assert "hx-trigger" not in shown and "<noscript>" not in shown
    assert 'hx-trigger="every 3s"' not in site.client.get("/lab").text  # nothing left to poll


def test_the_lab_needs_lab_run_and_the_forms_token(site: Site) -> None:
    site.login(site.user(Role.TARGETING_OFFICER))
    refused = site.client.get("/lab")
    assert refused.status_code == 403 and "lab:run" in refused.text
    assert 'href="/lab"' not in site.client.get("/worklist").text
    assert site.client.post("/lab", data={**SMALL, "strategy": CHOSEN}).status_code == 403
    assert site.client.get("/lab/whatever").status_code == 403

    site.client.cookies.clear()  # another browser
    site.login(site.user(Role.MANAGER))
    page = site.client.get("/lab")
    assert page.status_code == 200
    no_token = site.client.post("/lab", data={**SMALL, "strategy": CHOSEN})
    assert no_token.status_code == 403 and "The form expired" in no_token.text
    wrong = site.client.post("/lab", data={**SMALL, "strategy": CHOSEN, "csrf_token": "x"})
    assert wrong.status_code == 403
    assert lab_runs.lab_runs(site.store) == []


def test_a_refused_form_comes_back_with_the_reason_at_its_field(site: Site) -> None:
    site.login(site.user(Role.ANALYST))
    page = site.client.get("/lab").text
    for changes, field, reason in (
        ({"weeks": "27"}, "weeks", "must be at most 26"),
        ({"per_day": "many"}, "per_day", "must be a whole number"),
        ({"strategy": []}, None, "choose at least one set-up"),
        ({"strategy": ["rules", "bogus"]}, None, "unknown set-up"),
    ):
        refused = site.client.post("/lab", data=_form(page, **changes))
        assert refused.status_code == 422
        assert reason in refused.text
        if field:
            assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', refused.text, flags=re.S)
        assert 'value="Half the capacity?"' in refused.text  # what was typed is kept
    assert lab_runs.lab_runs(site.store) == []


def test_a_run_interrupted_by_a_restart_shows_why_and_an_unknown_run_is_not_found(
    site: Site,
) -> None:
    name = site.user(Role.MANAGER)
    site.login(name)
    run = lab_runs.start_lab_run(site.store, weeks=1, warmup_weeks=2, per_day=100,
                                 strategies=["rules"], actor=name)  # fmt: skip
    # As a process killed while it ran this run would leave it, then the next start.
    with site.store.transaction() as conn:
        conn.execute(update(tables.lab_runs).where(tables.lab_runs.c.run_id == run.run_id)
                     .values(state="running", running=1))  # fmt: skip
    assert lab_runs.recover_lab_runs(site.store) == 1
    shown = site.client.get(f"/lab/{run.run_id}")
    assert shown.status_code == 200
    assert 'role="alert">The run failed: interrupted: its worker stopped' in shown.text
    assert "lab-chart" not in shown.text

    missing = site.client.get("/lab/<script>x</script>")
    assert missing.status_code == 404
    assert "<script>x" not in missing.text and "&lt;script&gt;x" in missing.text
