"""The capacity file: the shipped one loads, mistakes are reported with file, line and field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from quaywatch.errors import RecordError
from quaywatch.selection import capacity

SHIPPED = (Path(capacity.__file__).parent / "capacity.yaml").read_text(encoding="utf-8")


def test_shipped_file_loads_with_per_hour_resources_scaled_by_shift_length() -> None:
    c = capacity.load()
    assert c.terminals == ("MPET", "DPWAG", "PSANZ", "PSAEU")
    assert [s.name for s in c.shifts] == ["early", "late", "night"]
    scanner = c.resources.index("scanner_slots")
    assert c.amount[0, 0, scanner] == 8 * 8  # 8 slots an hour over an 8-hour shift
    assert list(c.detection) == sorted(c.detection)
    assert c.policy.random_control == "scan"


def test_assign_uses_carrier_terminal_default_and_the_local_shift() -> None:
    c = capacity.load()
    frame = pl.DataFrame(
        {
            "carrier_scac": ["MSCU", "ZZZZ", "MAEU"],
            # 01:30 UTC = 02:30 Brussels (winter): the night shift that began 22:00 the day before
            "eta": [datetime(2026, 11, 2, 1, 30, tzinfo=UTC), datetime(2026, 11, 2, 5, tzinfo=UTC),
                    datetime(2026, 7, 1, 12, 0, tzinfo=UTC)],
        }
    )  # fmt: skip
    got = c.assign(frame)
    assert got["terminal"].to_list() == ["MPET", "PSANZ", "PSAEU"]
    assert got["shift"].to_list() == ["night", "early", "late"]
    assert got["shift_start"].to_list() == [
        datetime(2026, 11, 1, 21, tzinfo=UTC),
        datetime(2026, 11, 2, 5, tzinfo=UTC),
        datetime(2026, 7, 1, 12, tzinfo=UTC),  # 14:00 summer time
    ]


@pytest.mark.parametrize(
    ("old", "new", "at", "field", "reason"),
    [
        ("officer_hours: 48,", "officer_hours: -1,", "early: {scanner_slots: 8, officer_hours: 48", "terminals.MPET.capacity.early.officer_hours", "number"),
        ("detection_rate: 0.70", "detection_rate: 0.20", "detection_rate: 0.70", "controls.scan.detection_rate", "must exceed"),
        ("{name: late, start: 14, end: 22}", "{name: late, start: 14, end: 21}", "{name: early", "shifts", "21:00"),
        ("  MSCU: MPET", "  MSCU: NOWHERE", "MSCU: MPET", "carriers.MSCU", "not one of"),
        ("uses: {officer_hours: 3}", "uses: {officer_minutes: 3}", "officer_hours: 3}", "controls.physical.uses.officer_minutes", "not a declared resource"),
        ("  aeo_factor: 0.5", "  aeo_factor: 1.5", "aeo_factor: 0.5", "policy.aeo_factor", "0 to 1"),
        ("      night: {scanner_slots: 4, officer_hours: 16, documentary_slots: 30}\n", "", "early: {scanner_slots: 8, officer_hours: 48", "terminals.MPET.capacity.night", "missing"),
    ],
)  # fmt: skip
def test_mistakes_name_file_line_and_field(
    tmp_path: Path, old: str, new: str, at: str, field: str, reason: str
) -> None:
    assert SHIPPED.count(old) == 1
    line = next(n for n, text in enumerate(SHIPPED.splitlines(), 1) if at in text)
    path = tmp_path / "cap.yaml"
    path.write_text(SHIPPED.replace(old, new), encoding="utf-8")
    with pytest.raises(RecordError) as caught:
        capacity.load(path)
    err = caught.value
    assert (err.source, err.location, err.field) == (str(path), f"line {line}", field)
    assert reason in err.reason


def test_broken_yaml_and_missing_file_are_record_errors(tmp_path: Path) -> None:
    path = tmp_path / "cap.yaml"
    path.write_text("resources: [unclosed\n", encoding="utf-8")
    with pytest.raises(RecordError, match="line 2"):
        capacity.load(path)
    with pytest.raises(RecordError, match="cannot read"):
        capacity.load(tmp_path / "absent.yaml")


_values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 500), st.floats(allow_nan=True),
    st.text(max_size=8), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)  # fmt: skip


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


DOC = yaml.safe_load(SHIPPED)
PATHS = _paths(DOC)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(PATHS), _values)
def test_any_edit_loads_or_is_a_record_error(path: tuple[object, ...], value: object) -> None:
    doc = yaml.safe_load(SHIPPED)
    node = doc
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]
    try:
        loaded = capacity.loads(yaml.safe_dump(doc), "edited.yaml")
    except RecordError as err:
        assert err.source == "edited.yaml" and err.location and err.location.startswith("line ")
    else:
        assert (loaded.amount >= 0).all() and loaded.use.any(axis=1).all()


def test_a_night_shift_keeps_one_start_when_the_clocks_change() -> None:
    """Europe/Brussels: 30 March and 26 October 2025; the night shift starts at 22:00 local."""
    shipped = capacity.load()
    etas = [datetime(2025, 3, 30, 0, 30, tzinfo=UTC), datetime(2025, 3, 30, 2, 30, tzinfo=UTC),
            datetime(2025, 10, 26, 0, 30, tzinfo=UTC), datetime(2025, 10, 26, 3, 30, tzinfo=UTC)]  # fmt: skip
    frame = pl.DataFrame({"carrier_scac": ["MAEU"] * 4, "eta": etas})
    starts = shipped.assign(frame)["shift_start"].to_list()
    assert starts[0] == starts[1] == datetime(2025, 3, 29, 21, tzinfo=UTC)  # 22:00 CET
    assert starts[2] == starts[3] == datetime(2025, 10, 25, 20, tzinfo=UTC)  # 22:00 CEST
