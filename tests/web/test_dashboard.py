"""The KPI dashboard over a demo store: the figures of a period as the KPI service computes
them, a seizure recorded now showing up, bad periods refused with the reason, and only the
roles that read KPIs let in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from web_support import Site

from quaywatch.domain.access import Role
from quaywatch.services import control, selection
from quaywatch.services.kpis import compute_kpis


def test_the_dashboard_shows_the_kpis_of_the_period_asked(site: Site) -> None:
    site.login(site.user(Role.MANAGER), next_page="/kpis")
    page = site.client.get("/kpis?from=2026-10-01&to=2026-10-31")
    assert page.status_code == 200
    figures = compute_kpis(site.store, period_from=datetime(2026, 10, 1, tzinfo=UTC),
                           period_to=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    assert figures["controls"] > 0
    assert f"<dd>{figures['controls']}</dd>" in page.text
    assert f"<dd>{figures['hits']}</dd>" in page.text
    arms = {row["selected_by"] for row in figures["by_selected_by"]}
    assert "RANDOM" in arms and "random sample" in page.text  # the random arm, side by side
    assert page.text.count('<svg class="bar"') >= len(figures["by_selected_by"])


def _seizures(html: str) -> int:
    found = re.search(r"<dt>Seizures</dt><dd>(\d+)</dd>", html)
    assert found, "no seizure count on the page"
    return int(found.group(1))


def test_a_seizure_recorded_now_shows_on_the_dashboard(site: Site) -> None:
    run = selection.list_selection_runs(site.store)[0].run_id
    control.create_orders(site.store, run, actor="olga")
    order = next(o for o in control.list_orders(site.store, run_id=run)
                 if o.control_type == "PHYSICAL")  # fmt: skip
    site.login(site.user(Role.MANAGER), next_page="/kpis")
    before = _seizures(site.client.get("/kpis").text)
    control.start_order(site.store, order.order_id, actor="ivan")
    control.record_outcome(
        site.store, order.order_id, result="SEIZURE", irregularity="DRUGS",
        seizure_goods="cocaine", seizure_quantity=42.5, seizure_unit="KGM", actor="ivan",
    )  # fmt: skip
    after = site.client.get("/kpis")
    assert _seizures(after.text) == before + 1
    assert '<th scope="row">cocaine</th>' in after.text and "42.5 KGM" in after.text


def test_a_bad_period_is_refused_with_its_reason_and_other_roles_are_kept_out(
    site: Site,
) -> None:
    site.login(site.user(Role.MANAGER), next_page="/kpis")
    backwards = site.client.get("/kpis?from=2026-10-31&to=2026-10-01")
    assert backwards.status_code == 422 and "ends before it starts" in backwards.text
    garbled = site.client.get("/kpis?from=yesterday")
    assert garbled.status_code == 422 and "YYYY-MM-DD" in garbled.text
    far = site.client.get("/kpis?from=2026-10-01&to=9999-12-31")
    assert far.status_code == 422 and "9999-12-31" in far.text
    site.client.cookies.clear()
    site.login(site.user(Role.INSPECTOR))
    assert site.client.get("/kpis").status_code == 403


def test_capacity_use_and_seizures_by_week_are_those_of_the_service(site: Site) -> None:
    run = selection.list_selection_runs(site.store)[0].run_id
    control.create_orders(site.store, run, actor="olga")
    order = next(o for o in control.list_orders(site.store, run_id=run)
                 if o.control_type == "PHYSICAL")  # fmt: skip
    control.start_order(site.store, order.order_id, actor="ivan")
    control.record_outcome(site.store, order.order_id, result="SEIZURE", irregularity="DRUGS",
                           seizure_goods="cocaine", seizure_quantity=3, seizure_unit="KGM",
                           actor="ivan")  # fmt: skip
    shift = order.shift_start.date().isoformat()
    site.login(site.user(Role.MANAGER), next_page="/kpis")
    page = site.client.get(f"/kpis?from={shift}&to={shift}")
    start = datetime.fromisoformat(shift).replace(tzinfo=UTC)
    figures = compute_kpis(site.store, period_from=start, period_to=start + timedelta(days=1))
    resources = figures["capacity"]["resources"]
    assert resources, "the demo's selection run planned this day"
    for r in resources:
        assert f'<span class="code">{r["resource"]}</span>' in page.text
        assert f"{r['capacity']:,.1f}" in page.text and f"{r['planned']:,.1f}" in page.text
    weeks = figures["seizures"]["by_week"]
    assert weeks and sum(w["seizures"] for w in weeks) == figures["seizures"]["count"] >= 1
    assert '<svg class="weeks"' in page.text
    for w in weeks:
        assert f"Week of {w['week']}: {w['seizures']} seizures" in page.text
