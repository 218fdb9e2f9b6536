"""The entity review over a demo store: a party seized from, with its neighbourhood drawn and
tabled (each party a link to its own review), its hits marked in words, its track record as
the service counts it; the dossier links each party to its review; only the roles that read
assessments let in; unknown and hostile keys answer 404 escaped, a bad reach 422."""

from __future__ import annotations

import re
from html import escape

import pytest
from sqlalchemy import select
from web_support import Site

from quaywatch.domain.access import Role
from quaywatch.services.entities import PartyReview, party_review
from quaywatch.store import tables


def _seized_from(site: Site) -> PartyReview:
    """The review of a consignee of a seizure that shares something with other parties."""
    c, o = tables.consignments, tables.control_outcomes
    query = (
        select(c.c.consignee_key)
        .join(o, (o.c.consignment_id == c.c.consignment_id) & (o.c.version == c.c.version))
        .where(o.c.result == "SEIZURE")
    )
    with site.store.reading() as conn:
        keys = sorted(set(conn.execute(query).scalars()))
    found = [r for r in (party_review(site.store, key) for key in keys) if r.neighbours]
    assert found, "the demo has no seized consignee linked to another party"
    return found[0]


def test_the_review_shows_the_neighbourhood_hits_and_track_record(site: Site) -> None:
    review = _seized_from(site)
    site.login(site.user(Role.TARGETING_OFFICER))
    page = site.client.get(f"/parties/{review.party_key}")
    assert page.status_code == 200
    html = page.text
    assert f"<h1>{escape(review.name)}</h1>" in html
    assert review.hits.level == "high" and "!! high" in html
    # Drawn: one node per party, each a link to its review (out of the tab order, the table
    # holds the same links), with a title; each link labelled with what is shared.
    start = html.index('<svg class="graph"')
    drawing = html[start : html.index("</svg>", start)]
    assert 'aria-hidden="true"' in drawing[:200]
    again = site.client.get(f"/parties/{review.party_key}").text
    assert again[again.index('<svg class="graph"') :].startswith(drawing)  # the same layout
    assert drawing.count('tabindex="-1"') == len(review.neighbours) + 1
    assert drawing.count("<title>") == drawing.count("<a ") + drawing.count('<g class="edge">')
    for n in review.neighbours:
        assert f'href="/parties/{n.party_key}"' in drawing
        assert f'<th scope="row"><a href="/parties/{n.party_key}">{escape(n.name)}</a>' in html
    labels = {"address": "address", "phone": "phone", "email": "e-mail", "eori": "EORI",
              "container": "container"}  # fmt: skip
    written = " ".join(re.findall(r'text-anchor="middle">([^<]+)</text>', drawing))
    for link in review.links:
        assert labels[link.kind] in written
    rows = html[html.index("The parties of the neighbourhood") :].split("</table>")[0]
    assert rows.count("<tr>") == len(review.neighbours) + 1  # the header row and one per party
    track = review.track
    assert f"<dd>{track.consignments}</dd>" in html and f"<dd>{track.controls}</dd>" in html
    assert f"<dd>{track.hits}</dd>" in html
    assert html.count('<rect class="chart-consignments"') == len(track.months)
    for c in track.latest:
        assert f'href="/consignments/{c.consignment_id}"' in html


def test_one_link_out_shows_only_the_nearest(site: Site) -> None:
    review = _seized_from(site)
    site.login(site.user(Role.ANALYST))
    near = party_review(site.store, review.party_key, hops=1)
    html = site.client.get(f"/parties/{review.party_key}?hops=1").text
    shown = set(re.findall(r'<th scope="row"><a href="/parties/(\w+)">', html))
    assert shown == {n.party_key for n in near.neighbours}
    assert '<option value="1" selected>' in html


def test_the_dossier_links_each_party_to_its_review(site: Site) -> None:
    c = tables.consignments
    with site.store.reading() as conn:
        row = conn.execute(select(c.c.consignment_id, c.c.consignee_key).limit(1)).one()
    site.login(site.user(Role.TARGETING_OFFICER))
    dossier = site.client.get(f"/consignments/{row.consignment_id}").text
    assert f'<a href="/parties/{row.consignee_key}">' in dossier
    assert site.client.get(f"/parties/{row.consignee_key}").status_code == 200


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.MANAGER, Role.ADMIN])
def test_roles_that_do_not_read_assessments_are_kept_out(site: Site, role: Role) -> None:
    review = _seized_from(site)
    site.login(site.user(role))
    refused = site.client.get(f"/parties/{review.party_key}")
    assert refused.status_code == 403 and "assessment:read" in refused.text
    assert review.name not in refused.text


def test_unknown_hostile_and_bad_requests(site: Site) -> None:
    anonymous = site.client.get("/parties/abc", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    site.login(site.user(Role.PARTNER_LIAISON))
    unknown = site.client.get("/parties/" + "0" * 32)
    assert unknown.status_code == 404 and "There is no party 000" in unknown.text
    hostile = site.client.get("/parties/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert hostile.status_code == 404 and "<script>alert" not in hostile.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile.text
    too_far = site.client.get("/parties/" + "0" * 32 + "?hops=3")
    assert too_far.status_code == 422 and "hops must be 1 or 2" in too_far.text
