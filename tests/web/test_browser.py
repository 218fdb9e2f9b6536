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

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from web_support import PASSWORD

from quaywatch.domain.access import Role
from quaywatch.services import accounts, control, selection
from quaywatch.services.worklist import worklist
from quaywatch.store.store import Store

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "web"
SIZES = {"desktop": (1280, 800), "tablet": (768, 1024)}


AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"


def _accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page (its script is evaluated
    through the browser's debugging protocol, not loaded by the page, whose CSP forbids it)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], bad


def _shoot(page: Page, name: str) -> None:
    _accessible(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=False)
    page.set_viewport_size({"width": 1280, "height": 800})


REFUSED = "Failed to load resource: the server responded with a status of 403 (Forbidden)"


@contextmanager
def _browser(*, refusals: bool = False) -> Iterator[Page]:
    """A page of headless Chromium; afterwards, the browser must have reported no error (a
    script or style the Content-Security-Policy refused would be one), except, with
    ``refusals``, the 403 of a page the test expects to be refused."""
    assert CHROMIUM.exists(), "Debian's chromium is not installed: run `make install`"
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            yield page
        finally:
            browser.close()
    assert [p for p in problems if not (refusals and p == REFUSED)] == []


def _log_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("form.login button")
    page.wait_for_load_state()


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
    with _browser() as page:
        page.goto(f"{base}/worklist")
        assert page.url.startswith(f"{base}/login?next=")
        _shoot(page, "login")
        page.keyboard.type("olga")  # the username field has the focus
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/worklist")
        rows = page.locator("table.worklist tbody tr")
        assert rows.count() == len(entries)
        assert page.locator("h1").inner_text() == "Worklist"
        _shoot(page, "worklist")

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
        _shoot(page, "dossier")
        page.go_back()
        page.wait_for_url(f"{base}/worklist")

        page.select_option("#lane", lane)  # htmx: only the table is swapped
        page.wait_for_url(f"**/worklist?*lane={lane}*")
        page.wait_for_function(
            "n => document.querySelectorAll('table.worklist tbody tr').length === n", arg=wanted
        )
        assert page.locator(".count").inner_text().startswith(f"{wanted} consignments")
        _shoot(page, "worklist-filtered")

        page.select_option("#language", "nl")
        page.click("form.language button")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Werklijst"
        assert page.locator("html").get_attribute("lang") == "nl"
        _shoot(page, "worklist-nl")

        page.click("form.inline button[type=submit] >> text=Afmelden")
        page.wait_for_url(f"{base}/login")

        # A manager's key figures, and an inspector's order, in English again.
        accounts.add_user(store, "maria", roles=[Role.MANAGER], password=PASSWORD,
                          actor="admin")  # fmt: skip
        page.select_option("#language", "en")
        page.click("form.language button")
        page.wait_for_load_state()
        _log_in(page, base, "maria")
        assert page.url == f"{base}/kpis"  # the first screen her role opens
        assert page.locator("dl.figures dd").count() == 5
        _shoot(page, "kpis")
        page.click("form.inline button[type=submit] >> text=Log out")
        page.wait_for_url(f"{base}/login")

        # An analyst types a profile: its error appears at its line as she types.
        accounts.add_user(store, "ana", roles=[Role.ANALYST], password=PASSWORD,
                          actor="admin")  # fmt: skip
        _log_in(page, base, "ana")
        assert page.url == f"{base}/worklist"
        page.goto(f"{base}/profiles/editor")
        assert page.locator("#check .ok").count() == 1
        page.click("#text")
        page.keyboard.press("Control+End")
        page.keyboard.type("\nbogus: [")
        page.wait_for_selector("#check .error")
        assert page.locator("#check .error").inner_text().startswith("Line ")
        _shoot(page, "profile-editor")


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
    with _browser() as page:
        _log_in(page, base, "maria")
        before = int(page.locator("dl.figures div:nth-child(4) dd").inner_text())
        page.click("form.inline button[type=submit] >> text=Log out")

        _log_in(page, base, "olga")
        page.click("text=Create the inspection orders of this run")
        page.wait_for_load_state()
        page.click("form.inline button[type=submit] >> text=Log out")

        _log_in(page, base, "ivan")
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
        _shoot(page, "order")
        page.click("text=Record the outcome")
        page.wait_for_load_state()
        assert page.locator("ol.states li.current").inner_text() == "done"
        page.click("form.inline button[type=submit] >> text=Log out")

        _log_in(page, base, "maria")
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
    with _browser(refusals=True) as page:
        _log_in(page, base, "ivan")
        assert page.url == f"{base}/orders"
        cells = page.locator("table.data tbody tr td:nth-child(3)").all_inner_texts()
        assert cells and set(cells) <= {mine}
        _shoot(page, "orders")
        answer = page.goto(f"{base}/orders/{theirs.order_id}")
        assert answer is not None and answer.status == 403
        assert theirs.consignment_id not in page.content()
        _shoot(page, "order-refused")
        page.click("form.inline button[type=submit] >> text=Log out")

        _log_in(page, base, "ana")
        page.goto(f"{base}/profiles")
        _shoot(page, "profiles")
        page.goto(f"{base}/profiles/STARTER-COCAINE")
        assert page.locator("h1").inner_text() == "Profile STARTER-COCAINE"
        _shoot(page, "profile")


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
    with _browser() as page:
        _log_in(page, base, "ana")
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
        _shoot(page, "profile-in-force")
        page.click("form.inline button[type=submit] >> text=Log out")

        _log_in(page, base, "olga")
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
        _shoot(page, "worklist-reordered")
