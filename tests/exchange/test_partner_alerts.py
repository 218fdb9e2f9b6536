"""Partner alerts as a hit source (exchange.alerts through services.hit_sources), on both stores,
through real data paths: a generated port day imported into NLRTM's store, a second node
(BEANR, its own SQLite store and keys) that sends a SeizureReport naming one of those
containers and a RiskAnalysisResult naming another consignment's B/L, written to a file by
``exchange export`` and received by ``exchange import``; then scoring runs as a user makes them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from exchange_support import SEIZURE
from sqlalchemy import select

from quaywatch.exchange import alerts, protection, watchlists
from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk import engine, explain
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.hit_sources import CONSIGNMENTS
from quaywatch.services import entities, exchange as ex, hit_sources, risk
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import portday
from small_models import train_small


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder trained once on four generated days."""
    return train_small(tmp_path_factory.mktemp("partner-alert-models"))


class Traffic:
    """NLRTM's store with a port day, the partner BEANR trusted both ways, and the cargo."""

    def __init__(self, store: Store, tmp_path: Path) -> None:
        self.store, self.folder = store, tmp_path
        day = portday.generate(tmp_path / "day", count=60, seed=11, noise=0.0)
        assert ingest_file(store, day.consignments).quarantined == 0
        k, c = tables.containers, tables.consignments
        with store.reading() as conn:
            boxes = conn.execute(
                select(k.c.consignment_id, k.c.container_number).order_by(k.c.consignment_id)
            ).all()
            docs = dict(conn.execute(select(c.c.consignment_id, c.c.transport_document)).all())
        self.seized_cid, self.container = boxes[0]
        self.alerted_cid = next(cid for cid, _ in boxes if cid != self.seized_cid)
        self.bl = docs[self.alerted_cid]
        self.beanr = Store.open(f"sqlite:///{tmp_path / 'beanr.db'}")
        self.started = datetime.now(UTC) - timedelta(minutes=5)
        for code, node in (("BEANR", self.beanr), ("NLRTM", store)):
            ex.generate_keys(node, tmp_path / code, code, actor="liaison", now=self.started)
            ex.export_root(node, tmp_path / f"{code}.root")
        ex.add_partner(store, tmp_path / "BEANR.root", actor="liaison", now=self.started)
        ex.add_partner(self.beanr, tmp_path / "NLRTM.root", actor="liaison", now=self.started)

    def send(self, kind: str, body: dict[str, Any], *, valid_days: int = 30) -> str:
        """BEANR sends ``body`` to NLRTM; NLRTM imports the export now; the message id."""
        path = self.folder / "body.json"
        path.write_text(json.dumps(body))
        sent = ex.send(self.beanr, self.folder / "BEANR", "NLRTM", kind, path,
                       valid_days=valid_days, actor="ana", now=self.started)  # fmt: skip
        out = self.folder / "out.jsonl"
        ex.export(self.beanr, self.folder / "BEANR", out, actor="ana", now=self.started)
        received = ex.import_file(self.store, out, actor="ben")
        assert [o.status for o in received.outcomes] == ["accepted"], received.outcomes
        return sent.message_id

    def received_at(self, message_id: str) -> datetime:
        r = tables.exchange_received
        with self.store.reading() as conn:
            at = conn.execute(select(r.c.received_at).where(r.c.message_id == message_id))
            moment: datetime = at.scalar_one()
        return moment


@pytest.fixture
def nlrtm(store: Store, tmp_path: Path) -> Any:
    made = Traffic(store, tmp_path)
    yield made
    made.beanr.close()


def _assessment(store: Store, run_id: str, cid: str) -> dict[str, Any]:
    row: dict[str, Any] = (
        reads.latest_assessments(store, run_id=run_id)
        .filter(pl.col("consignment_id") == cid)
        .row(0, named=True)
    )
    return row


def _partner(row: dict[str, Any]) -> list[explain.Reason]:
    return [r for r in explain.from_json(row["reasons"]) if r.source is explain.Source.PARTNER]


def test_a_received_seizure_report_raises_its_containers_assessment_from_receipt_on(
    nlrtm: Traffic, models: Path
) -> None:
    store = nlrtm.store
    before = risk.score_period(store, model_path=models, rescore=True, explain_all=True,
                               actor="test")  # fmt: skip
    assert before.assessed == 60
    seizure = SEIZURE | {"containers": [nlrtm.container]}
    message_id = nlrtm.send("seizure-report", seizure)
    receipt = nlrtm.received_at(message_id)

    # Assessed as of a moment before the receipt: the alert is not seen.
    early = risk.score_period(store, model_path=models, at=receipt - timedelta(seconds=1),
                              rescore=True, explain_all=True, actor="test")  # fmt: skip
    assert not _partner(_assessment(store, early.run_id, nlrtm.seized_cid))
    # The next run (not a rescoring) assesses again only the consignment the alert names.
    later = risk.score_period(store, model_path=models, explain_all=True, actor="test")
    assert later.assessed == 1 and later.top[0].consignment_id == nlrtm.seized_cid
    raised = _assessment(store, later.run_id, nlrtm.seized_cid)
    [reason] = _partner(raised)
    assert reason.code == "partner:seizure" and reason.evidence == (f"BEANR/{message_id}",)
    assert reason.text == (
        "alert from partner BEANR: seizure BEANR-2026-0042 of 412.5 KGM cocaine in banana boxes "
        f"(HS 080390), found by nii scan; container {nlrtm.container}"
    )
    assert reason.weight == alerts.SEIZURE.weight
    plain = _assessment(store, early.run_id, nlrtm.seized_cid)
    assert raised["score"] > plain["score"]
    assert raised["probability"] > raised["model_probability"]
    assert risk.score_period(store, model_path=models, actor="test").assessed == 0


def test_consignments_no_alert_names_are_assessed_exactly_as_without_the_source(
    nlrtm: Traffic, models: Path
) -> None:
    store = nlrtm.store
    nlrtm.send("seizure-report", SEIZURE | {"containers": [nlrtm.container]})
    model = RiskModel.load(models)
    items = reads.goods_item_rows(store)
    now = datetime.now(UTC)

    def assessed(with_sources: bool) -> pl.DataFrame:
        return engine.assess(
            items, history=items, outcomes=reads.control_outcomes(store, known_before=now),
            model=model, explain_rows=engine.Explain.ALL, parties=reads.parties(store),
            sources=hit_sources.registered(store) if with_sources else (), at=now,
        )  # fmt: skip

    plain, alerted = assessed(False), assessed(True)
    others = pl.col("consignment_id") != nlrtm.seized_cid
    assert plain.filter(others).height == 59
    assert plain.filter(others).equals(alerted.filter(others))
    assert alerted.filter(~others).item(0, "probability") > plain.filter(~others).item(
        0, "probability"
    )


def _ask(store: Store, cid: str, as_of: datetime) -> pl.DataFrame:
    rows = reads.goods_item_rows(store, consignment_ids=[cid])
    return rows.select(
        pl.col("consignment_id"), pl.col("version").cast(pl.Int64),
        pl.col("lodged_at"), pl.lit(as_of).cast(pl.Datetime("us", "UTC")).alias("as_of"),
    ).unique().cast(dict(CONSIGNMENTS))  # fmt: skip


def test_a_risk_analysis_result_naming_a_bl_counts_until_it_lapses(nlrtm: Traffic) -> None:
    store = nlrtm.store
    valid_until = nlrtm.started + timedelta(days=3)
    message_id = nlrtm.send("risk-analysis-result", {
        "transport_documents": [{"level": "MASTER", "reference": nlrtm.bl}],
        "risk_area": "DRUGS", "result": "CONTROL_AT_FIRST_ENTRY",
        "reasons": {"profile_ids": ["BE-COC-7"], "score_band": "HIGH"},
        "recommended_control": "PHYSICAL", "valid_until": valid_until.isoformat(),
    })  # fmt: skip
    receipt = nlrtm.received_at(message_id)
    source = alerts.PartnerAlertHits(store)
    in_force = list(source.hits(_ask(store, nlrtm.alerted_cid, receipt)))
    assert [(h.code, h.evidence) for h in in_force] == [
        ("partner:control_at_first_entry", (f"BEANR/{message_id}",))
    ]
    assert in_force[0].params["about"] == f"B/L {nlrtm.bl}"
    text = alerts.CONTROL.reason.format_map(in_force[0].params)
    assert text == (
        "alert from partner BEANR: drugs risk, control at first entry (physical recommended); "
        f"B/L {nlrtm.bl}"
    )
    for moment in (receipt - timedelta(microseconds=1), valid_until, valid_until + timedelta(1)):
        assert list(source.hits(_ask(store, nlrtm.alerted_cid, moment))) == []
    # a result that asks nothing raises nothing
    nlrtm.send("risk-analysis-result", {
        "containers": [nlrtm.container], "risk_area": "DRUGS", "result": "NO_ACTION",
        "reasons": {}, "valid_until": valid_until.isoformat(),
    })  # fmt: skip
    assert list(source.hits(_ask(store, nlrtm.seized_cid, receipt + timedelta(hours=1)))) == []


@pytest.mark.parametrize("revoked", ["the partner", "its key"])
def test_an_alert_stops_counting_when_its_sender_or_key_is_revoked(
    nlrtm: Traffic, revoked: str
) -> None:
    store = nlrtm.store
    message_id = nlrtm.send("seizure-report", SEIZURE | {"containers": [nlrtm.container]})
    receipt = nlrtm.received_at(message_id)
    source = alerts.PartnerAlertHits(store)
    at = receipt + timedelta(hours=2)
    key = ex.own_keys(nlrtm.beanr).root.keys[0].keyid
    ex.revoke(store, "BEANR", key_id=key if revoked == "its key" else None, reason="stolen",
              actor="ben", now=at)  # fmt: skip
    # An assessment made before the revocation keeps the alert; one made after does not.
    before = list(source.hits(_ask(store, nlrtm.seized_cid, at - timedelta(minutes=1))))
    assert [h.evidence for h in before] == [(f"BEANR/{message_id}",)]
    assert list(source.hits(_ask(store, nlrtm.seized_cid, at))) == []
    assert list(source.hits(_ask(store, nlrtm.seized_cid, at + timedelta(days=1)))) == []


def _consignee(store: Store, cid: str) -> dict[str, Any]:
    c, p = tables.consignments, tables.parties
    with store.reading() as conn:
        row = conn.execute(
            select(p.c.party_key, p.c.name, p.c.eori, p.c.country)
            .join_from(c, p, p.c.party_key == c.c.consignee_key)
            .where(c.c.consignment_id == cid)
        ).first()  # fmt: skip
    assert row is not None
    return dict(row._mapping)


@pytest.mark.parametrize("deidentified", [False, True])
def test_the_parties_of_a_partner_seizure_are_screened_until_the_partner_is_revoked(
    nlrtm: Traffic, models: Path, deidentified: bool
) -> None:
    """BEANR's seizure names the consignee of a consignment (no container, B/L or MRN of it):
    its other consignments rise with the partner's case as reason, its party review shows
    the seizure, and after BEANR is revoked it no longer counts and the assessments are due."""
    store = nlrtm.store
    party = _consignee(store, nlrtm.alerted_cid)
    name = party["name"].upper() + "  "  # the partner writes it its own way
    seized = {**SEIZURE, "containers": ["CSQU3054383"], "parties": [
        {"role": "CONSIGNEE", "name": name, "country": party["country"],
         **({"eori": party["eori"]} if party["eori"] else {})}]}  # fmt: skip
    if deidentified:
        ex.generate_group_key(nlrtm.folder / "BEANR")
        ex.import_group_key(nlrtm.folder / "NLRTM", nlrtm.folder / "BEANR" / "group.key")
    else:
        ex.allow_partner(nlrtm.beanr, "NLRTM", "seizure-report", personal=True,
                         basis="Naples II, art. 10", actor="ana")  # fmt: skip
    keys = nlrtm.folder / "NLRTM"
    before = risk.score_period(store, model_path=models, rescore=True, explain_all=True,
                               actor="test", key_dir=keys)  # fmt: skip
    message_id = nlrtm.send("seizure-report", seized)
    [received] = ex.inbox(store).received
    assert (party["name"].upper() in received.payload) is not deidentified
    later = risk.score_period(store, model_path=models, explain_all=True, actor="test",
                              key_dir=keys)  # fmt: skip
    assert nlrtm.alerted_cid in {t.consignment_id for t in later.top} or later.assessed >= 1
    raised = _assessment(store, later.run_id, nlrtm.alerted_cid)
    [reason] = _partner(raised)
    assert reason.code == ("partner:seizure_party" if party["eori"] else
                           "partner:seizure_party_name")  # fmt: skip
    assert reason.evidence == (f"BEANR/{message_id}",)
    assert reason.text.startswith(f"alert from partner BEANR: consignee {party['name']} was "
                                  "consignee in seizure BEANR-2026-0042 of 412.5 KGM cocaine")  # fmt: skip
    assert ("de-identified" in reason.text) is deidentified
    assert raised["score"] > _assessment(store, before.run_id, nlrtm.alerted_cid)["score"]
    # Without the group key a de-identified seizure matches nobody.
    source = alerts.PartnerAlertHits(store)
    at = nlrtm.received_at(message_id) + timedelta(minutes=1)
    assert bool(list(source.hits(_ask(store, nlrtm.alerted_cid, at)))) is not deidentified

    review = entities.party_review(store, party["party_key"], hops=1, key_dir=keys)
    [seizure] = review.track.partner_seizures
    assert (seizure.partner, seizure.case_reference, seizure.state) == (
        "BEANR",
        "BEANR-2026-0042",
        "in force",
    )
    assert seizure.deidentified is deidentified
    assert any(m.watchlist_id == "partner:BEANR" for m in review.hits.matches)

    ex.revoke(store, "BEANR", reason="trust withdrawn", actor="ben")
    again = risk.score_period(store, model_path=models, explain_all=True, actor="test",
                              key_dir=keys)  # fmt: skip
    assert again.assessed >= 1
    assert not _partner(_assessment(store, again.run_id, nlrtm.alerted_cid))
    assert risk.score_period(store, model_path=models, actor="test", key_dir=keys).assessed == 0
    review = entities.party_review(store, party["party_key"], hops=1, key_dir=keys)
    assert [s.state for s in review.track.partner_seizures] == ["revoked"]
    assert not any(m.watchlist_id == "partner:BEANR" for m in review.hits.matches)


def test_revoking_a_partner_makes_the_assessments_its_alerts_raised_due_again(
    nlrtm: Traffic, models: Path
) -> None:
    store = nlrtm.store
    risk.score_period(store, model_path=models, rescore=True, actor="test")
    nlrtm.send("seizure-report", SEIZURE | {"containers": [nlrtm.container]})
    raised = risk.score_period(store, model_path=models, explain_all=True, actor="test")
    assert [t.consignment_id for t in raised.top] == [nlrtm.seized_cid]
    assert risk.score_period(store, model_path=models, actor="test").assessed == 0
    key = ex.own_keys(nlrtm.beanr).root.keys[0].keyid
    ex.revoke(store, "BEANR", key_id=key, reason="key reported lost", actor="ben")
    again = risk.score_period(store, model_path=models, explain_all=True, actor="test")
    assert again.assessed == 1 and again.top[0].consignment_id == nlrtm.seized_cid
    assert not _partner(_assessment(store, again.run_id, nlrtm.seized_cid))
    assert risk.score_period(store, model_path=models, actor="test").assessed == 0


def test_evaluation_and_weight_fitting_match_de_identified_seizures_with_the_key_dir(
    nlrtm: Traffic, models: Path, store_url: str
) -> None:
    """``quaywatch evaluate`` (``model_scores``) and ``weights fit`` (``window_evidence``) see a
    de-identified partner seizure's party as scoring does: with the key directory's group key
    only."""
    from typer.testing import CliRunner

    from quaywatch.cli import app
    from quaywatch.services import evaluation, hit_weights

    store = nlrtm.store
    party = _consignee(store, nlrtm.alerted_cid)
    ex.generate_group_key(nlrtm.folder / "BEANR")
    ex.import_group_key(nlrtm.folder / "NLRTM", nlrtm.folder / "BEANR" / "group.key")
    nlrtm.send("seizure-report", {**SEIZURE, "parties": [
        {"role": "CONSIGNEE", "name": party["name"], "country": party["country"]}]})  # fmt: skip
    keys = nlrtm.folder / "NLRTM"
    lodged = reads.goods_item_rows(store).get_column("lodged_at")
    since, until = lodged.min(), datetime.now(UTC) + timedelta(minutes=1)
    assert isinstance(since, datetime)
    model = RiskModel.load(models)
    alerted = pl.col("consignment_id") == nlrtm.alerted_cid

    def scored(key_dir: Path | None) -> pl.DataFrame:
        return evaluation.model_scores(store, model, since, key_dir=key_dir)

    c = tables.consignments
    with store.reading() as conn:
        naming = set(conn.execute(select(c.c.consignment_id).where(
            (c.c.consignee_key == party["party_key"]) | (c.c.consignor_key == party["party_key"])
            | (c.c.notify_party_key == party["party_key"])
            | (c.c.declarant_key == party["party_key"]))).scalars())  # fmt: skip
    plain, keyed = scored(None), scored(keys)
    assert keyed.filter(alerted).item(0, "combined") > plain.filter(alerted).item(0, "combined")
    raised = plain.join(keyed, on=["consignment_id", "version"]).filter(
        pl.col("combined_right") > pl.col("combined")
    )
    assert set(raised.get_column("consignment_id")) == naming

    def partner_hits(key_dir: Path | None) -> set[tuple[str, str]]:
        hits = hit_weights.window_evidence(store, model, since=since, until=until,
                                           key_dir=key_dir)[0]  # fmt: skip
        found = hits.filter(pl.col("code").str.starts_with("partner:"))
        return set(found.select("consignment_id", "code").iter_rows())

    assert partner_hits(None) == set()
    assert partner_hits(keys) == {(cid, "partner:seizure_party_name") for cid in naming}

    fit = ["weights", "fit", "--since", f"{since:%Y-%m-%dT%H:%M:%S%z}",
           "--until", f"{until + timedelta(seconds=1):%Y-%m-%dT%H:%M:%S%z}",
           "--no-activate", "--json"]  # fmt: skip
    env = {"QUAYWATCH_DATABASE_URL": store_url, "QUAYWATCH_MODEL_DIR": str(models),
           "QUAYWATCH_ACTOR": "analyst"}  # fmt: skip
    runner = CliRunner()
    without = runner.invoke(app, fit, env=env | {"QUAYWATCH_KEY_DIR": str(nlrtm.folder / "x")})
    assert without.exit_code == 0, without.output
    assert "partner:seizure_party" not in without.output
    keyed_fit = runner.invoke(app, fit, env=env | {"QUAYWATCH_KEY_DIR": str(keys)})
    assert keyed_fit.exit_code == 0, keyed_fit.output
    assert "partner:seizure_party_name" in keyed_fit.output


def _keyed(nlrtm: Traffic) -> bytes:
    """The partner group's key, shared by BEANR and NLRTM; BEANR may send personal data."""
    ex.generate_group_key(nlrtm.folder / "BEANR")
    ex.import_group_key(nlrtm.folder / "NLRTM", nlrtm.folder / "BEANR" / "group.key")
    ex.allow_partner(nlrtm.beanr, "NLRTM", "seizure-report", personal=True,
                     basis="Naples II, art. 10", actor="ana")  # fmt: skip
    key = protection.group_key_if_any(nlrtm.folder / "NLRTM")
    assert key is not None
    return key


def test_a_party_the_partner_hashed_in_part_is_matched_field_by_field(nlrtm: Traffic) -> None:
    """A hashed field is matched by hash and a clear one by the screener, in the same entry:
    a hash is never screened as a name."""
    store = nlrtm.store
    key = _keyed(nlrtm)
    parties = reads.parties(store)
    named = parties.filter(pl.col("eori").is_not_null()).row(0, named=True)
    nlrtm.send("seizure-report", {**SEIZURE, "containers": ["CSQU3054383"], "parties": [
        # the name hashed, the address in clear
        {"role": "CONSIGNEE", "name": protection.pseudonym(key, named["name"]),
         "address": "Nowhere Street 1", "country": named["country"]},
        # the name in clear (nobody's), the EORI hashed
        {"role": "CONSIGNOR", "name": "Nobody Such Trading", "country": named["country"],
         "eori": protection.pseudonym(key, named["eori"])},
    ]})  # fmt: skip
    seized = watchlists.entries(store)
    assert [sorted(e.hashed) for e in seized] == [["name"], ["eori"]]
    found = watchlists.screen(seized, parties, key).filter(
        pl.col("party_key") == named["party_key"]
    )
    got = sorted(found.select("entry", "kind", "strong").iter_rows())
    assert got == [(0, "name", False), (1, "eori", True)]
    assert all("keyed hash" in how for how in found.get_column("how"))
    # no party's name is fuzzy-matched with a hash
    assert watchlists.screen(seized, parties, None).is_empty()


def test_stored_reports_are_read_again_when_one_arrives_or_a_partner_is_revoked(
    nlrtm: Traffic,
) -> None:
    store = nlrtm.store
    _keyed(nlrtm)
    assert watchlists.entries(store) == [] and alerts.alerts(store) == []
    parties = {"parties": [{"role": "CONSIGNEE", "name": "Acme Trading", "country": "BE"}]}
    first = nlrtm.send("seizure-report", SEIZURE | parties)
    assert [e.message_id for e in watchlists.entries(store)] == [first]
    assert [a.message_id for a in alerts.alerts(store)] == [first]
    assert watchlists.entries(store) == watchlists.entries(store)
    second = nlrtm.send("seizure-report", SEIZURE | parties | {"case_reference": "BEANR-2026-0043"})
    assert {e.message_id for e in watchlists.entries(store)} == {first, second}
    assert [a.message_id for a in alerts.alerts(store)] == [first, second]
    at = nlrtm.received_at(second) + timedelta(hours=1)
    ex.revoke(store, "BEANR", reason="trust withdrawn", actor="ben", now=at)
    assert {e.revoked_at for e in watchlists.entries(store)} == {at}
    assert {a.until for a in alerts.alerts(store)} == {at}


def test_a_scoring_run_screens_only_the_parties_an_entry_could_change(
    nlrtm: Traffic, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once every assessment is newer than every partner seizure, working out what is due
    hashes no party (it used to screen every party of the store on each run)."""
    store = nlrtm.store
    key = _keyed(nlrtm)
    keys = nlrtm.folder / "NLRTM"
    party = _consignee(store, nlrtm.alerted_cid)
    nlrtm.send("seizure-report", {**SEIZURE, "containers": ["CSQU3054383"], "parties": [
        {"role": "CONSIGNEE", "name": protection.pseudonym(key, party["name"]),
         "country": party["country"]}]})  # fmt: skip
    hashed: list[str] = []
    real = protection.pseudonym
    monkeypatch.setattr(protection, "pseudonym",
                        lambda key, value: hashed.append(value) or real(key, value))  # fmt: skip
    risk.score_period(store, model_path=models, rescore=True, actor="test", key_dir=keys)
    hashed.clear()
    source = alerts.PartnerAlertHits(store, protection.group_key_if_any(keys))
    assert source.stale(None).is_empty()
    assert hashed == []
    assert risk.score_period(store, model_path=models, actor="test", key_dir=keys).assessed == 0
