"""Carrier-document discrepancies as a hit source (risk.document_hits through risk.hit_sources),
on both stores, through real data paths: a generated port day (consignments without carrier
documents), DCSA's transport document HHL71800000 (as notified, then issued) imported as a
carrier document, and a consignment CSV declaring that B/L's container with another seal.

Scored by the services a user runs (``score_period``), by the engine with and without the
source, and as the weight fit sees it.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk import engine, explain
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.carrier_documents import DiscrepancyKind
from quaywatch.risk.document_hits import CODES
from quaywatch.services import hit_sources, hit_weights, risk
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import portday
from small_models import train_small

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "intake" / "data" / "dcsa-ebl"
BL = "HHL71800000"
SEAL = "document:seal_differs"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder trained once on four generated days (as the API tests' fixture)."""
    return train_small(tmp_path_factory.mktemp("document-hit-models"))


def _declaring(tmp_path: Path, seal: str) -> Path:
    """The example CSV's first goods item, declaring B/L ``BL`` and its container, sealed
    ``seal``, with the B/L's ports and weight."""
    with (ROOT / "examples" / "consignments.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    item = rows[0] | {
        "consignment_id": "261206-BEANR-DOC0001", "transport_document": BL,
        "port_of_loading": "DKAAR", "port_of_discharge": "DEBRV", "transshipment_ports": "",
        "container_number": "NARU3472484", "container_size_type": "22G1",
        "seals": f"SHI:BLT:{seal}", "gross_mass_kg": "12000",
    }  # fmt: skip
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerow(item)
    path = tmp_path / "declared.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def filed(store: Store, tmp_path: Path) -> tuple[Store, str, datetime, str]:
    """A port day's consignments, the carrier's B/L (two revisions) and a consignment declaring
    it with another seal: the store, that consignment's id, when the B/L was first known and
    the id of its newest revision."""
    day = portday.generate(tmp_path / "day", count=60, seed=11, noise=0.0)
    assert ingest_file(store, day.consignments).quarantined == 0
    for name in ("td-notification-draft", "td-notification-issued"):
        assert ingest_file(store, DATA / f"{name}.json").new == 1
    summary = ingest_file(store, _declaring(tmp_path, "XX-999"))
    assert (summary.new, summary.quarantined) == (1, 0), summary.rejected
    d = tables.carrier_documents
    with store.reading() as conn:
        known = conn.execute(select(d.c.known_at, d.c.document_id).order_by(d.c.revision)).all()
    return store, "261206-BEANR-DOC0001", known[0].known_at, known[-1].document_id


def _reasons(store: Store, run_id: str, consignment_id: str) -> list[explain.Reason]:
    found = reads.latest_assessments(store, run_id=run_id).filter(
        pl.col("consignment_id") == consignment_id
    )
    [text] = found.get_column("reasons").to_list()
    return explain.from_json(text)


def test_a_scoring_run_gives_the_seal_reason_with_the_document_as_evidence(
    filed: tuple[Store, str, datetime, str], models: Path
) -> None:
    store, cid, _, newest = filed
    run = risk.score_period(store, model_path=models, rescore=True, explain_all=True,
                            actor="test")  # fmt: skip
    assert run.assessed == 61
    reasons = {r.code: r for r in _reasons(store, run.run_id, cid)}
    seal = reasons[SEAL]
    assert seal.text == (
        "container NARU3472484: the carrier's bill HHL71800000 lists seal DCSA-CTK-1234, "
        "the declaration XX-999"
    )
    assert seal.source is explain.Source.DOCUMENT and seal.evidence == (newest,)
    assert seal.weight == CODES[DiscrepancyKind.SEAL_DIFFERS].weight
    # the stored JSON names the evidence; the score rose by the hits' weights
    row = reads.latest_assessments(store, run_id=run.run_id).filter(
        pl.col("consignment_id") == cid
    ).row(0, named=True)  # fmt: skip
    stored = {r["code"]: r for r in json.loads(row["reasons"])}
    assert stored[SEAL]["evidence"] == [newest]
    assert all("evidence" not in r for r in stored.values() if r["source"] != "document")
    assert row["probability"] > row["model_probability"]


def test_an_assessment_before_the_document_was_filed_does_not_see_it_and_a_later_run_does(
    filed: tuple[Store, str, datetime, str], models: Path
) -> None:
    store, cid, first_known, _ = filed
    before = first_known - timedelta(seconds=1)
    run = risk.score_period(store, model_path=models, at=before, rescore=True, explain_all=True,
                            actor="test")  # fmt: skip
    assert not [r for r in _reasons(store, run.run_id, cid) if r.source is explain.Source.DOCUMENT]
    # The document is known after that assessment: the next run (not a rescoring) assesses
    # that consignment again, and only it, now seeing the document.
    later = risk.score_period(store, model_path=models, explain_all=True, actor="test")
    assert later.assessed == 1 and later.top[0].consignment_id == cid
    assert SEAL in {r.code for r in _reasons(store, later.run_id, cid)}
    again = risk.score_period(store, model_path=models, actor="test")
    assert again.assessed == 0


def test_consignments_without_documents_are_assessed_exactly_as_without_the_source(
    filed: tuple[Store, str, datetime, str], models: Path
) -> None:
    store, cid, _, _ = filed
    model = RiskModel.load(models)
    items = reads.goods_item_rows(store)
    now = datetime.now(UTC)

    def assessed(with_sources: bool) -> pl.DataFrame:
        return engine.assess(
            items, history=items, outcomes=reads.control_outcomes(store, known_before=now),
            model=model, explain_rows=engine.Explain.ALL, parties=reads.parties(store),
            sources=hit_sources.registered(store) if with_sources else (), at=now,
        )  # fmt: skip

    plain, with_documents = assessed(False), assessed(True)
    others = pl.col("consignment_id") != cid
    assert plain.filter(others).height == 60
    assert plain.filter(others).equals(with_documents.filter(others))  # byte for byte
    mine = with_documents.filter(~others).row(0, named=True)
    assert mine["probability"] > plain.filter(~others).item(0, "probability")
    assert SEAL in mine["reasons"]


def test_the_weight_fit_sees_the_document_codes(
    filed: tuple[Store, str, datetime, str], models: Path
) -> None:
    store, cid, _, _ = filed
    lodged = reads.goods_item_rows(store, consignment_ids=[cid]).item(0, "lodged_at")
    until = max(lodged, datetime.now(UTC)) + timedelta(days=1)  # the B/L is known by then
    hits, _, _ = hit_weights.window_evidence(
        store, RiskModel.load(models), since=lodged, until=until
    )
    mine = hits.filter(pl.col("consignment_id") == cid)
    assert SEAL in mine.get_column("code").to_list()
    assert set(mine.filter(pl.col("source") == "document").get_column("code")) <= {
        c.code for c in CODES.values()
    }
