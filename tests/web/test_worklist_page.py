"""The worklist page: filters by shift and vessel call, sorting, pages, the capacity meter and
the hits of each row (the demo store's selection run, through the web application)."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from web_support import Site

from quaywatch.domain.access import Role
from quaywatch.services import selection
from quaywatch.services.worklist import WorklistFilter, capacity_meter, worklist
from quaywatch.web.pages import WORKLIST_ROWS

HX = {"HX-Request": "true", "HX-Target": "worklist-rows"}


def shown_ids(text: str) -> list[str]:
    """The consignment ids of the rows, in the order the page shows them."""
    return re.findall(r'class="row-link" href="/consignments/([^"]+)"', text)


def test_sorting_and_paging_show_the_rows_the_service_gives(site: Site) -> None:
    site.login(site.user(Role.TARGETING_OFFICER))
    run = selection.list_selection_runs(site.store)[0].run_id
    by_score = worklist(site.store, run, sort="score")
    page = site.client.get(f"/worklist?run={run}&sort=score")
    assert shown_ids(page.text) == [quote(e.consignment_id) for e in by_score[:WORKLIST_ROWS]]
    assert '<option value="score" selected>' in page.text
    later = site.client.get(f"/worklist?run={run}&sort=score&offset=5")
    assert shown_ids(later.text)[:3] == [quote(e.consignment_id) for e in by_score[5:8]]
    assert f"6 to {min(len(by_score), 5 + WORKLIST_ROWS)} shown" in later.text
    back = re.search(r'<a href="([^"]+)" rel="prev">', later.text)
    assert back and html.unescape(back.group(1)) == f"/worklist?run={run}&sort=score"
    refused = site.client.get(f"/worklist?run={run}&sort=name")
    assert refused.status_code == 422 and "sort must be one of" in refused.text


def test_a_shift_and_a_vessel_call_narrow_the_rows_and_the_meter(site: Site) -> None:
    site.login(site.user(Role.TARGETING_OFFICER))
    run = selection.list_selection_runs(site.store)[0].run_id
    every = worklist(site.store, run)
    first = every[0]
    shift = first.shift_start.isoformat()
    only = site.client.get(f"/worklist?run={run}&shift={quote(shift)}", headers=HX)
    wanted = [e for e in every if e.shift_start == first.shift_start]
    assert shown_ids(only.text) == [quote(e.consignment_id) for e in wanted]
    meter = capacity_meter(site.store, run, WorklistFilter(shift_start=first.shift_start))
    assert meter is not None and meter.selected == len(wanted)
    assert f"{meter.random} of {meter.selected} controls" in only.text
    for resource in meter.resources:
        assert f'aria-label="{resource.resource}"' in only.text
        assert f"{resource.planned:.1f} of {resource.capacity:.1f} planned" in only.text
    call = f"{first.vessel_imo}/{first.voyage}" if first.voyage else first.vessel_imo
    on_call = site.client.get(f"/worklist?run={run}&vessel={quote(call)}", headers=HX)
    aboard = [e for e in every if (e.vessel_imo, e.voyage) == (first.vessel_imo, first.voyage)]
    assert shown_ids(on_call.text) == [quote(e.consignment_id) for e in aboard]
    naive = site.client.get(f"/worklist?run={run}&shift=2026-11-02T06:00:00")
    assert naive.status_code == 422 and "time zone" in naive.text


def test_rows_show_their_hits_and_the_table_moves_by_keyboard(site: Site) -> None:
    site.login(site.user(Role.TARGETING_OFFICER))
    run = selection.list_selection_runs(site.store)[0].run_id
    hit = next(e for e in worklist(site.store, run) if e.hits)
    call = f"{hit.vessel_imo}/{hit.voyage}" if hit.voyage else hit.vessel_imo
    page = site.client.get(f"/worklist?run={run}&vessel={quote(call)}")
    row = page.text[page.text.index(f"/consignments/{quote(hit.consignment_id)}") :]
    row = row[: row.index("</tr>")]
    labels = {"profile": "profile", "screening": "watchlist", "anomaly": "anomaly",
              "graph": "party graph"}  # fmt: skip
    for source, n in hit.hits.items():
        assert f'<span class="hit">{labels[source]}{f" ×{n}" if n > 1 else ""}</span>' in row
    assert "data-keyed" in page.text and '<script src="/static/keys.js" defer>' in page.text
    assert site.client.get("/static/keys.js").status_code == 200


def test_bad_numbers_in_page_addresses_are_refused_as_pages(site: Site) -> None:
    site.login(site.user(Role.TARGETING_OFFICER, Role.MANAGER))
    for path in ("/worklist?offset=abc", "/worklist?offset=99999999999999999999",
                 "/worklist?offset=%C2%B2", "/audit?before=%C2%B2",
                 "/audit?before=99999999999999999999"):  # fmt: skip
        page = site.client.get(path)
        assert page.status_code == 422, path
        assert page.headers["content-type"].startswith("text/html"), path
    assert site.client.get("/profiles/STARTER-COCAINE?reassessed=%C2%B2").status_code == 200
