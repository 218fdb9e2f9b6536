"""services.demo on both backends: the engine end to end, generated traffic, and the errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from quaywatch.errors import InputError
from quaywatch.services import demo
from quaywatch.services.intake import store_counts
from quaywatch.store.store import Store


@pytest.mark.slow
def test_demo_trains_assesses_selects_and_measures(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = demo.run_demo(store, out=out, count=1_000, seed=7, capacity_pct=3.0, actor="demo")
    assert result.out == out and result.days == demo.DEMO_DAYS
    consignments = next(t for t in result.import_totals if t.kind == "consignments")
    assert (consignments.files, consignments.read) == (demo.DEMO_DAYS, 6_000)
    assert consignments.new + consignments.quarantined == 6_000 and consignments.quarantined
    assert result.model_folder.parent == out / "models" and result.model_folder.is_dir()
    assert result.model_metrics["hits"] >= 20
    assert len(result.profiles) == 6 and all(p.startswith("STARTER-") for p in result.profiles)
    day = result.assessed_day.strftime("%y%m%d")
    assert result.assessed == next(
        s.new for s in result.imports if Path(s.source).stem == str(result.assessed_day)
    )
    c = result.selection_counts
    assert c["candidates"] == result.assessed and 0 < c["selected"] < result.assessed
    assert c["selected"] >= result.assessed * 0.03  # the capacity is sized to the share

    rows = result.worklist
    assert len(rows) == demo.WORKLIST_ROWS and all(r.consignment_id.startswith(day) for r in rows)
    assert [r.score for r in rows] == sorted((r.score for r in rows), reverse=True)
    assert all(r.lane in ("green", "yellow", "orange", "red", "blue") for r in rows)
    assert all(r.reasons for r in rows)  # the top of the worklist is explained
    assert all(r.control_type and r.selected_by != "NONE" for r in rows)  # only selected ones

    names = [r.name for r in result.evaluation.results]
    assert names == ["random", "model", "combined", "oracle"]
    assert result.evaluation.rows == result.assessed
    model_auc = result.evaluation.result("model").auc
    assert model_auc is not None and model_auc > 0.6  # better than chance on the day's truth
    assert result.audit.events == result.store_counts["audit_events"]
    assert result.account == ("demo", "demo-password-not-for-production")
    assert result.store_counts == store_counts(store)


def test_demo_arguments_are_checked(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="count must be at least 1"):
        demo.run_demo(store, out=tmp_path / "a", count=0, actor="demo")
    with pytest.raises(InputError, match="capacity_pct must be above 0"):
        demo.run_demo(store, out=tmp_path / "a", capacity_pct=0, actor="demo")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(InputError, match="out .* exists and is not an empty folder"):
        demo.run_demo(store, out=tmp_path / "full", actor="demo")
    assert store_counts(store)["import_batches"] == 0


def test_demo_with_too_little_history_says_what_to_change(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"too little history for a model .* \(count"):
        demo.run_demo(store, out=tmp_path / "small", count=60, actor="demo")


def test_generate_traffic(tmp_path: Path) -> None:
    made = demo.generate_traffic(tmp_path / "t", days=2, per_day=30, seed=3, start="2026-11-01")
    assert made.consignments == 60 and len(made.consignment_files) == 2
    assert made.consignment_files[0].name == "2026-11-01.csv" and made.truth.is_file()
    with pytest.raises(InputError, match="start '2026-13-01' is not a date"):
        demo.generate_traffic(tmp_path / "u", start="2026-13-01")
