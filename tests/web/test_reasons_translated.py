"""The reasons of assessments in the page's language: the worklist and the dossier over the
demo store (scored by the risk engine: model, profiles, anomalies, norms) show every reason
that carries its message in Dutch or French, none of them in English; a reason without one
(stored before, or a profile's reason, the analyst's own words) as it is stored."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote

import markupsafe
import pytest
from sqlalchemy import select, update
from web_support import Site

from quaywatch.domain.access import Role
from quaywatch.errors import Said
from quaywatch.services import selection
from quaywatch.services.worklist import worklist
from quaywatch.store import tables
from quaywatch.web import pages
from quaywatch.web.pages import WORKLIST_ROWS


def _shown(text: str) -> str:
    """``text`` as the page's templates escape it (an apostrophe is ``&#39;``, not
    ``html.escape``'s ``&#x27;``)."""
    return str(markupsafe.escape(text))


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_worklist_and_the_dossier_show_reasons_in_the_page_language(
    site: Site, language: str
) -> None:
    site.login(site.user(Role.TARGETING_OFFICER))
    site.client.cookies.set("quaywatch_lang", language)
    run = selection.list_selection_runs(site.store)[0].run_id
    entries = worklist(site.store, run, sort="score")[: min(20, WORKLIST_ROWS)]
    page = site.client.get(f"/worklist?run={run}&sort=score")
    assert page.status_code == 200
    said = plain = 0
    sources: set[str] = set()
    for entry in entries:
        dossier = site.client.get(f"/consignments/{quote(entry.consignment_id, safe='')}")
        assert dossier.status_code == 200
        for reason in entry.reasons:
            text = reason.text
            if isinstance(text, Said):
                said += 1
                sources.add(reason.source.value)
                translated = pages.said_in(language, text)
                assert translated != str(text), text
                assert _shown(translated) in dossier.text
                assert _shown(str(text)) not in dossier.text, text
                assert _shown(str(text)) not in page.text, text
            else:  # the analyst's words of a profile: as written
                plain += 1
                assert reason.source.value == "profile", reason
                assert _shown(text) in dossier.text
    assert said >= 20 and "model" in sources, (said, sources)


def test_the_party_page_shows_its_consignments_reasons_in_the_page_language(site: Site) -> None:
    site.login(site.user(Role.ANALYST))
    site.client.cookies.set("quaywatch_lang", "fr")
    run = selection.list_selection_runs(site.store)[0].run_id
    entry = worklist(site.store, run, sort="score")[0]
    dossier = site.client.get(f"/consignments/{quote(entry.consignment_id, safe='')}").text
    party = re.search(r'href="(/parties/[^"]+)"', dossier)
    assert party is not None
    page = site.client.get(html.unescape(party.group(1)))
    assert page.status_code == 200
    shown = 0
    for reason in entry.reasons:
        if isinstance(reason.text, Said) and _shown(pages.said_in("fr", reason.text)) in page.text:
            shown += 1
        assert not isinstance(reason.text, Said) or _shown(reason.text) not in page.text
    assert shown, "the party's consignment and its reasons are on its page"


def test_a_reason_stored_without_its_message_reads_as_stored(site: Site) -> None:
    """An assessment stored before reasons carried their message shows its English text on
    a Dutch page; the same reason with its message is Dutch."""
    site.login(site.user(Role.TARGETING_OFFICER))
    site.client.cookies.set("quaywatch_lang", "nl")
    a = tables.assessments
    with site.store.reading() as conn:
        row = conn.execute(
            select(a.c.consignment_id, a.c.version, a.c.assessed_at, a.c.reasons)
            .where(a.c.reasons.like('[{%"said"%'))
            .limit(1)
        ).one()
    reasons = json.loads(row.reasons)
    first = next(r for r in reasons[:5] if "said" in r)
    url = f"/consignments/{quote(row.consignment_id, safe='')}"
    assert _shown(first["text"]) not in site.client.get(url).text
    old = [{k: v for k, v in r.items() if k != "said"} for r in reasons]
    with site.store.transaction() as conn:
        conn.execute(
            update(a)
            .where((a.c.consignment_id == row.consignment_id) & (a.c.version == row.version)
                   & (a.c.assessed_at == row.assessed_at))
            .values(reasons=json.dumps(old))
        )  # fmt: skip
    assert _shown(first["text"]) in site.client.get(url).text
