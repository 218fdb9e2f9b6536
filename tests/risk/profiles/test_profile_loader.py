"""Profile files: what is accepted, and rejections that name the file, the line and the reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest

from quaywatch.errors import RecordError
from quaywatch.risk.profiles import loader
from quaywatch.risk.profiles.profile import Lane, Referral

Writer = Callable[..., Path]

GOOD = """\
id: TEST-1
version: 2
description: Reefers from a test port
owner: analyst
valid_from: 2026-10-01
valid_to: 2026-10-31
reason: "reefer from {port_of_loading} at {value_ratio:.0%} of usual"
lists:
  ports: {kind: port, values: [ECGYE, COBUN]}
  goods: {kind: hs, values: [080390, 030617]}
condition: |
  reefer
    and port_of_loading in @ports
    and hs6_codes contains @goods
action:
  weight: 1.5
  lane: Orange
  referral: rfs
"""


def test_a_good_profile_is_read_and_compiled(write: Writer) -> None:
    path = write(GOOD)
    p = loader.read(path)
    assert (p.id, p.version, p.owner, p.source) == ("TEST-1", 2, "analyst", str(path))
    assert p.valid_from == datetime(2026, 10, 1, tzinfo=UTC)
    assert p.valid_to == datetime(2026, 11, 1, tzinfo=UTC)  # the whole of the last day
    # Entries are kept as written: 030617 would be an octal number to YAML.
    assert p.lists == {"ports": ("ECGYE", "COBUN"), "goods": ("080390", "030617")}
    assert (p.action.weight, p.action.lane, p.action.referral) == (1.5, Lane.ORANGE, Referral.RFS)
    assert p.fields == {"reefer", "port_of_loading", "hs6_codes", "value_ratio"}
    assert p.body == GOOD and len(p.sha256) == 64
    assert p.code == "profile:TEST-1"


def _replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


@pytest.mark.parametrize(
    ("text", "line", "field", "reason"),
    [
        (_replace("owner: analyst\n", ""), 1, None, "'owner' is missing"),
        (_replace("owner: analyst", "ownr: analyst"), 4, "ownr", "did you mean 'owner'?"),
        (_replace("version: 2", "version: two"), 2, "version", "whole number"),
        (_replace("valid_to: 2026-10-31", "valid_to: 2026-09-01"), 6, "valid_to", "after"),
        (_replace("valid_from: 2026-10-01", "valid_from: soon"), 5, "valid_from", "not a date"),
        (_replace("lane: Orange", "lane: purple"), 17, "action.lane", "'purple' is not one of"),
        (_replace("referral: rfs", "referral: HOLD"), 18, "action.referral", "RFI (request"),
        (_replace("weight: 1.5", "weight: 50"), 16, "action.weight", "between -10 and 10"),
        (_replace("  weight: 1.5\n", ""), 16, "action.weight", "weight (log-odds"),
        (
            _replace("values: [ECGYE, COBUN]", "values: [ECGYE, Cobun]"),
            9,
            "lists.ports.values.1",
            "'Cobun' is not a UN/LOCODE",
        ),
        (
            _replace("kind: hs, values: [080390, 030617]", "kind: hs, values: [0803901]"),
            10,
            "lists.goods.values.0",
            "HS code of 2, 4 or 6 digits",
        ),
        (_replace("kind: port,", "kind: harbour,"), 9, "lists.ports.kind", "kind must be one"),
        (
            _replace("    and port_of_loading in @ports\n", ""),
            9,
            "lists.ports",
            "@ports is not used",
        ),
        (_replace("{port_of_loading}", "{port}"), 7, "reason", "{port}, which is not a field"),
        (
            _replace("    and hs6_codes contains @goods", "    and hs6_codes containz @goods"),
            14,
            "condition",
            "unexpected 'containz'",
        ),
        (
            _replace("    and port_of_loading in @ports", "    and port_of_loadin in @ports"),
            13,
            "condition",
            "unknown field 'port_of_loadin'; did you mean port_of_loading",
        ),
        (_replace("id: TEST-1\n", "id: TEST-1\nid: TEST-2\n"), 2, "id", "'id' is given twice"),
        (_replace("id: TEST-1", "id: 'TEST 1'"), 1, "id", "id must be"),
        ("- just\n- a list\n", 1, None, "one YAML mapping"),
        ("id: [unclosed\n", 2, None, "not valid YAML"),
    ],
)
def test_bad_profiles_are_rejected_with_file_line_and_reason(
    write: Writer, text: str, line: int, field: str | None, reason: str
) -> None:
    path = write(text)
    with pytest.raises(RecordError) as caught:
        loader.read(path)
    error = caught.value
    assert error.source == str(path)
    assert error.location == f"line {line}", error.message
    assert error.field == field
    assert reason in error.reason
    assert error.message.startswith(f"{path}: line {line}")


def test_a_condition_error_names_its_column_and_points_at_it(write: Writer) -> None:
    path = write(_replace("    and hs6_codes contains @goods", "    and hs6_codes contains @good"))
    with pytest.raises(RecordError) as caught:
        loader.read(path)
    message = caught.value.message
    assert "line 14" in message and "record TEST-1" in message
    assert "(condition line 3, column 26)" in message
    pointer = message.splitlines()[-2:]
    assert pointer[0].strip() == "and hs6_codes contains @good"
    assert pointer[1].index("^") - 4 == pointer[0].index("@") - 4


def test_a_one_line_condition_reports_its_own_line(write: Writer) -> None:
    text = _replace(
        "condition: |\n  reefer\n    and port_of_loading in @ports\n    and hs6_codes contains @goods",
        "condition: reefer and port_of_loading in @ports and hs6_codes contains @goods or",
    )
    with pytest.raises(RecordError) as caught:
        loader.read(write(text))
    assert caught.value.location == "line 11"
    assert "(condition column 70)" in caught.value.message
    # As numbers too, in the file: the condition starts after "condition: " (11 characters).
    assert (caught.value.line, caught.value.column) == (11, 11 + 70)


def test_a_condition_block_error_gives_its_file_line_and_column(write: Writer) -> None:
    path = write(_replace("    and hs6_codes contains @goods", "    and hs6_codes contains @good"))
    with pytest.raises(RecordError) as caught:
        loader.read(path)
    line = path.read_text().splitlines()[caught.value.line - 1]
    assert line[caught.value.column - 1 :].startswith("@good")
    assert caught.value.reason == "@good is not a list of this profile (its lists: @goods, @ports)"
    assert caught.value.code == "@%(name)s is not a list of this profile (its lists: %(lists)s)"


def test_every_starter_profile_is_valid() -> None:
    folder = resources.files("quaywatch.risk.profiles") / "starter"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))
    assert names == ["cocaine-routes.yaml", "cold-chain.yaml", "counterfeits.yaml",
                     "misclassification.yaml", "undervaluation.yaml", "wildlife.yaml"]  # fmt: skip
    for name in names:
        p = loader.parse((folder / name).read_text(encoding="utf-8"), name)
        assert p.id.startswith("STARTER-") and p.reason and p.action.weight > 0
