"""The decision panel on the dossier (the demo store's selection run, through the web
application): an officer overrides a lane with a reason code and sees it on the dossier and
the worklist, instructs the examiners (the inspector reads it on the order page) and works a
referral; a refused form says why beside the field; others read the panel and may not post."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from web_support import Site, csrf_of

from quaywatch.domain.access import Role
from quaywatch.services import control, decisions, selection
from quaywatch.services.worklist import WorklistEntry, worklist


def _run_and_row(site: Site, lane: str) -> tuple[str, WorklistEntry]:
    """The demo's selection run and a consignment it put in ``lane`` by model or rule."""
    run = selection.list_selection_runs(site.store)[0].run_id
    row = next(e for e in worklist(site.store, run) if e.lane == lane and e.selected_by != "RANDOM")
    return run, row


def _rows(site: Site, run: str, row: WorklistEntry, lane: str) -> str:
    """The worklist page narrowed to the row's terminal and shift, and ``lane``."""
    query = f"run={run}&terminal={quote(row.terminal)}&lane={lane}"
    return site.client.get(f"/worklist?{query}&shift={quote(row.shift_start.isoformat())}").text


def test_an_officer_overrides_a_lane_and_sees_it_on_the_dossier_and_worklist(
    site: Site,
) -> None:
    run, row = _run_and_row(site, "yellow")
    site.login(site.user(Role.TARGETING_OFFICER))
    path = f"/consignments/{quote(row.consignment_id)}"
    page = site.client.get(path)
    assert page.status_code == 200 and "Decision panel" in page.text
    assert '<label for="lane-reason">' in page.text and '<label for="lane-note">' in page.text
    done = site.client.post(
        f"{path}/lane", follow_redirects=False,
        data={"csrf_token": csrf_of(page.text), "run": run, "lane": "red",
              "reason_code": "NEW_INTELLIGENCE", "note": "Alert <from> the loading port"},
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == f"{path}#lane"
    shown = site.client.get(path).text
    assert "new intelligence" in shown and "(overridden)" in shown
    assert "Alert &lt;from&gt; the loading port" in shown, "the note is shown escaped"
    rows = _rows(site, run, row, "red")
    cell = re.search(rf"/consignments/{re.escape(quote(row.consignment_id))}\".*?</tr>", rows, re.S)
    assert cell and "(overridden)" in cell.group(0) and "lane-red" in cell.group(0)
    assert row.consignment_id not in _rows(site, run, row, "yellow")

    dutch = site.client.post("/language", data={"language": "nl", "next": path,
                                                "csrf_token": csrf_of(shown)})  # fmt: skip
    assert dutch.status_code == 200 and "nieuwe informatie" in dutch.text


def test_a_missing_reason_is_shown_beside_the_field(site: Site) -> None:
    run, row = _run_and_row(site, "yellow")
    site.login(site.user(Role.TARGETING_OFFICER))
    path = f"/consignments/{quote(row.consignment_id)}"
    token = csrf_of(site.client.get(path).text)
    refused = site.client.post(f"{path}/lane", data={"csrf_token": token, "run": run,
                                                     "lane": "red", "reason_code": "",
                                                     "note": "kept as typed"})  # fmt: skip
    assert refused.status_code == 422
    error = re.search(r'<p class="error" role="alert" id="lane-reason_code-error">([^<]*)</p>',
                      refused.text)  # fmt: skip
    assert error and "needs a reason code" in error.group(1)
    assert 'aria-describedby="lane-reason_code-error"' in refused.text
    assert ">kept as typed</textarea>" in refused.text
    unknown = site.client.post(f"{path}/lane", data={"csrf_token": token, "run": run,
                                                     "lane": "red", "reason_code": "BORED"})  # fmt: skip
    assert unknown.status_code == 422 and "unknown reason code" in unknown.text
    same = site.client.post(f"{path}/lane", data={"csrf_token": token, "run": run,
                                                  "lane": "yellow", "reason_code": "OPERATIONAL"})  # fmt: skip
    assert same.status_code == 422 and 'id="lane-lane-error"' in same.text
    long = site.client.post(f"{path}/instructions", data={"csrf_token": token, "text": "x" * 2001})
    assert long.status_code == 422 and 'id="instruction-text-error"' in long.text
    assert "at most 2000 characters" in long.text
    assert not decisions.decision_panel(site.store, row.consignment_id).decisions[0].overridden


def test_others_read_the_panel_but_may_not_post_and_csrf_is_required(site: Site) -> None:
    run, row = _run_and_row(site, "yellow")
    path = f"/consignments/{quote(row.consignment_id)}"
    decisions.open_referral(site.store, row.consignment_id, kind="RFI", request="Invoice please",
                            actor="ana")  # fmt: skip
    site.login(site.user(Role.ANALYST))
    page = site.client.get(path)
    assert page.status_code == 200 and "Invoice please" in page.text
    assert "request for information (RFI)" in page.text
    assert "Override the lane" not in page.text and "Close the referral" not in page.text
    fields = {"csrf_token": csrf_of(page.text), "run": run, "lane": "red",
              "reason_code": "NEW_INTELLIGENCE"}  # fmt: skip
    forbidden = site.client.post(f"{path}/lane", data=fields)
    assert forbidden.status_code == 403 and "selection:decide" in forbidden.text
    site.client.cookies.clear()
    site.login(site.user(Role.TARGETING_OFFICER))
    no_token = site.client.post(f"{path}/lane", data={k: v for k, v in fields.items()
                                                       if k != "csrf_token"})  # fmt: skip
    assert no_token.status_code == 403 and "The form expired" in no_token.text
    assert not decisions.decision_panel(site.store, row.consignment_id).decisions[0].overridden


def test_the_inspector_reads_the_instructions_on_the_order_page(site: Site) -> None:
    run, row = _run_and_row(site, "red")
    site.login(site.user(Role.TARGETING_OFFICER))
    path = f"/consignments/{quote(row.consignment_id)}"
    token = csrf_of(site.client.get(path).text)
    added = site.client.post(f"{path}/instructions", follow_redirects=False,
                             data={"csrf_token": token, "text": "Open the reefer unit."})  # fmt: skip
    assert added.status_code == 303 and added.headers["location"] == f"{path}#instructions"
    assert "Open the reefer unit." in site.client.get(path).text
    control.create_orders(site.store, run, actor="ana")
    order = next(o for o in control.list_orders(site.store, run_id=run)
                 if o.consignment_id == row.consignment_id)  # fmt: skip
    site.client.cookies.clear()
    site.login(site.user(Role.INSPECTOR, terminals=(order.terminal,)))
    seen = site.client.get(f"/orders/{order.order_id}")
    assert seen.status_code == 200 and "Instructions for the examiners" in seen.text
    assert "Open the reefer unit." in seen.text


def test_a_referral_is_opened_then_closed(site: Site) -> None:
    run, row = _run_and_row(site, "red")
    site.login(site.user(Role.TARGETING_OFFICER))
    path = f"/consignments/{quote(row.consignment_id)}"
    token = csrf_of(site.client.get(path).text)
    opened = site.client.post(f"{path}/referrals", follow_redirects=False,
                              data={"csrf_token": token, "kind": "RFS",
                                    "request": "Screen the container at the terminal"})  # fmt: skip
    assert opened.status_code == 303 and opened.headers["location"] == f"{path}#referrals"
    page = site.client.get(path).text
    assert "request for screening (RFS)" in page and ">open</strong>" in page
    assert "referral open" in _rows(site, run, row, row.lane)
    action = re.search(r'action="([^"]+/close)"', page)
    assert action
    empty = site.client.post(html.unescape(action.group(1)),
                             data={"csrf_token": token, "result": " "})  # fmt: skip
    assert empty.status_code == 422 and "must not be empty" in empty.text
    closed = site.client.post(html.unescape(action.group(1)), follow_redirects=False,
                              data={"csrf_token": token, "result": "Screened, nothing found"})  # fmt: skip
    assert closed.status_code == 303
    after = site.client.get(path).text
    assert "Screened, nothing found" in after and "Close the referral" not in after
    assert "referral open" not in _rows(site, run, row, row.lane)
    again = site.client.post(html.unescape(action.group(1)),
                             data={"csrf_token": token, "result": "again"})  # fmt: skip
    assert again.status_code == 409 and "stays closed" in again.text
