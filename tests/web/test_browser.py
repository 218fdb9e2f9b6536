"""The web application in a real browser: headless Chromium (Debian's package) driven by
Playwright, against `quaywatch serve`'s application under uvicorn on a loopback port.

A targeting officer logs in with the keyboard, reads the worklist, opens a consignment's
dossier by keyboard alone, filters the worklist (htmx swaps the table and the address
follows), switches to Dutch and logs out. The browser reports no error (a script or style
refused by the Content-Security-Policy would be one), and axe-core (vendored in
tests/web/vendor) finds no serious or critical accessibility violation on any screen.
Screenshots of each screen at 1280×800 and 768×1024 are saved under test-artifacts/web/.
"""

from __future__ import annotations

from web_support import PASSWORD, log_in, open_browser, shoot

from quaywatch.domain.access import Role
from quaywatch.services import accounts, control, selection
from quaywatch.services.worklist import worklist
from quaywatch.store.store import Store


def test_an_officer_logs_in_filters_the_worklist_and_switches_language(
    served: tuple[str, Store],
) -> None:
    base, store = served
    accounts.add_user(store, "olga", roles=[Role.TARGETING_OFFICER], password=PASSWORD,
                      actor="admin")  # fmt: skip
    run = selection.list_selection_runs(store)[0]
    entries = worklist(store, run.run_id)
    lane = entries[0].lane
    wanted = sum(1 for e in entries if e.lane == lane)
    with open_browser() as page:
        page.goto(f"{base}/worklist")
        assert page.url.startswith(f"{base}/login?next=")
        shoot(page, "login")
        page.keyboard.type("olga")  # the username field has the focus
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/worklist")
        rows = page.locator("table.worklist tbody tr")
        assert rows.count() == len(entries)
        assert page.locator("h1").inner_text() == "Worklist"
        shoot(page, "worklist")

        # By keyboard alone: Tab to the first consignment's link, Enter opens its dossier.
        first = entries[0].consignment_id
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent") == first:
                break
        assert page.evaluate("document.activeElement.textContent") == first
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/consignments/{first}")
        assert page.locator("h1").inner_text() == f"Consignment {first}"
        assert page.locator("ol.route li").count() >= 2
        shoot(page, "dossier")
        page.go_back()
        page.wait_for_url(f"{base}/worklist")

        page.select_option("#lane", lane)  # htmx: only the table is swapped
        page.wait_for_url(f"**/worklist?*lane={lane}*")
        page.wait_for_function(
            "n => document.querySelectorAll('table.worklist tbody tr').length === n", arg=wanted
        )
        assert page.locator(".count").inner_text().startswith(f"{wanted} consignments")
        shoot(page, "worklist-filtered")

        page.select_option("#language", "nl")
        page.click("form.language button")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Werklijst"
        assert page.locator("html").get_attribute("lang") == "nl"
        shoot(page, "worklist-nl")

        page.click("form.inline button[type=submit] >> text=Afmelden")
        page.wait_for_url(f"{base}/login")

        # A manager's key figures, and an inspector's order, in English again.
        accounts.add_user(store, "maria", roles=[Role.MANAGER], password=PASSWORD,
                          actor="admin")  # fmt: skip
        page.select_option("#language", "en")
        page.click("form.language button")
        page.wait_for_load_state()
        log_in(page, base, "maria")
        assert page.url == f"{base}/kpis"  # the first screen her role opens
        assert page.locator("dl.figures dd").count() == 5
        shoot(page, "kpis")
        page.click("form.inline button[type=submit] >> text=Log out")
        page.wait_for_url(f"{base}/login")

        # An analyst types a profile: its error appears at its line as she types.
        accounts.add_user(store, "ana", roles=[Role.ANALYST], password=PASSWORD,
                          actor="admin")  # fmt: skip
        log_in(page, base, "ana")
        assert page.url == f"{base}/worklist"
        page.goto(f"{base}/profiles/editor")
        assert page.locator("#check .ok").count() == 1
        page.click("#text")
        page.keyboard.press("Control+End")
        page.keyboard.type("\nbogus: [")
        page.wait_for_selector("#check .error")
        assert page.locator("#check .error").inner_text().startswith("Line ")
        shoot(page, "profile-editor")


def test_an_inspectors_seizure_shows_on_the_managers_dashboard(
    served: tuple[str, Store],
) -> None:
    """The officer turns the run into orders, the inspector at the order's terminal works a
    physical examination to a seizure, the manager sees one seizure more."""
    base, store = served
    run = selection.list_selection_runs(store)[0]
    physical = next(e for e in worklist(store, run.run_id)
                    if e.control_type == "PHYSICAL")  # fmt: skip
    for name, roles, terminals in (
        ("olga", [Role.TARGETING_OFFICER], ()),
        ("ivan", [Role.INSPECTOR], (physical.terminal,)),
        ("maria", [Role.MANAGER], ()),
    ):
        accounts.add_user(store, name, roles=roles, terminals=terminals, password=PASSWORD,
                          actor="admin")  # fmt: skip
    with open_browser() as page:
        log_in(page, base, "maria")
        before = int(page.locator("dl.figures div:nth-child(4) dd").inner_text())
        page.click("form.inline button[type=submit] >> text=Log out")

        log_in(page, base, "olga")
        page.click("text=Create the inspection orders of this run")
        page.wait_for_load_state()
        page.click("form.inline button[type=submit] >> text=Log out")

        log_in(page, base, "ivan")
        assert page.url == f"{base}/orders"
        row = page.locator("table.data tbody tr", has_text=physical.consignment_id)
        row.locator("a").first.click()
        page.click("text=Start the control")
        page.wait_for_load_state()
        page.select_option("#result", "SEIZURE")
        page.select_option("#irregularity", "DRUGS")
        page.fill("#seizure_goods", "cocaine")
        page.fill("#seizure_hs6", "293979")
        page.fill("#seizure_quantity", "42.5")
        page.select_option("#seizure_unit", "KGM")
        page.select_option("#concealment", "RIP_ON_RIP_OFF")
        shoot(page, "order")
        page.click("text=Record the outcome")
        page.wait_for_load_state()
        assert page.locator("ol.states li.current").inner_text() == "done"
        page.click("form.inline button[type=submit] >> text=Log out")

        log_in(page, base, "maria")
        after = int(page.locator("dl.figures div:nth-child(4) dd").inner_text())
        assert after == before + 1
        assert page.locator("text=cocaine").count() >= 1


def test_an_inspector_cannot_open_another_terminals_order(served: tuple[str, Store]) -> None:
    """Orders are made; an inspector of one terminal sees only that terminal's, and the
    address of another terminal's order answers that it is not theirs. The profiles list and
    a profile's page are shot on the way (an analyst's screens)."""
    base, store = served
    run = selection.list_selection_runs(store)[0]
    made = control.create_orders(store, run.run_id, actor="olga")
    terminals = sorted({o.terminal for o in made.orders})
    assert len(terminals) >= 2, "the demo run should plan controls at two terminals at least"
    mine, other = terminals[0], terminals[1]
    theirs = next(o for o in made.orders if o.terminal == other)
    accounts.add_user(store, "ivan", roles=[Role.INSPECTOR], terminals=(mine,),
                      password=PASSWORD, actor="admin")  # fmt: skip
    accounts.add_user(store, "ana", roles=[Role.ANALYST], password=PASSWORD, actor="admin")
    with open_browser(refusals=True) as page:
        log_in(page, base, "ivan")
        assert page.url == f"{base}/orders"
        cells = page.locator("table.data tbody tr td:nth-child(3)").all_inner_texts()
        assert cells and set(cells) <= {mine}
        shoot(page, "orders")
        answer = page.goto(f"{base}/orders/{theirs.order_id}")
        assert answer is not None and answer.status == 403
        assert theirs.consignment_id not in page.content()
        shoot(page, "order-refused")
        page.click("form.inline button[type=submit] >> text=Log out")

        log_in(page, base, "ana")
        page.goto(f"{base}/profiles")
        shoot(page, "profiles")
        page.goto(f"{base}/profiles/STARTER-COCAINE")
        assert page.locator("h1").inner_text() == "Profile STARTER-COCAINE"
        shoot(page, "profile")


def test_an_analysts_profile_put_in_force_reorders_the_worklist(
    served: tuple[str, Store],
) -> None:
    """An analyst writes a profile with an error, sees it at its line, fixes it, tests it on
    the last 30 days, stores it, puts it in force and assesses the traffic again; an officer
    selects again and the worklist, by score, puts the profile's hits first."""
    base, store = served
    accounts.add_user(store, "ana", roles=[Role.ANALYST], password=PASSWORD, actor="admin")
    accounts.add_user(store, "olga", roles=[Role.TARGETING_OFFICER], password=PASSWORD,
                      actor="admin")  # fmt: skip
    run = selection.list_selection_runs(store)[0]
    before = [e.consignment_id for e in worklist(store, run.run_id, sort="score")]
    with open_browser() as page:
        log_in(page, base, "ana")
        page.goto(f"{base}/profiles/editor")
        text = page.locator("#text")
        written = (text.input_value().replace("MY-PROFILE", "BROWSER-CM")
                   .replace("weight: 1.0", "weight: 6.0"))  # fmt: skip
        condition = next(line for line in written.splitlines() if "contains" in line)
        broken = written.replace(condition, '  origin_countries containz "CM"')
        text.fill(broken)
        text.press("End")  # a key typed: the live check runs
        page.wait_for_selector("#check .error")
        line = 1 + broken.splitlines().index('  origin_countries containz "CM"')
        assert page.locator("#check .error").inner_text().startswith(f"Line {line}")
        text.fill(broken.replace("containz", "contains"))
        text.press("End")
        page.wait_for_selector("#check .ok")
        page.click("button[value=trial]")
        page.wait_for_selector("#trial-h")
        assert page.locator("table.data tbody th", has_text="BROWSER-CM v1").count() == 1
        page.click("button[value=save]")
        page.wait_for_url(f"{base}/profiles/BROWSER-CM")
        page.click("text=Put version 1 in force")
        page.wait_for_load_state()
        page.click("text=Assess the last 30 days again with the profiles in force")
        page.wait_for_selector("p.ok[role=status]")
        shoot(page, "profile-in-force")
        page.click("form.inline button[type=submit] >> text=Log out")

        log_in(page, base, "olga")
        page.click("text=Select again on the newest assessments")
        page.wait_for_load_state()
        page.select_option("#sort", "score")
        page.wait_for_url("**/worklist?*sort=score*")
        newest = selection.list_selection_runs(store)[0]
        after = [e.consignment_id for e in worklist(store, newest.run_id, sort="score")]
        assert newest.run_id != run.run_id and after != before
        page.wait_for_function(
            "first => document.querySelector('table.worklist tbody a.row-link')"
            ".textContent === first", arg=after[0],
        )  # fmt: skip
        flagged = [e for e in worklist(store, newest.run_id, sort="score")
                   if any(r.code == "profile:BROWSER-CM" for r in e.reasons)]  # fmt: skip
        assert flagged and page.locator("tr", has_text=flagged[0].consignment_id).count() == 1
        shoot(page, "worklist-reordered")
