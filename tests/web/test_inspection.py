"""The inspection screens over a demo store: an officer turns the selection run into orders,
an inspector works the orders of their terminal to a seizure, and cannot open another
terminal's order; refused steps are shown with their reason."""

from __future__ import annotations

import re

from web_support import Site, csrf_of

from quaywatch.domain.access import Role
from quaywatch.services import control, selection
from quaywatch.services.worklist import worklist


def _orders_made(site: Site) -> str:
    """Log in as an officer and create the run's orders from the worklist; the run's id."""
    site.login(site.user(Role.TARGETING_OFFICER))
    page = site.client.get("/worklist")
    run = selection.list_selection_runs(site.store)[0].run_id
    made = site.client.post(
        "/worklist/orders", data={"run": run, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303 and made.headers["location"] == f"/worklist?run={run}"
    site.client.cookies.clear()
    return run


def test_an_officer_creates_the_orders_of_a_run_once(site: Site) -> None:
    run = _orders_made(site)
    orders = control.list_orders(site.store, run_id=run)
    assert orders and len(orders) == len(worklist(site.store, run))
    site.login(site.user(Role.TARGETING_OFFICER))
    page = site.client.get(f"/worklist?run={run}")
    assert f'href="/orders/{orders[0].order_id}"' in page.text and "planned" in page.text
    again = site.client.post(
        "/worklist/orders", data={"run": run, "csrf_token": csrf_of(page.text)}
    )
    assert again.status_code == 200
    assert len(control.list_orders(site.store, run_id=run)) == len(orders)


def test_an_inspector_works_an_order_to_a_seizure(site: Site) -> None:
    run = _orders_made(site)
    orders = control.list_orders(site.store, run_id=run)
    papers = {o.terminal for o in orders if o.control_type == "DOCUMENTARY"}
    # A physical examination at a terminal that also has a documentary check.
    order = next(o for o in orders if o.control_type == "PHYSICAL" and o.terminal in papers)
    inspector = site.user(Role.INSPECTOR, terminals=(order.terminal,))
    site.login(inspector, next_page="/orders")
    listed = site.client.get("/orders")
    assert listed.status_code == 200 and order.order_id in listed.text
    shown = {o.terminal for o in control.list_orders(site.store, run_id=run)
             if o.order_id in listed.text}  # fmt: skip
    assert shown == {order.terminal}
    path = f"/orders/{order.order_id}"
    page = site.client.get(path)
    assert page.status_code == 200 and "Start the control" in page.text
    token = csrf_of(page.text)
    documentary = next(
        o
        for o in control.list_orders(site.store, run_id=run)
        if o.control_type == "DOCUMENTARY" and o.terminal == order.terminal
    )
    site.client.post(f"/orders/{documentary.order_id}/start", data={"csrf_token": token})
    paper = site.client.get(f"/orders/{documentary.order_id}")
    assert "Record the outcome" in paper.text and "Record the scan" not in paper.text
    wrong = site.client.post(
        f"/orders/{documentary.order_id}/scan",
        data={"csrf_token": token, "verdict": "clear", "image_ref": "x"},
    )
    assert wrong.status_code == 409 and "DOCUMENTARY" in wrong.text

    def step(name: str, **fields: str) -> object:
        return site.client.post(f"{path}/{name}", data={"csrf_token": token, **fields},
                                follow_redirects=False)  # fmt: skip

    assert step("start").status_code == 303
    assert step("scan", verdict="suspicious", image_ref="nii://scan/1").status_code == 303
    assert step("findings", note="bags behind the doors", seals_intact="no").status_code == 303
    refused = step("outcome", result="SEIZURE", seizure_goods="cocaine", seizure_quantity="many")
    assert refused.status_code == 422 and "seizure_quantity must be a number" in refused.text
    done = step(
        "outcome", result="SEIZURE", irregularity="DRUGS", seizure_goods="cocaine",
        seizure_hs6="293979", seizure_quantity="42.5", seizure_unit="KGM",
        concealment="RIP_ON_RIP_OFF",
    )  # fmt: skip
    assert done.status_code == 303, re.findall(r"class=\"error\"[^<]*<", done.text)
    final = site.client.get(path)
    assert "cocaine" in final.text and 'aria-current="step">done' in final.text
    assert "Start the control" not in final.text and "Record the outcome" not in final.text
    late = step("start")
    assert late.status_code == 409 and "done" in late.text
    stored = control.order_dossier(site.store, order.order_id)
    assert stored.order.state == "done" and stored.outcome is not None
    assert stored.outcome.result == "SEIZURE"
    assert [h.actor for h in stored.history if h.action != "create"][0] == inspector


def test_an_inspector_cannot_open_or_work_another_terminals_order(site: Site) -> None:
    run = _orders_made(site)
    orders = control.list_orders(site.store, run_id=run)
    terminals = sorted({o.terminal for o in orders})
    assert len(terminals) >= 2, "the demo's run spans several terminals"
    mine, other = terminals[0], next(o for o in orders if o.terminal != terminals[0])
    inspector = site.user(Role.INSPECTOR, terminals=(mine,))
    site.login(inspector, next_page="/orders")
    listed = site.client.get("/orders")
    assert other.order_id not in listed.text
    page = site.client.get(f"/orders/{other.order_id}")
    assert page.status_code == 403 and "terminal you do not work at" in page.text
    forced = site.client.post(
        f"/orders/{other.order_id}/start", data={"csrf_token": csrf_of(listed.text)}
    )
    assert forced.status_code == 403
    assert control.order_dossier(site.store, other.order_id).order.state == "planned"
    assert site.client.get("/worklist").status_code == 403  # inspectors do not select
