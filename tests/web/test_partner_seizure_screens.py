"""Partner seizures on the web screens, over a demo store that received a de-identified seizure
report from a partner (BEANR, its own store and keys) naming a demo consignee, through
``exchange export`` and ``exchange import`` as between two administrations, the group key in
the site's key directory (QUAYWATCH_KEY_DIR): the party page lists the seizure (partner, case,
date, place, goods, role, how matched, state) escaped and in nl/fr, to the roles that read
assessments only; the dossier says the party is on the partner's watchlist and, once scored,
gives the partner's reason; an administrator issues a partner_node token bound to a registered
partner from the account page, and the service's rule is said on the form."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select
from starlette.testclient import TestClient
from web_support import Demo, Site, csrf_of

from quaywatch.config import Settings
from quaywatch.domain.access import Role
from quaywatch.services import accounts, exchange as ex, risk
from quaywatch.store import tables
from quaywatch.store.store import Store
from quaywatch.web.app import create_app

#: Goods no page may show unescaped.
GOODS = 'cocaine <b>in</b> banana boxes & "more"'


@dataclass
class Partnered:
    """The site, the party a partner's seizure names, and a consignment naming it."""

    site: Site
    keys: Path
    party_key: str
    party_name: str
    consignment_id: str
    message_id: str


def _seizure(party: Any) -> dict[str, Any]:
    return {
        "containers": ["CSQU3054383"], "case_reference": "BEANR-2026-0042",
        "seizure_date": "2026-12-05T10:00:00Z", "place": "BEANR", "hs_code": "080390",
        "goods_description": GOODS, "quantity": 412.5, "unit": "KGM",
        "concealment": "RIP_ON_RIP_OFF", "detection_method": "NII_SCAN",
        "vessel_imo": "9074729", "voyage": "123W", "route": ["ECGYE", "BEANR"],
        "parties": [{"role": "NOTIFY_PARTY", "name": party.name.upper(),
                     "country": party.country}],
    }  # fmt: skip


@pytest.fixture
def partnered(demo_db: Demo, tmp_path: Path) -> Iterator[Partnered]:
    db = tmp_path / "site.db"
    shutil.copy(demo_db.db, db)
    keys = tmp_path / "NLRTM"
    settings = Settings(database_url=f"sqlite:///{db}", model_dir=demo_db.models, key_dir=keys)
    store = Store.open(settings.database_url)
    beanr = Store.open(f"sqlite:///{tmp_path / 'beanr.db'}")
    try:
        c, p = tables.consignments, tables.parties
        with store.reading() as conn:
            row = conn.execute(
                select(c.c.consignment_id, p.c.party_key, p.c.name, p.c.country)
                .join_from(c, p, p.c.party_key == c.c.consignee_key)
                .order_by(c.c.consignment_id)
            ).first()  # fmt: skip
        assert row is not None
        started = datetime.now(UTC) - timedelta(minutes=5)
        for code, node in (("BEANR", beanr), ("NLRTM", store)):
            ex.generate_keys(node, tmp_path / code, code, actor="liaison", now=started)
            ex.export_root(node, tmp_path / f"{code}.root")
        ex.add_partner(store, tmp_path / "BEANR.root", actor="liaison", now=started)
        ex.add_partner(beanr, tmp_path / "NLRTM.root", actor="liaison", now=started)
        ex.generate_group_key(tmp_path / "BEANR")
        ex.import_group_key(keys, tmp_path / "BEANR" / "group.key")
        body = tmp_path / "seizure.json"
        body.write_text(json.dumps(_seizure(row)))
        sent = ex.send(beanr, tmp_path / "BEANR", "NLRTM", "seizure-report", body,
                       actor="ana", now=started)  # fmt: skip
        ex.export(beanr, tmp_path / "BEANR", tmp_path / "out.jsonl", actor="ana", now=started)
        received = ex.import_file(store, tmp_path / "out.jsonl", actor="ben")
        assert [o.status for o in received.outcomes] == ["accepted"]
        assert row.name.upper() not in ex.inbox(store).received[0].payload  # de-identified
        with TestClient(create_app(settings, store=store), base_url="http://127.0.0.1") as client:
            yield Partnered(Site(client, store, settings), keys, row.party_key, row.name,
                            row.consignment_id, sent.message_id)  # fmt: skip
    finally:
        beanr.close()
        store.close()


def _seizure_rows(html: str) -> list[str]:
    start = html.index('id="partner-seizures-h"')
    table = html[start : html.index("</table>", start)] if "<table" in html[start:] else ""
    return re.findall(r"<tr[^>]*>\s*<th scope=\"row\">.*?</tr>", table, flags=re.S)


def test_the_party_page_lists_the_partner_seizure_matched_with_the_group_key(
    partnered: Partnered,
) -> None:
    site = partnered.site
    site.login(site.user(Role.TARGETING_OFFICER))
    html = site.client.get(f"/parties/{partnered.party_key}").text
    [row] = _seizure_rows(html)
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
    assert cells[:5] == ["BEANR", "BEANR-2026-0042", "2026-12-05", "BEANR",
                         f"412.5 KGM {escape(GOODS)} (HS 080390)"]  # fmt: skip
    assert cells[5] == "notify party"
    assert "name match" in cells[6] and "de-identified" in cells[6]
    assert "in force" in cells[7]
    assert "<b>in</b>" not in html
    # The partner's watchlist is among the party's matches too.
    assert "partner:BEANR" in html


def test_the_states_and_languages_of_the_partner_seizure(partnered: Partnered) -> None:
    site = partnered.site
    site.login(site.user(Role.ANALYST))
    ex.revoke(site.store, "BEANR", reason="trust withdrawn", actor="ben")
    site.client.cookies.set("quaywatch_lang", "nl")
    dutch = site.client.get(f"/parties/{partnered.party_key}").text
    assert "Inbeslagnames gemeld door partners" in dutch
    [row] = _seizure_rows(dutch)
    assert "ingetrokken" in row and "overeenkomst op naam" in row and "notify-partij" in row
    # the goods and how the party matched are said in the page's language too
    assert "(GS 080390)" in row and "versleutelde hash van de partner" in row
    site.client.cookies.set("quaywatch_lang", "fr")
    french = site.client.get(f"/parties/{partnered.party_key}").text
    [row] = _seizure_rows(french)
    assert "Saisies signalées par les partenaires" in french and "révoquée" in row
    assert "(SH 080390)" in row and "hachage à clé du partenaire" in row


def test_a_party_no_partner_reported_says_so(partnered: Partnered) -> None:
    site = partnered.site
    c = tables.consignments
    with site.store.reading() as conn:
        other = conn.execute(
            select(c.c.consignor_key).where(c.c.consignor_key != partnered.party_key).limit(1)
        ).scalar_one()
    site.login(site.user(Role.ANALYST))
    html = site.client.get(f"/parties/{other}").text
    assert "No partner reported a seizure naming the party." in html


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.MANAGER, Role.ADMIN])
def test_roles_that_do_not_read_assessments_see_no_partner_seizure(
    partnered: Partnered, role: Role
) -> None:
    site = partnered.site
    site.login(site.user(role))
    for path in (f"/parties/{partnered.party_key}", f"/consignments/{partnered.consignment_id}"):
        refused = site.client.get(path)
        assert refused.status_code == 403 and "BEANR-2026-0042" not in refused.text


def test_the_dossier_says_the_party_is_on_the_partner_watchlist_and_why_it_rose(
    partnered: Partnered,
) -> None:
    site = partnered.site
    site.login(site.user(Role.TARGETING_OFFICER))
    path = f"/consignments/{partnered.consignment_id}"
    parties = site.client.get(path).text.split('id="parties-h"')[1].split("</section>")[0]
    assert "on the partner watchlist partner:BEANR" in parties
    risk.score_period(site.store, model_path=site.settings.model_dir, explain_all=True,
                      actor="test", key_dir=partnered.keys)  # fmt: skip
    dossier = site.client.get(path).text
    assert (
        f"alert from partner BEANR: consignee {escape(partnered.party_name)} was notify party "
        "in seizure BEANR-2026-0042"
    ) in dossier  # fmt: skip
    assert "<b>in</b>" not in dossier
    # Once BEANR is revoked its watchlist is no longer in force.
    ex.revoke(site.store, "BEANR", reason="trust withdrawn", actor="ben")
    after = site.client.get(path).text.split('id="parties-h"')[1].split("</section>")[0]
    assert "partner:BEANR" not in after


def _admin_post(site: Site, path: str, **fields: Any) -> Any:
    token = csrf_of(site.client.get("/accounts").text)
    return site.client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def test_an_administrator_issues_a_partner_node_token_bound_to_a_registered_partner(
    partnered: Partnered,
) -> None:
    site = partnered.site
    site.login(site.user(Role.ADMIN))
    node = site.user(Role.PARTNER_NODE)
    page = site.client.get(f"/accounts/{node}").text
    select_box = page[page.index('<select id="token-partner"') :].split("</select>")[0]
    assert re.findall(r'<option value="([^"]*)"', select_box) == ["", "BEANR"]
    made = _admin_post(site, f"/accounts/{node}/tokens", name="BEANR inbox", days="30",
                       partner="BEANR")  # fmt: skip
    assert made.status_code == 201 and "It delivers for the partner BEANR" in made.text
    secret = re.search(r'id="token-secret">([^<]+)<', made.text)
    assert secret is not None
    principal = accounts.authenticate_token(site.store, secret.group(1))
    assert principal.roles == {Role.PARTNER_NODE}
    [info] = accounts.list_tokens(site.store, node)
    assert info.partner == "BEANR"
    assert '<td class="code">BEANR</td>' in site.client.get(f"/accounts/{node}").text


@pytest.mark.parametrize(
    ("roles", "partner", "language", "message"),
    [
        ((Role.PARTNER_NODE,), "", "en", "partner: a partner_node token names the partner"),
        ((Role.ANALYST,), "BEANR", "en",
         "partner: only a token carrying the partner_node role is bound to a partner"),
        ((Role.PARTNER_NODE,), "", "nl", "partner: een token met de rol partner_node noemt"),
        ((Role.ANALYST,), "BEANR", "fr", "partner : seul un jeton portant le rôle"),
    ],
)  # fmt: skip
def test_the_partner_rule_is_said_on_the_token_form(
    partnered: Partnered, roles: tuple[Role, ...], partner: str, language: str, message: str
) -> None:
    site = partnered.site
    site.login(site.user(Role.ADMIN))
    user = site.user(*roles)
    site.client.cookies.set("quaywatch_lang", language)
    page = site.client.get(f"/accounts/{user}").text
    assert ('id="token-partner"' in page) is (Role.PARTNER_NODE in roles)
    answer = _admin_post(site, f"/accounts/{user}/tokens", name="x", days="30", partner=partner)
    assert answer.status_code == 422
    assert f'id="token-error">{message}' in answer.text
    assert accounts.list_tokens(site.store, user) == ()
