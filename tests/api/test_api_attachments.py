"""Photos and PDFs on inspection orders over HTTP, on SQLite and PostgreSQL: an inspector
attaches them at their own terminal (multipart), lists and fetches them with the type their
content shows and headers that keep the browser from running them; other terminals, wrong
types, planned orders and changed content are refused with a problem."""

from __future__ import annotations

import hashlib
from typing import Any

from api_support import Api, consignment
from sqlalchemy import update

from quaywatch.domain.access import Role
from quaywatch.store import tables
from sample_files import pdf, png

OFFICER, INSPECTOR = Role.TARGETING_OFFICER, Role.INSPECTOR
WINDOW = {"window_from": "2026-12-20T00:00:00Z", "window_to": "2026-12-21T00:00:00Z"}


def _orders(api: Api) -> list[dict[str, Any]]:
    sent = api.post("/api/v1/consignments", Role.FEED,
                    json=[consignment(n) for n in range(300, 330)])  # fmt: skip
    assert sent.status_code == 201, sent.text
    run = api.post("/api/v1/selection-runs", OFFICER, json={**WINDOW, "random_rate": 0.2})
    assert run.status_code == 201, run.text
    made = api.post(f"/api/v1/selection-runs/{run.json()['run_id']}/orders", OFFICER)
    assert made.status_code == 201 and len(made.json()["orders"]) >= 2
    return list(made.json()["orders"])


def _upload(name: str, content: bytes, claimed: str = "image/png") -> dict[str, Any]:
    return {"file": (name, content, claimed)}


def test_an_inspector_attaches_lists_and_fetches_photos(api: Api) -> None:
    order, planned = _orders(api)[:2]
    order_id, terminal = order["order_id"], order["terminal"]
    here = api.as_roles(INSPECTOR, terminals=(terminal,))
    base = f"/api/v1/orders/{order_id}/attachments"
    early = api.client.post(f"/api/v1/orders/{planned['order_id']}/attachments",
                            headers=api.as_roles(INSPECTOR, terminals=(planned["terminal"],)),
                            files=_upload("a.png", png(1)))  # fmt: skip
    assert early.status_code == 409 and "is planned" in early.json()["detail"]
    assert api.client.post(f"/api/v1/orders/{order_id}/start", headers=here).status_code == 200

    photo = png(1)
    sha = hashlib.sha256(photo).hexdigest()
    made = api.client.post(base, headers=here, files=_upload("seal.png", photo),
                           data={"caption": "broken seal"})  # fmt: skip
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["sha256"], body["media_type"], body["size"], body["filename"]) == (
        sha, "image/png", len(photo), "seal.png",
    )  # fmt: skip
    again = api.client.post(base, headers=here, files=_upload("other.png", photo))
    assert again.status_code == 200 and again.json()["created"] is False
    # A PDF sent as a PNG is a PDF: its content says so.
    paper = api.client.post(base, headers=here, files=_upload("résumé;.png", pdf()))
    assert paper.status_code == 201 and paper.json()["media_type"] == "application/pdf"

    listed = api.client.get(base, headers=here)
    assert listed.status_code == 200
    assert [(a["sha256"], a["caption"]) for a in listed.json()] == [
        (sha, "broken seal"), (paper.json()["sha256"], None),
    ]  # fmt: skip
    officer_view = api.get(base, OFFICER)  # order:read, at every terminal
    assert officer_view.status_code == 200 and len(officer_view.json()) == 2
    dossier = api.client.get(f"/api/v1/orders/{order_id}", headers=here).json()
    assert [a["sha256"] for a in dossier["attachments"]] == [a["sha256"] for a in listed.json()]

    got = api.client.get(f"{base}/{sha}", headers=here)
    assert got.status_code == 200 and got.content == photo
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    assert got.headers["content-disposition"].startswith('inline; filename="seal.png"')
    document = api.client.get(f"{base}/{paper.json()['sha256']}", headers=here)
    assert document.headers["content-type"] == "application/pdf"
    disposition = document.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="r_sum__.png";')
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%3B.png" in disposition

    assert api.client.get(f"{base}/{'0' * 64}", headers=here).status_code == 404
    assert api.client.get(f"{base}/not-a-hash", headers=here).status_code == 422


def test_refusals_are_problems_naming_what_is_wrong(api: Api) -> None:
    order = _orders(api)[0]
    order_id, terminal = order["order_id"], order["terminal"]
    here = api.as_roles(INSPECTOR, terminals=(terminal,))
    base = f"/api/v1/orders/{order_id}/attachments"
    api.client.post(f"/api/v1/orders/{order_id}/start", headers=here)
    made = api.client.post(base, headers=here, files=_upload("seal.png", png(2)))
    sha = made.json()["sha256"]

    elsewhere = api.as_roles(INSPECTOR, terminals=("NOWHERE",))
    assert (
        api.client.post(base, headers=elsewhere, files=_upload("x.png", png(3))).status_code == 403
    )
    assert api.client.get(base, headers=elsewhere).status_code == 403
    assert api.client.get(f"{base}/{sha}", headers=elsewhere).status_code == 403
    assert api.post(base, OFFICER, files=_upload("x.png", png(3))).status_code == 403

    text = api.client.post(base, headers=here, files=_upload("notes.png", b"meeting at 10\n"))
    assert text.status_code == 422
    assert text.json()["detail"].startswith("notes.png: not a JPEG, PNG or WebP photo or a PDF")
    empty = api.client.post(base, headers=here, files=_upload("void.png", b""))
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    api.settings.attachment_max_bytes = 64
    big = api.client.post(base, headers=here, files=_upload("big.png", png(4)))
    assert big.status_code == 422 and "larger than the 64 bytes" in big.json()["detail"]

    b = tables.blobs
    with api.store.transaction() as conn:
        conn.execute(update(b).where(b.c.sha256 == sha).values(content=png(5)))
    tampered = api.client.get(f"{base}/{sha}", headers=here)
    assert tampered.status_code == 500
    problem = tampered.json()
    assert problem["type"] == "urn:quaywatch:problem:tampered-content"
    assert sha in problem["detail"] and order_id in problem["detail"]
