"""Photos on the order page over a demo store: an inspector uploads a photo of an order in
progress at their terminal, sees it listed with its hash and thumbnail and opens it; another
terminal's inspector, a form without its CSRF token, a text file named .png, a file over the
limit and a planned order are refused with the reason on the page."""

from __future__ import annotations

import hashlib
import html

import pytest
from sqlalchemy import update
from web_support import Site, csrf_of

from quaywatch.control.orders import Order
from quaywatch.domain.access import Role
from quaywatch.services import control, selection
from quaywatch.store import tables
from sample_files import pdf, png


def _orders(site: Site) -> list[Order]:
    run = selection.list_selection_runs(site.store)[0].run_id
    control.create_orders(site.store, run, actor="ana")
    return control.list_orders(site.store, run_id=run)


def _in_progress(site: Site) -> tuple[Order, Order, str]:
    """An order started by an inspector of its terminal (logged in), a planned one at the
    same terminal, and the page's CSRF token."""
    orders = _orders(site)
    order = orders[0]
    planned = next(o for o in orders[1:] if o.terminal == order.terminal)
    site.login(site.user(Role.INSPECTOR, terminals=(order.terminal,)))
    token = csrf_of(site.client.get(f"/orders/{order.order_id}").text)
    started = site.client.post(f"/orders/{order.order_id}/start", data={"csrf_token": token},
                               follow_redirects=False)  # fmt: skip
    assert started.status_code == 303
    return order, planned, token


def test_an_inspector_uploads_a_photo_and_sees_it(site: Site) -> None:
    order, _, token = _in_progress(site)
    path = f"/orders/{order.order_id}"
    page = site.client.get(path).text
    assert 'enctype="multipart/form-data"' in page and 'accept="image/*,application/pdf"' in page
    assert f'action="{path}/attachments"' in page and "Photo or PDF, at most 10 MiB" in page
    assert "No photo or document is attached to this order." in page

    photo = png(11)
    sha = hashlib.sha256(photo).hexdigest()
    sent = site.client.post(
        f"{path}/attachments", data={"csrf_token": token, "caption": "Seal <cut> at the door"},
        files={"file": ("seal.png", photo, "image/png")}, follow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303 and sent.headers["location"] == path
    paper = site.client.post(
        f"{path}/attachments", data={"csrf_token": token},
        files={"file": ("report.pdf", pdf(), "application/pdf")}, follow_redirects=False,
    )  # fmt: skip
    assert paper.status_code == 303

    shown = site.client.get(path).text
    src = f"{path}/attachments/{sha}"
    assert f'<img class="thumb" src="{src}" alt="Seal &lt;cut&gt; at the door">' in shown
    assert "<cut>" not in shown  # the caption is escaped
    assert sha[:12] + "…" in shown and sha in shown  # shortened, and whole on demand
    assert "seal.png" in shown and "report.pdf" in shown and "(PDF)" in shown
    assert f"{len(photo) / 1024:.1f} KiB" in shown
    history_actions = [s.action for s in control.order_dossier(site.store, order.order_id).history]
    assert history_actions.count("attach") == 2

    image = site.client.get(src)
    assert image.status_code == 200 and image.content == photo
    assert image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in image.headers["content-security-policy"]


def test_refusals_are_shown_on_the_page(site: Site) -> None:
    order, planned, token = _in_progress(site)
    path = f"/orders/{order.order_id}"

    def upload(target: str, name: str, content: bytes, **fields: str) -> object:
        return site.client.post(f"{target}/attachments", data=fields,
                                files={"file": (name, content, "image/png")})  # fmt: skip

    renamed = upload(path, "notes.png", b"Call the agent before 10:00\n", csrf_token=token)
    assert renamed.status_code == 422
    message = html.unescape(renamed.text)
    assert "notes.png: not a JPEG, PNG or WebP photo or a PDF document" in message
    assert 'role="alert"' in renamed.text and "Traceback" not in renamed.text

    no_token = upload(path, "seal.png", png(12))
    assert no_token.status_code == 403 and "The form expired" in no_token.text

    early = upload(f"/orders/{planned.order_id}", "seal.png", png(12), csrf_token=token)
    assert early.status_code == 409 and "is planned" in early.text

    site.settings.attachment_max_bytes = 50
    big = upload(path, "big.png", png(12), csrf_token=token)
    assert big.status_code == 422 and "larger than the 50 bytes" in html.unescape(big.text)
    assert control.order_dossier(site.store, order.order_id).attachments == []


def test_another_terminals_inspector_is_refused(site: Site) -> None:
    order, _, token = _in_progress(site)
    photo = png(13)
    path = f"/orders/{order.order_id}"
    site.client.post(f"{path}/attachments", data={"csrf_token": token},
                     files={"file": ("seal.png", photo, "image/png")})  # fmt: skip
    src = f"{path}/attachments/{hashlib.sha256(photo).hexdigest()}"
    assert site.client.get(src).status_code == 200

    site.client.cookies.clear()
    site.login(site.user(Role.INSPECTOR, terminals=("NOWHERE",)))
    other_token = csrf_of(site.client.get("/orders").text)
    assert site.client.get(path).status_code == 403
    refused = site.client.get(src)
    assert refused.status_code == 403 and refused.content != photo
    posted = site.client.post(f"{path}/attachments", data={"csrf_token": other_token},
                              files={"file": ("x.png", png(14), "image/png")})  # fmt: skip
    assert posted.status_code == 403 and "terminal you do not work at" in posted.text
    assert len(control.order_dossier(site.store, order.order_id).attachments) == 1

    # An officer reads the order and its photos but attaches nothing.
    site.client.cookies.clear()
    site.login(site.user(Role.TARGETING_OFFICER))
    page = site.client.get(path)
    assert page.status_code == 200 and src in page.text and "multipart/form-data" not in page.text
    assert site.client.get(f"{path}/attachments/{'0' * 64}").status_code == 404


def test_a_changed_photo_is_refused_not_shown(site: Site) -> None:
    order, _, token = _in_progress(site)
    photo = png(15)
    sha = hashlib.sha256(photo).hexdigest()
    path = f"/orders/{order.order_id}"
    site.client.post(f"{path}/attachments", data={"csrf_token": token},
                     files={"file": ("seal.png", photo, "image/png")})  # fmt: skip
    b = tables.blobs
    with site.store.transaction() as conn:
        conn.execute(update(b).where(b.c.sha256 == sha).values(content=png(16)))
    answer = site.client.get(f"{path}/attachments/{sha}")
    assert answer.status_code == 500 and answer.headers["content-type"].startswith("text/html")
    assert f"attachment {sha} of order {order.order_id}" in answer.text
    assert "no longer matches" in answer.text


@pytest.mark.parametrize(
    ("language", "not_a_photo", "empty", "planned_order"),
    [
        ("nl", "geen JPEG-, PNG- of WebP-foto", "het bestand is leeg",
         "bestanden worden bijgevoegd terwijl ze in_progress is"),
        ("fr", "ni une photo JPEG, PNG ou WebP", "le fichier est vide",
         "les fichiers se joignent pendant qu'il est in_progress"),
    ],
)  # fmt: skip
def test_refusals_are_told_in_the_visitors_language_naming_the_file(
    site: Site, language: str, not_a_photo: str, empty: str, planned_order: str
) -> None:
    order, planned, token = _in_progress(site)
    speaks = {"Accept-Language": language}

    def upload(target: str, name: str, content: bytes) -> str:
        answer = site.client.post(f"/orders/{target}/attachments", headers=speaks,
                                  data={"csrf_token": token},
                                  files={"file": (name, content, "image/png")})  # fmt: skip
        assert answer.status_code in (409, 422)
        return html.unescape(answer.text)

    assert f"notes.png: {not_a_photo}" in upload(order.order_id, "notes.png", b"Call at 10\n")
    assert f"blank.png: {empty}" in upload(order.order_id, "blank.png", b"")
    assert planned_order in upload(planned.order_id, "seal.png", png(12))
