"""The policy lab in a real browser (headless Chromium, the helpers of web_support.py): an
analyst starts a small run from the form; its page follows the run with htmx and shows the
charts once it is done, with no browser error and no serious accessibility violation."""

from __future__ import annotations

from web_support import PASSWORD, log_in, open_browser, shoot

from quaywatch.domain.access import Role
from quaywatch.services import accounts
from quaywatch.store.store import Store


def test_an_analyst_runs_the_lab_and_reads_the_charts(served: tuple[str, Store]) -> None:
    base, store = served
    accounts.add_user(store, "ana", roles=[Role.ANALYST], password=PASSWORD, actor="admin")
    with open_browser() as page:
        log_in(page, base, "ana")
        page.click("nav >> text=Policy lab")
        page.wait_for_url(f"{base}/lab")
        shoot(page, "lab")
        for box in page.locator("fieldset.strategies input[type=checkbox]").all():
            box.set_checked(box.get_attribute("value") in ("rules", "hybrid-capacity-half"))
        for name, value in (("weeks", "2"), ("warmup_weeks", "2"), ("per_day", "100")):
            page.fill(f"#{name}", value)
        page.click("text=Start the run")
        page.wait_for_url(f"{base}/lab/*")
        assert page.locator("#lab-state").count() == 1
        # The page polls the run's state and reloads itself once the run is done.
        page.wait_for_selector("svg.lab-chart", timeout=120_000)
        assert page.locator("#lab-state").inner_text().startswith("State: done")
        lines = page.locator("svg.lab-chart").nth(2).locator("g.series")
        assert [lines.nth(i).get_attribute("data-series") for i in range(lines.count())] == [
            "rules",
            "hybrid-capacity-half",
        ]
        shoot(page, "lab-run")
