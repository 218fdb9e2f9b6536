"""A carrier's document on its own page and the document check on the consignment dossier,
over a demo store: parties, equipment and seals, cargo items, revisions, the consignments
declaring its B/L and their discrepancies; in Dutch and French too; every stored text escaped;
only the roles that read assessments let in; an unknown or hostile reference answers 404,
escaped."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from markupsafe import escape
from sqlalchemy import select
from web_support import HOSTILE, Site, file_carrier_document

from quaywatch.domain.access import ROLE_PERMISSIONS, Permission, Role
from quaywatch.store import tables


def test_a_document_page_shows_the_filing_its_revisions_and_the_declarations(
    site: Site,
) -> None:
    consignment_id, bl, box = file_carrier_document(site.store)
    site.login(site.user(Role.ANALYST))
    page = site.client.get(f"/documents/{bl}")
    assert page.status_code == 200, page.text
    html = page.text
    assert f"<h1>Transport document {escape(bl)}</h1>" in html
    assert "revision 2 · status ISSUED" in html
    assert str(escape(HOSTILE)) in html and HOSTILE not in html
    assert "Royal Textiles" not in html and "Delta Fruit Co" in html
    equipment = html[html.index('id="equipment-h"') :].split("</table>")[0]
    assert f'<th scope="row">{box}</th>' in equipment and "CARRIER-SEAL-1" in equipment
    cargo = html[html.index('id="cargo-h"') :].split("</table>")[0]
    assert "Fresh mangoes" in cargo and "0804" in cargo and f"<td>{box}</td>" in cargo
    revisions = html[html.index('id="revisions-h"') :].split("</table>")[0]
    assert revisions.count("<tr") == 3 and "DRAFT" in revisions and "ISSUED" in revisions
    declared = html[html.index('id="declared-h"') :]
    assert f'<a href="/consignments/{consignment_id}">{consignment_id}</a>' in declared
    assert "other seals than filed (rip-on/rip-off indicator)" in declared


def test_the_dossier_shows_the_document_check(site: Site) -> None:
    consignment_id, bl, box = file_carrier_document(site.store)
    site.login(site.user(Role.TARGETING_OFFICER))
    html = site.client.get(f"/consignments/{consignment_id}").text
    section = html[html.index('id="filing-check-h"') :].split("</section>")[0]
    assert f'<a href="/documents/{bl}">transport document {escape(bl)}</a>' in section
    assert "(revision 2, ISSUED)" in section
    seal = [r for r in section.split("<tr") if "rip-on/rip-off" in r]
    assert len(seal) == 1 and box in seal[0] and "CARRIER-SEAL-1" in seal[0]
    assert 'class="marked"' in seal[0]


def test_a_dossier_without_a_filing_says_so(site: Site) -> None:
    consignment_id, _, _ = file_carrier_document(site.store)
    site.login(site.user(Role.ANALYST))
    c = tables.consignments
    with site.store.reading() as conn:
        second = conn.execute(
            select(c.c.consignment_id).where(c.c.consignment_id != consignment_id).limit(1)
        ).scalar_one()
    html = site.client.get(f"/consignments/{second}").text
    assert "The carrier has filed no document for this B/L yet." in html


@pytest.mark.parametrize(("language", "title", "kind"), [
    ("nl", "Vervoersdocument", "andere verzegelingen dan ingediend"),
    ("fr", "Document de transport", "autres scellés que ceux déposés"),
])  # fmt: skip
def test_the_pages_speak_dutch_and_french(site: Site, language: str, title: str, kind: str) -> None:
    consignment_id, bl, _ = file_carrier_document(site.store)
    site.login(site.user(Role.ANALYST))
    site.client.cookies.set("quaywatch_lang", language)
    html = site.client.get(f"/documents/{bl}", headers={"Accept-Language": language}).text
    assert f"<h1>{title} {bl}</h1>" in html and kind in html
    dossier = site.client.get(f"/consignments/{consignment_id}",
                              headers={"Accept-Language": language}).text  # fmt: skip
    assert kind in dossier


def test_unknown_and_hostile_references_answer_404_escaped(site: Site) -> None:
    site.login(site.user(Role.ANALYST))
    for reference in ("NOPE", "<b>x</b>", "x" * 150):
        page = site.client.get(f"/documents/{quote(reference, safe='')}")
        assert page.status_code == 404
        assert "<b>x</b>" not in page.text


@pytest.mark.parametrize(
    "role", [r for r in Role if Permission.ASSESSMENT_READ not in ROLE_PERMISSIONS[r]]
)
def test_only_the_roles_that_read_assessments_see_a_document(site: Site, role: Role) -> None:
    _, bl, _ = file_carrier_document(site.store)
    site.login(site.user(role))
    page = site.client.get(f"/documents/{bl}")
    assert page.status_code == 403 and "assessment:read" in page.text
    assert str(escape(HOSTILE)) not in page.text
