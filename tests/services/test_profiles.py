"""The risk profile services on SQLite and PostgreSQL: validate, try, load, list, activate, retire.

The starter profiles (wildlife, counterfeits) are the files an analyst would begin with; the
traffic they are tried on (four days of 300 consignments with raised wildlife and counterfeit
rates, and the legacy controls' outcomes) is generated once per module.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import select

from quaywatch.errors import InputError, NotFoundError, RecordError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.services.profiles import (
    activate_profile,
    list_profiles,
    load_profiles,
    retire_profile,
    trial_profiles,
    validate_profiles,
)
from quaywatch.store import tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.patterns import PatternRates

STARTER = Path(str(resources.files("quaywatch.risk.profiles") / "starter"))
WILDLIFE, COUNTERFEITS = STARTER / "wildlife.yaml", STARTER / "counterfeits.yaml"
SINCE = datetime(2026, 10, 3, tzinfo=UTC)
BAD = "id: BAD\nversion: 1\ndescription: x\nowner: y\ncondition: reefer and\naction: {weight: 1}\n"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    rates = PatternRates(cocaine=0.02, wildlife=0.03, counterfeit=0.03, displacement_week=None)
    return traffic.generate(tmp_path_factory.mktemp("profile-services"), days=4, per_day=300,
                            seed=21, rates=rates, with_events=False)  # fmt: skip


def _audit(store: Store) -> list[tuple[str, str, str]]:
    a = tables.audit_events
    query = select(a.c.action, a.c.object_id, a.c.actor).order_by(a.c.seq)
    with store.reading() as conn:
        return [tuple(r) for r in conn.execute(query).all()]


def test_validate_gives_each_file_its_profile_or_its_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    result = validate_profiles([WILDLIFE, bad, tmp_path / "missing.yaml"])
    assert result.failed == 2 and [c.ok for c in result.files] == [True, False, False]
    good, wrong, missing = result.files
    assert (good.file, good.profile_id, good.version) == (str(WILDLIFE), "STARTER-WILDLIFE", 1)
    assert good.description and good.error is None
    assert (wrong.location, wrong.field) == ("line 5", "condition")
    assert wrong.error and wrong.error.startswith(f"{bad}: line 5, record BAD, field condition")
    assert missing.error and "cannot read the profile" in missing.error
    assert validate_profiles([COUNTERFEITS]).failed == 0
    with pytest.raises(InputError, match="paths must name at least one profile file"):
        validate_profiles([])


def test_load_list_activate_and_retire(store: Store, tmp_path: Path) -> None:
    loaded = load_profiles(store, [WILDLIFE, COUNTERFEITS], actor="analyst")
    assert [(p.profile_id, p.version, p.new, p.status) for p in loaded] == [
        ("STARTER-WILDLIFE", 1, True, "draft"), ("STARTER-COUNTERFEIT", 1, True, "draft"),
    ]  # fmt: skip
    again = load_profiles(store, [WILDLIFE], actor="analyst")
    assert [(p.new, p.status) for p in again] == [(False, "draft")]
    listed = {(p.profile_id, p.version): p for p in list_profiles(store)}
    assert set(listed) == {("STARTER-WILDLIFE", 1), ("STARTER-COUNTERFEIT", 1)}
    wildlife = listed[("STARTER-WILDLIFE", 1)]
    assert (wildlife.status, wildlife.changed_by, wildlife.source) == (
        "draft", "analyst", str(WILDLIFE)
    )  # fmt: skip
    assert wildlife.valid_from == datetime(2026, 1, 1, tzinfo=UTC) and wildlife.valid_to is None

    changed = tmp_path / "changed.yaml"
    changed.write_text(WILDLIFE.read_text("utf-8").replace("weight: 6.0", "weight: 5.0"), "utf-8")
    with pytest.raises(RecordError, match="already stored with other content"):
        load_profiles(store, [changed], actor="analyst")
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD.replace("BAD", "NEW"), encoding="utf-8")
    fine = tmp_path / "fine.yaml"
    fine.write_text(WILDLIFE.read_text("utf-8").replace("STARTER-WILDLIFE", "OTHER"), "utf-8")
    with pytest.raises(RecordError, match="line 5"):
        load_profiles(store, [fine, bad], actor="analyst")  # all or none
    assert len(list_profiles(store)) == 2

    done = activate_profile(store, "STARTER-WILDLIFE", actor="chief")
    assert (done.profile_id, done.versions, done.status) == ("STARTER-WILDLIFE", (1,), "active")
    assert activate_profile(store, "STARTER-WILDLIFE", version=1, actor="chief") == done
    statuses = {p.profile_id: (p.status, p.changed_by) for p in list_profiles(store)}
    assert statuses == {"STARTER-WILDLIFE": ("active", "chief"),
                        "STARTER-COUNTERFEIT": ("draft", "analyst")}  # fmt: skip
    retired = retire_profile(store, "STARTER-WILDLIFE", actor="chief")
    assert (retired.versions, retired.status) == ((1,), "retired")
    assert _audit(store) == [
        ("profile_load", "STARTER-WILDLIFE@1", "analyst"),
        ("profile_load", "STARTER-COUNTERFEIT@1", "analyst"),
        ("profile_activate", "STARTER-WILDLIFE@1", "chief"),
        ("profile_retire", "STARTER-WILDLIFE@1", "chief"),
    ]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: activate_profile(s, "NOPE", actor="t"), NotFoundError, "no risk profile 'NOPE'"),
        (lambda s: activate_profile(s, "STARTER-WILDLIFE", version=7, actor="t"), NotFoundError,
         "STARTER-WILDLIFE has no version 7; loaded: 1"),
        (lambda s: activate_profile(s, "STARTER-WILDLIFE", version=0, actor="t"), InputError,
         "version must be 1 or more, got 0"),
        (lambda s: retire_profile(s, "STARTER-WILDLIFE", actor="t"), NotFoundError,
         "has no active version to retire"),
        (lambda s: load_profiles(s, [], actor="t"), InputError, "paths must name at least one"),
    ],
)  # fmt: skip
def test_status_changes_refuse_what_does_not_exist(
    store: Store, call: object, error: type[Exception], message: str
) -> None:
    load_profiles(store, [WILDLIFE], actor="analyst")
    before = _audit(store)
    with pytest.raises(error, match=message):
        call(store)  # type: ignore[operator]
    assert _audit(store) == before


def test_trial_on_stored_traffic(store: Store, made: traffic.Traffic, tmp_path: Path) -> None:
    for path in [*made.consignment_files, *sorted((made.out / "outcomes").glob("*.csv"))]:
        ingest_file(store, path)
    result = trial_profiles(store, [WILDLIFE, COUNTERFEITS], since=SINCE,
                            model_dir=tmp_path / "no-model", examples=2)  # fmt: skip
    assert (result.since, result.until, result.consignments) == (SINCE, None, 600)
    assert "value reference fitted on" in result.reference_note
    assert "--" not in result.reference_note
    assert [r.profile_id for r in result.profiles] == ["STARTER-COUNTERFEIT", "STARTER-WILDLIFE"]
    for row in result.profiles:
        assert row.consignments == 600 and 0 < row.hits < 600
        assert row.traffic_share == pytest.approx(row.hits / 600)
        assert row.found <= row.controlled_hits <= row.hits
        if row.controlled_hits:
            assert row.hit_rate == pytest.approx(row.found / row.controlled_hits)
        assert row.overall_hit_rate is not None and 0 <= row.overall_hit_rate <= 1
    shown = [(e.profile_id, bool(e.reason)) for e in result.examples]
    assert shown == [("STARTER-COUNTERFEIT", True)] * 2 + [("STARTER-WILDLIFE", True)] * 2
    assert not list_profiles(store)  # trying stores nothing

    naive = trial_profiles(store, [WILDLIFE], since=datetime(2026, 10, 3),
                           until=datetime(2026, 10, 4), examples=0)  # fmt: skip
    assert naive.until == datetime(2026, 10, 4, tzinfo=UTC) and naive.consignments == 300
    assert naive.examples == ()
    with pytest.raises(InputError, match="no consignment lodged from 2030-01-01"):
        trial_profiles(store, [WILDLIFE], since=datetime(2030, 1, 1, tzinfo=UTC))
    with pytest.raises(InputError, match=r"until \(2026-10-02 00:00\) must come after since"):
        trial_profiles(store, [WILDLIFE], since=SINCE, until=datetime(2026, 10, 2, tzinfo=UTC))
    with pytest.raises(InputError, match="examples must be 0 or more, got -1"):
        trial_profiles(store, [WILDLIFE], since=SINCE, examples=-1)


def test_trial_names_the_profiles_in_force_that_hit_the_same(
    store: Store, made: traffic.Traffic, tmp_path: Path
) -> None:
    for path in made.consignment_files:
        ingest_file(store, path)
    load_profiles(store, [WILDLIFE, COUNTERFEITS], actor="analyst")
    activate_profile(store, "STARTER-WILDLIFE", actor="analyst")
    copy = tmp_path / "copy.yaml"
    text = WILDLIFE.read_text(encoding="utf-8").replace("STARTER-WILDLIFE", "MY-WILDLIFE")
    copy.write_text(text, encoding="utf-8")
    result = trial_profiles(store, [copy, WILDLIFE, COUNTERFEITS], since=SINCE, examples=0)
    rows = {r.profile_id: r for r in result.profiles}
    mine = rows["MY-WILDLIFE"]
    assert mine.hits > 0 and mine.already_hit == mine.hits
    assert [(o.profile_id, o.shared) for o in mine.overlaps] == [("STARTER-WILDLIFE", mine.hits)]
    # A tried profile is not compared with its own version in force, nor with a draft.
    assert rows["STARTER-WILDLIFE"].overlaps == () and rows["STARTER-WILDLIFE"].already_hit == 0
    counterfeit = rows["STARTER-COUNTERFEIT"]
    assert counterfeit.already_hit == sum(o.shared for o in counterfeit.overlaps)
    assert all(o.profile_id == "STARTER-WILDLIFE" for o in counterfeit.overlaps)
