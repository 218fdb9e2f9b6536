"""The audit screen over a demo store: managers and administrators browse the trail newest
first, filtered by actor, action, object and period, a page at a time by cursor, the details
escaped; the button verifies the chain and says what was checked, and names the event a SQL
edit broke; an administrator lands on it; other roles are kept out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import text
from web_support import Site, csrf_of

from quaywatch.audit import chain
from quaywatch.domain.access import Role
from quaywatch.services.audit import audit_log, verify_audit


def _seqs(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<th scope="row" class="number">(\d+)</th>', html)]


def _verify(site: Site, **fields: str) -> object:
    page = site.client.get("/audit")
    return site.client.post("/audit/verify", data={"csrf_token": csrf_of(page.text), **fields})


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_the_trail_is_shown_newest_first_to_those_who_read_it(site: Site, role: Role) -> None:
    site.login(site.user(role))
    page = site.client.get("/audit")
    assert page.status_code == 200
    assert '<a href="/audit" aria-current="page">' in page.text
    assert _seqs(page.text) == [e.seq for e in audit_log(site.store, limit=50)]


@pytest.mark.parametrize("role", [Role.TARGETING_OFFICER, Role.ANALYST, Role.INSPECTOR])
def test_other_roles_are_kept_out(site: Site, role: Role) -> None:
    site.login(site.user(role))
    refused = site.client.get("/audit")
    assert refused.status_code == 403 and "audit:read" in refused.text
    assert '<a href="/audit"' not in refused.text
    assert _verify_refused(site)


def _verify_refused(site: Site) -> bool:
    token = csrf_of(site.client.get("/worklist").text)
    return site.client.post("/audit/verify", data={"csrf_token": token}).status_code == 403


def test_an_administrator_lands_on_the_audit_screen(site: Site) -> None:
    site.login(site.user(Role.ADMIN))
    home = site.client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/audit"


def test_filters_choose_the_events_and_pages_follow_the_cursor(site: Site) -> None:
    site.login(site.user(Role.MANAGER))
    imports = [e.seq for e in audit_log(site.store, action="import", limit=1000)]
    assert len(imports) > 50  # the demo's imports fill more than a page
    first = site.client.get("/audit?action=import")
    assert _seqs(first.text) == imports[:50]
    older = re.search(r'<a href="(/audit\?[^"]+)">Older events</a>', first.text)
    assert older and f"before={imports[49]}" in older.group(1)
    second = site.client.get(older.group(1).replace("&amp;", "&"))
    assert _seqs(second.text) == imports[50:100]
    assert "Newest events" in second.text

    made = [e for e in audit_log(site.store, limit=1000) if e.object_type == "user"]
    by_object = site.client.get(f"/audit?object_type=user&object_id={made[0].object_id}")
    assert _seqs(by_object.text) == [e.seq for e in made if e.object_id == made[0].object_id]
    by_actor = site.client.get("/audit?actor=nobody-at-all")
    assert _seqs(by_actor.text) == [] and "No event matches these filters." in by_actor.text
    day = audit_log(site.store, limit=1)[0].at.date()
    start = datetime.combine(day, time(), UTC)
    that_day = site.client.get(f"/audit?from={day.isoformat()}&to={day.isoformat()}")
    expected = audit_log(site.store, since=start, until=start + timedelta(days=1), limit=50)
    assert _seqs(that_day.text) == [e.seq for e in expected] != []
    assert _seqs(site.client.get("/audit?to=2000-01-01").text) == []
    bad = site.client.get("/audit?from=yesterday")
    assert bad.status_code == 422 and "from must be a date as YYYY-MM-DD" in bad.text
    backwards = site.client.get("/audit?from=2026-10-02&to=2026-10-01")
    assert backwards.status_code == 422 and "ends before it starts" in backwards.text


def test_event_details_are_shown_as_data(site: Site) -> None:
    with site.store.transaction() as conn:
        chain.append(conn, actor="<i>eve</i>", action="note", object_type="thing",
                     object_id="<b>1</b>", details={"text": "<script>alert(1)</script>"})  # fmt: skip
    site.login(site.user(Role.ADMIN))
    html = site.client.get("/audit?action=note").text
    assert "<script>alert(1)" not in html and "<i>eve</i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;1&lt;/b&gt;" in html


def test_verify_reports_an_intact_chain_and_names_the_break(site: Site) -> None:
    site.login(site.user(Role.MANAGER))
    intact = _verify(site)
    assert intact.status_code == 200
    head = verify_audit(site.store)
    assert "The audit trail is intact." in intact.text
    assert f"Checked {head.events} events" in intact.text
    assert f"{head.head_seq}:{head.head_hash}" in intact.text
    anchored = _verify(site, anchor=f"{head.head_seq}:{head.head_hash}")
    assert "The anchor kept earlier is still in the chain, unchanged." in anchored.text
    malformed = _verify(site, anchor="12")
    assert malformed.status_code == 422 and "anchor must be SEQ:HASH" in malformed.text

    with site.store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
    broken = _verify(site, action="import")
    assert broken.status_code == 200
    assert "The audit trail does not verify." in broken.text
    assert "audit event 2 was edited: its hash does not match" in broken.text
    assert _seqs(broken.text)[0] == audit_log(site.store, action="import", limit=1)[0].seq
    without_token = site.client.post("/audit/verify", data={})
    assert without_token.status_code == 403


def test_a_full_verify_re_hashes_the_stored_rows_and_names_a_changed_one(site: Site) -> None:
    site.login(site.user(Role.ADMIN))
    plain = _verify(site)
    assert "The stored data is intact" not in plain.text  # the chain only, unless asked
    intact = _verify(site, full="on")
    assert intact.status_code == 200
    checked = verify_audit(site.store, full=True).rows
    assert checked is not None
    assert (
        f"The stored data is intact: {checked.rows} rows re-hashed against {checked.groups} "
        "audited writes" in intact.text
    )
    assert 'name="full" checked' in intact.text

    with site.store.engine.begin() as conn:
        cid = conn.execute(text("SELECT consignment_id FROM goods_items LIMIT 1")).scalar_one()
        conn.execute(
            text("UPDATE goods_items SET value = value * 10 WHERE consignment_id = :c"), {"c": cid}
        )
    tampered = _verify(site, full="on")
    assert tampered.status_code == 200
    assert "The stored data differs from what the audit trail bound." in tampered.text
    assert f"goods_items [&#34;{cid}&#34;,1,1]: changed since it was stored" in tampered.text
    assert "The audit trail is intact." not in tampered.text
