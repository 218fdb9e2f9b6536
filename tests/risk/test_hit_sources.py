"""The hit-source interface (risk.hit_sources): what the engine makes of a source's hits, the
contract it holds sources to, and reasons that carry evidence ids through their JSON."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given, strategies as st

from quaywatch.errors import InputError, Said
from quaywatch.risk import combine, hit_sources, hits
from quaywatch.risk.explain import Reason, Source, from_json, to_json
from quaywatch.risk.hit_sources import Hit, HitCode

AT = datetime(2026, 12, 1, tzinfo=UTC)
CODE = HitCode("document:test", 0.8, "bill {document} lists {filed}", lane="yellow")


@dataclass
class Listed:
    """A source that reports what it is given, whatever the batch."""

    found: list[Hit]
    codes: dict[str, HitCode] = field(default_factory=lambda: {CODE.code: CODE})
    name: Source = Source.DOCUMENT
    asked: list[pl.DataFrame] = field(default_factory=list)

    def hits(self, consignments: pl.DataFrame) -> Iterable[Hit]:
        self.asked.append(consignments)
        return self.found

    def stale(self, consignment_ids: Collection[str] | None) -> pl.DataFrame:
        return pl.DataFrame({"consignment_id": ["C1"], "version": [1]})


def _batch(*ids: str) -> pl.DataFrame:
    return hit_sources.consignments_of(
        pl.DataFrame({"consignment_id": list(ids), "version": [1] * len(ids),
                      "lodged_at": [AT] * len(ids)}),
        pl.lit(AT),
    )  # fmt: skip


def test_hits_get_their_codes_weight_lane_sentence_and_evidence() -> None:
    source = Listed([
        Hit("C1", 1, CODE.code, {"document": "B1", "filed": "X"}, ("doc-1",)),
        Hit("C1", 1, CODE.code, {"document": "B1", "filed": "Y"}, strength=0.5),
        Hit("C9", 1, CODE.code, {"document": "B9", "filed": "Z"}),  # not asked about: dropped
    ])  # fmt: skip
    found = hit_sources.collect([source], _batch("C1", "C2"))
    assert found.schema == hits.SCHEMA
    said = '{"id": "bill %(document)s lists %(filed)s", "args": {"document": "B1", "filed": "%s"}}'
    assert found.rows() == [
        ("C1", 1, "document:test", "bill B1 lists X", 0.8, "document", "yellow", None, ["doc-1"],
         said.replace('"%s"', '"X"')),
        ("C1", 1, "document:test", "bill B1 lists Y", 0.4, "document", "yellow", None, None,
         said.replace('"%s"', '"Y"')),
    ]  # fmt: skip
    assert source.asked[0].columns == list(hit_sources.CONSIGNMENTS)
    # combined as any hit: the code counts once, at its heaviest; its reason keeps the evidence
    keys = pl.DataFrame({"consignment_id": ["C1", "C2"], "version": [1, 1]})
    summary = combine.combine(keys.with_columns(pl.lit(0.1).alias("probability")), found)
    assert summary.get_column("added").to_list() == [0.8, 0.0]
    assert summary.get_column("lane_floor").to_list() == ["yellow", None]
    [first, second], [] = combine.hit_reasons(keys, found)
    assert (first.text, first.evidence, second.evidence) == ("bill B1 lists X", ("doc-1",), ())
    # the sentence keeps its message: a page translates the template and fills it the same way
    assert (
        isinstance(first.text, Said) and first.text.template == "bill %(document)s lists %(filed)s"
    )
    assert dict(first.text.params) == {"document": "B1", "filed": "X"}
    assert hit_sources.stale([source, Listed([])], None).rows() == [("C1", 1)]


@pytest.mark.parametrize(
    ("hit", "codes", "message"),
    [
        (Hit("C1", 1, "document:other"), {CODE.code: CODE}, "not declared"),
        (Hit("C1", 1, CODE.code, {"document": "B1"}), {CODE.code: CODE}, "needs 'filed'"),
        (Hit("C1", 1, CODE.code, {"document": "B", "filed": "X"}, strength=0.0),
         {CODE.code: CODE}, "strength"),
        (Hit("C1", 1, "profile:x"), {"profile:x": HitCode("profile:x", 1.0, "x")},
         "must start with 'document:'"),
    ],
)  # fmt: skip
def test_a_source_breaking_its_contract_is_named(
    hit: Hit, codes: dict[str, HitCode], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        hit_sources.collect([Listed([hit], codes)], _batch("C1"))


def test_two_sources_of_one_name_are_refused_and_bad_codes_cannot_be_declared() -> None:
    with pytest.raises(ValueError, match="distinct names"):
        hit_sources.collect([Listed([]), Listed([])], _batch("C1"))
    with pytest.raises(ValueError, match="unknown lane"):
        HitCode("document:x", 1.0, "x", lane="purple")
    with pytest.raises(ValueError, match="finite"):
        HitCode("document:x", float("nan"), "x")


_text = st.text(max_size=20)
_reason = st.builds(
    Reason, _text, _text, st.floats(-50, 50, allow_nan=False), st.sampled_from(list(Source)),
    st.lists(_text, max_size=3).map(tuple),
)  # fmt: skip


@given(st.lists(_reason, max_size=4))
def test_reasons_with_and_without_evidence_round_trip_through_their_json(
    reasons: list[Reason],
) -> None:
    text = to_json(reasons)
    assert text == json.dumps([r.to_json() for r in reasons], ensure_ascii=False)
    assert from_json(text) == reasons
    # a reason without evidence is stored exactly as before evidence existed
    for stored, reason in zip(json.loads(text), reasons, strict=True):
        assert ("evidence" in stored) == bool(reason.evidence)


@pytest.mark.parametrize("evidence", ["doc-1", [1], None])
def test_evidence_that_is_not_a_list_of_ids_is_refused(evidence: object) -> None:
    data = {"code": "document:x", "text": "t", "weight": 1.0, "source": "document",
            "evidence": evidence}  # fmt: skip
    with pytest.raises(InputError, match="evidence"):
        Reason.from_json(data)


def test_every_document_code_is_documented_with_its_prior_weight() -> None:
    from pathlib import Path

    from quaywatch.risk.document_hits import CODES

    text = (Path(__file__).parents[2] / "docs" / "risk-engine.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line.split("|")[-2].strip()
            for line in text.splitlines() if line.startswith("| `document:")}  # fmt: skip
    assert rows == {c.code: f"{c.weight:g}" for c in CODES.values()}
