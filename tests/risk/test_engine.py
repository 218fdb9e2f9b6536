"""Train on controlled consignments, score the store, evaluate the model: the user's path.

One module-scoped store holds five weeks of generated traffic whose legacy selection controls a
fifth of the consignments (so a model has enough labels at test size), imported as a user would.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import select
from typer.testing import CliRunner

from generated_store import legacy_store
from quaywatch.cli import app
from quaywatch.domain import reference
from quaywatch.errors import InputError, ModelError
from quaywatch.learning import train
from quaywatch.risk import compiled, engine, explain
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.reasons import Templates
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

UNTIL = datetime(2026, 11, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    root = tmp_path_factory.mktemp("engine")
    store = legacy_store(root, per_day=800, seed=21)
    yield store, root
    store.close()


def trained(world: tuple[Store, Path]) -> RiskModel:
    """The model trained on the module's store until ``UNTIL``, trained once per worker."""
    store, root = world
    if not (root / "models").is_dir():
        items = reads.goods_item_rows(store, lodged_before=UNTIL)
        outcomes = reads.control_outcomes(store, known_before=UNTIL)
        train.fit(items, outcomes, until=UNTIL, capacity_pct=3.0,
                  params={"num_threads": 1}).save(root / "models")  # fmt: skip
    return RiskModel.load(root / "models")


def test_train_save_load_score_and_explain(world: tuple[Store, Path]) -> None:
    store, root = world
    items = reads.goods_item_rows(store, lodged_before=UNTIL)
    outcomes = reads.control_outcomes(store, known_before=UNTIL)
    model = train.fit(items, outcomes, until=UNTIL, capacity_pct=3.0, params={"num_threads": 1})
    assert model.metrics["labelled"] >= train.MIN_LABELLED
    assert 0 < model.review_probability < 1
    folder = model.save(root / "first-models")
    loaded = RiskModel.load(root / "first-models")  # the current one
    assert loaded.version == model.version and folder.name == model.version
    with pytest.raises(ModelError, match="already exists"):
        model.save(root / "first-models")

    now = datetime(2026, 12, 1, tzinfo=UTC)
    run = engine.score_store(store, loaded, now=now, since=UNTIL)
    stored = reads.latest_assessments(store, run_id=run.run_id)
    assert run.assessed == stored.height > 0
    assert stored["probability"].is_between(0, 1).all()
    assert (stored["score"] == (stored["probability"] * 100).round(1)).all()
    review = stored.filter(pl.col("probability") >= loaded.review_probability)
    assert review["explained"].all() and review.height > 0
    # Below the review probability, only consignments a hit demands a lane or referral for.
    flagged = stored.filter(pl.col("probability") < loaded.review_probability, "explained")
    assert run.explained == review.height + flagged.height
    assert (flagged["lane_floor"].is_not_null() | flagged["referral"].is_not_null()).all()
    first = explain.from_json(review.sort("score", descending=True)["reasons"][0])
    assert first and all(r.weight > 0 for r in first)
    assert not stored.filter(~pl.col("explained"))["reasons"].str.contains("model:").any()

    again = engine.score_store(store, loaded, now=now, since=UNTIL)
    assert again.assessed == 0  # already assessed by this model version
    with store.reading() as conn:
        actions = conn.execute(select(tables.audit_events.c.action)).scalars().all()
    assert actions.count("score") == 1


def _after_training(
    world: tuple[Store, Path],
) -> tuple[RiskModel, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The trained model, every stored item, the outcomes known at ``UNTIL``, the items after."""
    model = trained(world)
    history = reads.goods_item_rows(world[0])
    outcomes = reads.control_outcomes(world[0], known_before=UNTIL)
    return model, history, outcomes, history.filter(pl.col("lodged_at") >= UNTIL)


def test_assessments_do_not_depend_on_the_batch_they_are_in(world: tuple[Store, Path]) -> None:
    model, history, outcomes, later = _after_training(world)
    whole = engine.assess(later, history=history, outcomes=outcomes, model=model)
    one = later.filter(pl.col("consignment_id") == later["consignment_id"][5])
    alone = engine.assess(one, history=history, outcomes=outcomes, model=model)
    match = whole.filter(pl.col("consignment_id") == one["consignment_id"][0])
    assert alone["probability"][0] == pytest.approx(match["probability"][0])


def test_a_hit_firing_on_much_of_the_batch_scores_as_it_does_alone(
    world: tuple[Store, Path],
) -> None:
    # An incremental run of re-assessments (the consignments whose containers got events) where
    # an anomaly fires on 40 % of the batch: the batch's share is reported, never damps, so a
    # hit consignment scores as it does alone through the API.
    model, history, outcomes, later = _after_training(world)
    keys = later.select("consignment_id", "version").unique(maintain_order=True)
    flagged = keys.head(int(keys.height * 0.4))
    hits = flagged.with_columns(
        code=pl.lit("anomaly:hub_dwell"), text=pl.lit("dwell at a hub"), weight=pl.lit(1.5),
        source=pl.lit("anomaly"),
    )  # fmt: skip
    whole = engine.assess(later, history=history, outcomes=outcomes, model=model, hits=hits)
    target = flagged["consignment_id"][3]
    one = later.filter(pl.col("consignment_id") == target)
    alone = engine.assess(one, history=history, outcomes=outcomes, model=model,
                          hits=hits.filter(pl.col("consignment_id") == target))  # fmt: skip
    match = whole.filter(pl.col("consignment_id") == target)
    assert alone["probability"][0] == pytest.approx(match["probability"][0])
    odds = (match["probability"] / (1 - match["probability"])) / (
        match["model_probability"] / (1 - match["model_probability"]))  # fmt: skip
    assert odds[0] >= math.exp(1.5) * 0.999  # the anomaly's weight, undamped


@pytest.mark.skipif(not compiled.available(), reason="lleaves is not installed for this Python")
def test_compiled_models_write_the_same_assessments(
    world: tuple[Store, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Both models compiled (the revenue one predicting on the engine's other thread, from the
    row-major matrix both share): the assessments LightGBM gives, to the last bit."""
    model, history, outcomes, later = _after_training(world)
    plain = engine.assess(later, history=history, outcomes=outcomes, model=model)
    monkeypatch.setattr(compiled, "MIN_ROWS", 100)
    # A copy: the module's model folder stays without compiled objects for the other tests.
    folder = shutil.copytree(world[1] / "models" / model.version, tmp_path / model.version)
    assert RiskModel.load(folder).compile()
    fast = RiskModel.load(folder)  # loads the objects ``compile`` kept
    assert fast.is_compiled
    used: list[int] = []
    predict = compiled.Forest.predict
    monkeypatch.setattr(
        compiled.Forest, "predict", lambda f, m: used.append(len(m)) or predict(f, m)
    )
    found = engine.assess(later, history=history, outcomes=outcomes, model=fast)
    assert_frame_equal(found, plain)
    assert sum(n > compiled.CHECK_ROWS for n in used) == 2  # each model, its whole batch


def test_reasons_name_the_item_their_context_columns_point_at(world: tuple[Store, Path]) -> None:
    model, history, outcomes, later = _after_training(world)
    scored = engine.assess(later, history=history, outcomes=outcomes, model=model,
                           explain_rows=engine.Explain.ALL)  # fmt: skip
    texts = [
        r.text
        for cell in scored["reasons"]
        for r in explain.from_json(cell)
        if r.code in ("model:value_z_max", "model:value_ratio_max", "model:box_mismatch")
    ]
    assert texts, "no reason from the highest-valued item or the container type"
    # value_hs6_max and box_hs6 are not model inputs; the sentence still names the subheading.
    assert all(re.search(r"HS \d{4}\.\d{2}", t) for t in texts), texts[:5]


def test_too_few_labels_is_a_clear_error(world: tuple[Store, Path]) -> None:
    store, _ = world
    early = datetime(2026, 10, 3, tzinfo=UTC)
    with pytest.raises(InputError, match="controlled consignments with a known outcome"):
        train.fit(
            reads.goods_item_rows(store, lodged_before=early),
            reads.control_outcomes(store, known_before=early),
            until=early, capacity_pct=3.0,
        )  # fmt: skip


def test_cli_train_score_and_evaluate_the_model(world: tuple[Store, Path]) -> None:
    store, root = world
    url = str(store.engine.url)
    runner = CliRunner()
    models = root / "cli-models"
    train = ["--database", url, "train", "--until", "2026-11-10", "--models", str(models)]
    out = runner.invoke(app, train)  # 48 hits: refused, with what to do instead
    assert out.exit_code == 2 and not models.exists(), out.output
    said = " ".join(out.output.split())
    assert "(48 hits)" in said and "below the 50 hits" in said and "--allow-few-hits" in said
    assert "random control sample" in said and "label-free component" in said
    out = runner.invoke(app, [*train, "--allow-few-hits"])
    assert out.exit_code == 0, out.output
    said = " ".join(out.output.split())
    assert "Trained fraud-" in said and "(now current)" in said
    assert "(48 hits, " in said and "weighted AUC" in said and "weighting ipw" in said
    assert "warning: only 48 hits, below the 50" in said
    assert RiskModel.load(models).is_compiled == compiled.available()  # train compiles
    # The folder copied to a machine without its objects: LightGBM, until compiled there.
    folder = models / (models / "CURRENT").read_text().strip()
    for kind in ("fraud", "revenue"):
        shutil.rmtree(folder / kind / compiled.FOLDER, ignore_errors=True)
    assert not RiskModel.load(models).is_compiled
    out = runner.invoke(app, ["model", "compile", str(models)])
    if compiled.available():
        assert out.exit_code == 0, out.output
        assert f"Compiled {folder.name} for large batches" in out.output
        assert RiskModel.load(folder).is_compiled
    else:
        assert out.exit_code == 1 and "quaywatch[compiled]" in out.output
    out = runner.invoke(app, ["--database", url, "score", "--model", str(models), "--top", "3"])
    assert out.exit_code == 0, out.output
    assert "consignments assessed" in out.output and "Highest 3 scores" in out.output
    report = root / "report.json"
    out = runner.invoke(app, [
        "--database", url, "evaluate", "--truth", str(root / "traffic/truth/truth.parquet"),
        "--split", "2026-11-10", "--model", str(models), "--report", str(report),
    ])  # fmt: skip
    assert out.exit_code == 0, out.output
    results = {r["name"]: r for r in json.loads(report.read_text())["results"]}
    assert results["model"]["auc"] > 0.6
    out = runner.invoke(app, ["--database", url, "score", "--model", str(root / "nothing")])
    assert out.exit_code != 0 and "no trained model" in out.output


PROFILE = """\
id: TEST-REEFERS
version: 1
description: Every reefer
owner: tests
reason: "reefer loaded at {port_of_loading}"
condition: reefer
action:
  weight: 2.0
"""


def test_scoring_combines_profiles_and_screening_with_the_model(
    world: tuple[Store, Path], tmp_path: Path
) -> None:
    """The user's path: a profile activated and a watchlist loaded change the next scoring run."""
    _, root = world
    shutil.copy(root / "q.db", tmp_path / "q.db")  # the module's store stays as it was
    url = f"sqlite:///{tmp_path / 'q.db'}"
    store = Store.open(url)
    runner = CliRunner()
    (tmp_path / "reefers.yaml").write_text(PROFILE)
    for args in (["profiles", "load", str(tmp_path / "reefers.yaml")],
                 ["profiles", "activate", "TEST-REEFERS"]):  # fmt: skip
        out = runner.invoke(app, ["--database", url, *args])
        assert out.exit_code == 0, out.output
    items = reads.goods_item_rows(store).filter(
        pl.col("lodged_at") >= datetime(2026, 11, 13, tzinfo=UTC)
    )
    target = items.row(0, named=True)
    phone = store_party_phone(store, target["consignee_key"])
    (tmp_path / "list.csv").write_text(
        "entry_id,name,address,country,identifiers,category,note\n"
        f"T1,Somebody Else Entirely,,BE,{phone},drugs,test entry\n"
    )
    out = runner.invoke(app, ["--database", url, "watchlists", "load", str(tmp_path / "list.csv"),
                              "--id", "TEST", "--source", "tests", "--date", "2026-10-01"])  # fmt: skip
    assert out.exit_code == 0, out.output

    model = trained(world)
    # The profile fires on every reefer, more than the default saturation share of this traffic:
    # the threshold is raised so that its weight applies undamped (saturation has its own tests,
    # tests/risk/test_hit_weighting.py).
    run = engine.score_store(store, model, now=datetime(2026, 12, 1, tzinfo=UTC),
                             since=datetime(2026, 11, 13, tzinfo=UTC), rescore=True,
                             saturation_pct=100.0)  # fmt: skip
    assert run.saturated == ()
    found = run.assessments
    stored = reads.latest_assessments(store, run_id=run.run_id)
    assert stored.height == found.height and stored["profile_version"].is_not_null().all()
    reefers = items.filter(pl.col("container_size_type").str.slice(2, 1) == "R")
    hit = found.filter(pl.col("consignment_id").is_in(reefers["consignment_id"].implode()))
    assert hit.height > 0 and hit["explained"].any()
    # The profile's weight multiplies the model's odds by e² (other hits only add to it).
    odds = (hit["probability"] / (1 - hit["probability"])) / (
        hit["model_probability"] / (1 - hit["model_probability"]))  # fmt: skip
    assert (odds >= math.exp(2.0) * 0.999).all()
    assert (odds - math.exp(2.0)).abs().min() < 1e-6
    others = found.filter(~pl.col("consignment_id").is_in(reefers["consignment_id"].implode()))
    assert (others["probability"] >= others["model_probability"]).all()
    reasons = explain.from_json(hit.filter("explained")["reasons"][0])
    assert any(r.code == "profile:TEST-REEFERS" and r.text.startswith("reefer loaded at")
               for r in reasons)  # fmt: skip
    listed = found.filter(pl.col("consignment_id") == target["consignment_id"]).row(0, named=True)
    assert listed["lane_floor"] == "red" and listed["critical"]
    assert any(r.code == "screening:TEST" for r in explain.from_json(listed["reasons"]))
    store.close()


def store_party_phone(store: Store, party_key: str) -> str:
    with store.reading() as conn:
        phone = conn.execute(
            select(tables.parties.c.phone).where(tables.parties.c.party_key == party_key)
        ).scalar_one()
    assert phone
    return str(phone)


@pytest.mark.parametrize(
    "reasons",
    [
        [],
        [explain.Reason("model:value_z", "value per kg 8× below the HS 0803.90 median", 0.7,
                        explain.Source.MODEL)],
        [explain.Reason("profile:X", 'quotes " and \\ backslash, tab\t, é €', 1e-300,
                        explain.Source.PROFILE),
         explain.Reason("graph:y", "line\nbreak \x00 \u2028", 123456789.125, explain.Source.GRAPH),
         explain.Reason("anomaly:z", "", 2.0, explain.Source.ANOMALY)],
        # Not a plain float: written by json.dumps itself.
        [explain.Reason("screening:T", "int weight", 3, explain.Source.SCREENING)],
    ],
)  # fmt: skip
def test_stored_reasons_are_exactly_what_json_dumps_writes(reasons: list[explain.Reason]) -> None:
    text = explain.to_json(reasons)
    assert text == json.dumps([r.to_json() for r in reasons], ensure_ascii=False, allow_nan=False)
    assert explain.from_json(text) == [
        dataclasses.replace(r, weight=float(r.weight)) for r in reasons
    ]


def test_templates_read_each_row_as_to_dicts_gives_it() -> None:
    """The explainer hands templates lazy rows: same values, same missing keys as plain dicts."""
    features = pl.DataFrame(
        {
            "a": [1.5, None, float("nan")],
            "b": ["x", None, "z"],
            "c": [True, False, None],
            "t": [datetime(2026, 1, 1, tzinfo=UTC), None, datetime(2026, 1, 3, tzinfo=UTC)],
        }
    )
    seen: list[tuple[dict[str, object], object, object]] = []

    def record(feature: str, row: object, contribution: float) -> str:
        assert isinstance(row, Mapping)
        seen.append((dict(row), row.get("absent", "default"), row.get(feature)))
        with pytest.raises(KeyError):
            row["absent"]
        return f"{feature} {len(seen)}"

    templates = Templates()
    templates.add("*", record, handles_missing=True)
    contributions = np.array([[0.1, 0.2, 0.0, 0.0, 0.0], [0.0, 0.0, 0.3, 0.0, 0.0],
                              [0.0, 0.0, 0.0, 0.4, 0.0]])  # fmt: skip
    explain.model_reasons(contributions, features, top=2, templates=templates)
    dicts = features.to_dicts()
    want = [(0, "b"), (0, "a"), (1, "c"), (2, "t")]
    assert len(seen) == len(want)
    for (row, default, value), (i, feature) in zip(seen, want, strict=True):
        assert str(row) == str(dicts[i])  # str: NaN is not equal to itself
        assert default == "default" and str(value) == str(dicts[i][feature])


def test_assessments_record_the_reference_version_in_use(
    world: tuple[Store, Path], tmp_path: Path
) -> None:
    """Each assessment stores the reference data version it was made with; a site tariff file
    (which changes duty exposure) gives the next run another version."""
    store, _ = world
    model = trained(world)
    keys = (
        reads.goods_item_rows(store).filter(pl.col("lodged_at") >= UNTIL)
        .select("consignment_id", "version").unique().sort("consignment_id").head(4)
    )  # fmt: skip
    now = datetime(2026, 12, 3, tzinfo=UTC)
    shipped = reference.use(None).version
    first = engine.score_store(store, model, now=now, keys=keys, rescore=True)
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "tariff.csv").write_text("hs6,duty_pct,description\n080390,30,Bananas\n")
    with_site = reference.use(folder).version
    second = engine.score_store(store, model, now=now, keys=keys, rescore=True)
    a = tables.assessments
    with store.reading() as conn:
        found = conn.execute(select(a.c.run_id, a.c.reference_version)
                             .where(a.c.run_id.in_([first.run_id, second.run_id]))).all()  # fmt: skip
    assert first.assessed == second.assessed == 4
    assert sorted(set(found)) == sorted({(first.run_id, shipped), (second.run_id, with_site)})
    assert with_site != shipped


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_a_period_scores_the_same_from_the_kept_state_and_from_history(
    world: tuple[Store, Path], share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A period run reads the entity histories from the kept state or recomputes them from the
    whole history (``engine.STATE_READ_MAX_SHARE``): the assessments are the same."""
    store, _ = world
    model = trained(world)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    columns = [
        "consignment_id",
        "version",
        "probability",
        "score",
        "lane_floor",
        "referral",
        "reasons",
    ]

    def scored(max_share: float) -> pl.DataFrame:
        monkeypatch.setattr(engine, "STATE_READ_MAX_SHARE", max_share)
        run = engine.score_store(store, model, now=now, since=UNTIL, rescore=True,
                                 explain_rows=engine.Explain.ALL)  # fmt: skip
        return run.assessments.select(columns).sort("consignment_id", "version")

    # One order each way round: neither run may depend on what the other stored.
    first, second = (scored(share), scored(1.0 - share))
    assert first.height > 0
    assert_frame_equal(first, second)
