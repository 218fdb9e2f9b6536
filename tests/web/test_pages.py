"""The web application's pages over a demo store: logging in and out, CSRF, what each role may
open, the worklist and its filters, languages, and the security headers of every answer."""

from __future__ import annotations

from datetime import UTC, datetime

import markupsafe
import polars as pl
import pytest
from web_support import PASSWORD, Site, csrf_of

from quaywatch.domain.access import Role
from quaywatch.errors import InputError
from quaywatch.risk.anomaly import detect_store
from quaywatch.services import accounts, selection
from quaywatch.services.assessments import current_model
from quaywatch.services.dossier import consignment_dossier
from quaywatch.services.worklist import worklist
from quaywatch.web.pages import SECURITY_HEADERS


def _secured(answer: object) -> None:
    headers = answer.headers  # type: ignore[attr-defined]
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]


def test_a_visitor_is_sent_to_the_login_form_and_back(site: Site) -> None:
    first = site.client.get("/worklist?lane=red", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=/worklist%3Flane%3Dred"
    form = site.client.get(first.headers["location"])
    assert form.status_code == 200 and 'name="password"' in form.text
    _secured(form)
    name = site.user(Role.TARGETING_OFFICER)
    answer = site.login(name, next_page="/worklist?lane=red")
    assert answer.status_code == 303 and answer.headers["location"] == "/worklist?lane=red"
    cookie = answer.headers["set-cookie"]
    assert "quaywatch_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = site.client.get("/worklist")
    assert page.status_code == 200 and "<h1>Worklist</h1>" in page.text
    _secured(page)


def test_login_refuses_a_wrong_password_a_form_without_its_token_and_a_foreign_next(
    site: Site,
) -> None:
    name = site.user(Role.TARGETING_OFFICER)
    form = site.client.get("/login")
    token = csrf_of(form.text)
    wrong = site.client.post(
        "/login", data={"username": name, "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 401 and "Invalid username or password." in wrong.text
    forged = site.client.post("/login", data={"username": name, "password": PASSWORD})
    assert forged.status_code == 403 and "The form expired" in forged.text
    assert site.client.get("/worklist", follow_redirects=False).status_code == 303
    elsewhere = site.login(name, next_page="//evil.example/x")
    assert elsewhere.headers["location"] == "/"


def test_the_worklist_shows_the_run_and_filters_by_lane(site: Site) -> None:
    site.login(site.user(Role.TARGETING_OFFICER))
    run = selection.list_selection_runs(site.store)[0]
    entries = worklist(site.store, run.run_id)
    page = site.client.get("/worklist")
    assert f"{len(entries)} consignments" in page.text
    for entry in entries[:20]:
        assert entry.consignment_id in page.text
    lane = entries[0].lane
    wanted = [e for e in entries if e.lane == lane]
    hx = {"HX-Request": "true", "HX-Target": "worklist-rows"}
    only = site.client.get(f"/worklist?run={run.run_id}&lane={lane}", headers=hx)
    assert only.status_code == 200
    assert only.text.lstrip().startswith('<section id="worklist-rows"')  # the fragment alone
    assert f"{len(wanted)} consignments" in only.text
    others = {e.consignment_id for e in entries if e.lane != lane}
    assert not any(cid in only.text for cid in others)
    missing = site.client.get("/worklist?run=no-such-run")
    assert missing.status_code == 404 and "no-such-run" in missing.text
    # Back in the browser: htmx restores the address from the server, which gets the page.
    back = site.client.get(f"/worklist?run={run.run_id}&lane={lane}",
                           headers={**hx, "HX-History-Restore-Request": "true"})  # fmt: skip
    assert "<h1>Worklist</h1>" in back.text and back.headers["Vary"] == "HX-Request, HX-Target"


def test_a_role_without_the_permission_is_refused_the_worklist(site: Site) -> None:
    site.login(site.user(Role.INSPECTOR))
    page = site.client.get("/worklist")
    assert page.status_code == 403 and "selection:read" in page.text
    assert 'href="/worklist"' not in page.text  # not offered in the navigation either


def test_logging_out_ends_the_session(site: Site) -> None:
    site.login(site.user(Role.ANALYST))
    page = site.client.get("/worklist")
    cookie = site.client.cookies.get("quaywatch_session")
    assert site.client.post("/logout", data={}).status_code == 403  # no CSRF token: refused
    out = site.client.post(
        "/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert out.status_code == 303 and out.headers["location"] == "/login"
    site.client.cookies.set("quaywatch_session", cookie or "")
    assert site.client.get("/worklist", follow_redirects=False).status_code == 303


def test_pages_speak_the_browsers_language_and_the_one_chosen(site: Site) -> None:
    site.login(site.user(Role.TARGETING_OFFICER))
    dutch = site.client.get("/worklist", headers={"Accept-Language": "nl-BE,nl;q=0.9,en;q=0.5"})
    assert '<html lang="nl">' in dutch.text and "<h1>Werklijst</h1>" in dutch.text
    chosen = site.client.post(
        "/language",
        data={"language": "fr", "next": "/worklist", "csrf_token": csrf_of(dutch.text)},
        follow_redirects=False,
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/worklist"
    french = site.client.get("/worklist", headers={"Accept-Language": "nl"})
    assert '<html lang="fr">' in french.text and "<h1>Liste de travail</h1>" in french.text
    refused = site.client.post("/language", data={"language": "fr", "next": "/worklist"})
    assert refused.status_code == 403
    unknown = site.client.post(
        "/language", data={"language": "xx", "csrf_token": csrf_of(french.text)}
    )
    assert unknown.status_code == 403


def test_the_language_can_be_chosen_before_logging_in(site: Site) -> None:
    form = site.client.get("/login")
    chosen = site.client.post(
        "/language",
        data={"language": "nl", "next": "/login", "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert "<h1>Aanmelden</h1>" in site.client.get("/login").text


def test_the_dossier_shows_route_parties_goods_events_assessments(site: Site) -> None:
    site.login(site.user(Role.TARGETING_OFFICER))
    run = selection.list_selection_runs(site.store)[0]
    entry = worklist(site.store, run.run_id)[0]
    listed = site.client.get("/worklist")
    assert f'href="/consignments/{entry.consignment_id}"' in listed.text
    model = current_model(site.settings.model_dir)
    assert model is not None
    found = consignment_dossier(site.store, entry.consignment_id, reference=model.reference)
    page = site.client.get(f"/consignments/{entry.consignment_id}")
    assert page.status_code == 200
    _secured(page)
    text = page.text
    assert f"Consignment {entry.consignment_id}" in text
    for port in found.route:
        assert f'<span class="port">{port}</span>' in text
    for party in found.parties:
        assert str(markupsafe.escape(party.name)) in text
    for item in found.items:
        assert item.usual_value_per_kg_eur is not None
        assert f"{item.usual_value_per_kg_eur:,.2f}" in text
    assert found.events and text.count("<td>" + found.events[0].event_code + "</td>") >= 1
    assert found.assessments and found.assessments[-1].model_version in text


def test_a_seal_change_is_marked_on_the_timeline(site: Site) -> None:
    site.login(site.user(Role.ANALYST))
    changed = detect_store(site.store, None, now=datetime.now(UTC)).filter(
        pl.col("code") == "anomaly:seal_changed"
    )
    assert not changed.is_empty()  # the demo's traffic has rip-on/rip-off cases
    cid = changed["consignment_id"][0]
    found = consignment_dossier(site.store, cid)
    assert any(e.seals_changed for e in found.events)
    page = site.client.get(f"/consignments/{cid}")
    assert page.status_code == 200 and "seal changed" in page.text


def test_the_dossier_is_refused_without_the_permission_and_unknown_ids_are_named(
    site: Site,
) -> None:
    site.login(site.user(Role.MANAGER))
    refused = site.client.get("/consignments/ANY-1")
    assert refused.status_code == 403 and "assessment:read" in refused.text
    site.client.cookies.clear()
    site.login(site.user(Role.TARGETING_OFFICER))
    unknown = site.client.get("/consignments/NO-SUCH-1")
    assert unknown.status_code == 404 and "There is no consignment NO-SUCH-1." in unknown.text
    hostile = site.client.get("/consignments/%3Cscript%3Ealert(1)")
    assert hostile.status_code == 404
    assert "<script>alert" not in hostile.text and "&lt;script&gt;alert(1)" in hostile.text


def test_after_login_each_role_lands_on_its_first_screen(site: Site) -> None:
    for roles, screen in (
        ((Role.TARGETING_OFFICER,), "/worklist"),
        ((Role.INSPECTOR,), "/orders"),
        ((Role.MANAGER,), "/kpis"),
    ):
        site.client.cookies.clear()
        site.login(site.user(*roles))
        landing = site.client.get("/", follow_redirects=False)
        assert landing.status_code == 303 and landing.headers["location"] == screen, roles
    site.client.cookies.clear()
    site.login(site.user(Role.FEED))
    nothing = site.client.get("/")
    assert nothing.status_code == 403 and "no screen" in nothing.text


def test_the_language_chosen_is_kept_with_the_account(site: Site) -> None:
    name = site.user(Role.TARGETING_OFFICER)
    site.login(name)
    page = site.client.get("/worklist")
    site.client.post("/language", data={"language": "fr", "next": "/worklist",
                                        "csrf_token": csrf_of(page.text)})  # fmt: skip
    assert accounts.get_user(site.store, name).language == "fr"
    # Another browser: no cookie, a Dutch browser; the account's French wins once logged in.
    site.client.cookies.clear()
    assert '<html lang="nl">' in site.client.get("/login", headers={"Accept-Language": "nl"}).text
    site.login(name)
    later = site.client.get("/worklist", headers={"Accept-Language": "nl"})
    assert "<h1>Liste de travail</h1>" in later.text
    with pytest.raises(InputError, match="two-letter"):
        accounts.set_language(site.store, name, "français", actor="admin")


def test_errors_on_pages_are_pages_and_on_the_api_problems(site: Site) -> None:
    site.login(site.user(Role.TARGETING_OFFICER))
    page = site.client.get("/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    _secured(page)
    api = site.client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.headers["content-type"].startswith(
        "application/problem+json"
    )
    garbled = site.client.post("/login", data={"username": "x", "password": "y",
                                               "csrf_token": "é"})  # fmt: skip
    assert garbled.status_code in (401, 403)  # refused, not a crash
    run = selection.list_selection_runs(site.store)[0].run_id
    older = site.client.get(f"/worklist?run={run}")
    assert older.status_code == 200
