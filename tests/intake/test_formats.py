"""Format detection (``intake.formats``) and the ``{"events": [...]}`` container
(``jsonarray.object_items``): what a file is taken for, from its content alone."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from quaywatch.errors import InputError
from quaywatch.intake import decode, formats, jsonarray
from quaywatch.intake.formats import Container
from quaywatch.intake.pipeline import ingest_file
from quaywatch.intake.records import RecordKind
from quaywatch.store.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples"
EVENT_V3 = {"eventID": "e1", "eventClassification": {"eventTypeCode": "EQUIPMENT"}}
EVENT_V2 = {"eventID": "e1", "eventType": "EQUIPMENT"}
CONSIGNMENT = {"consignment_id": "c1", "version": 1}


@pytest.mark.parametrize(
    ("name", "text", "container", "fmt", "kind"),
    [
        ("a.json", json.dumps({"events": [EVENT_V3]}, indent=2), Container.JSON_KEY, "dcsa-tnt-3",
         RecordKind.EVENTS),
        ("a.json", json.dumps({"events": [EVENT_V3]}), Container.JSON_KEY, "dcsa-tnt-3",
         RecordKind.EVENTS),
        ("a.json", json.dumps({"events": [EVENT_V2]}, indent=1), Container.JSON_KEY,
         "dcsa-tnt-2.2", RecordKind.EVENTS),
        ("a.json", json.dumps([EVENT_V3], indent=2), Container.JSON_ARRAY, "dcsa-tnt-3",
         RecordKind.EVENTS),
        ("a.jsonl", json.dumps(EVENT_V3) + "\n" + json.dumps(EVENT_V3) + "\n",
         Container.JSON_LINES, "dcsa-tnt-3", RecordKind.EVENTS),
        ("a.json", json.dumps(EVENT_V3, indent=2), Container.JSON_DOCUMENT, "dcsa-tnt-3",
         RecordKind.EVENTS),
        ("a.json", json.dumps(EVENT_V2) + "\n", Container.JSON_LINES, "dcsa-tnt-2.2",
         RecordKind.EVENTS),
        ("a.json", json.dumps(CONSIGNMENT, indent=2), Container.JSON_DOCUMENT, "quaywatch-json",
         RecordKind.CONSIGNMENTS),
        ("a.jsonl", "not json\n" + json.dumps({"control_id": "x"}) + "\n", Container.JSON_LINES,
         "quaywatch-json", RecordKind.OUTCOMES),
        ("a.jsonl", "[1, 2]\n", Container.JSON_LINES, "quaywatch-json", RecordKind.CONSIGNMENTS),
        ("a.csv", "consignment_id,version\n", Container.CSV, "quaywatch-csv",
         RecordKind.CONSIGNMENTS),
    ],
)  # fmt: skip
def test_a_file_is_taken_for_what_its_content_shows(
    tmp_path: Path, name: str, text: str, container: Container, fmt: str, kind: RecordKind
) -> None:
    path = tmp_path / name
    path.write_text(text)
    found = formats.detect(path)
    assert (found.container, found.format.name, found.kind) == (container, fmt, kind)


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        (json.dumps([{"someEvents": []}]), "someEvents in item 1"),
        (json.dumps({"data": [EVENT_V3]}, indent=2), "data in the object"),
        (json.dumps({"b": 1, "a": 2}) + "\n", "a, b in line 1"),
    ],
)
def test_an_unknown_structure_is_refused_naming_its_keys(
    tmp_path: Path, text: str, keys: str
) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(InputError, match=f"not a recognised format: found keys {keys};"):
        formats.detect(path)
    # with the kind named (an API submission), each record is read and judged on its own
    assert formats.detect(path, kind=RecordKind.EVENTS).format.name == "dcsa-tnt-2.2"


def test_a_named_format_must_fit_the_kind(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps([EVENT_V3]))
    with pytest.raises(InputError, match="format dcsa-tnt-3 holds events, not consignments"):
        formats.detect(path, name="dcsa-tnt-3", kind=RecordKind.CONSIGNMENTS)
    assert formats.detect(path, name="dcsa-tnt-2.2").format.name == "dcsa-tnt-2.2"
    # quaywatch's own formats hold consignments or outcomes, never carrier documents
    with pytest.raises(InputError, match="format quaywatch-json holds consignments or outcomes, "
                       "not documents"):  # fmt: skip
        formats.detect(path, name="quaywatch-json", kind=RecordKind.DOCUMENTS)


def test_a_pretty_printed_consignment_is_one_record(store: Store) -> None:
    summary = ingest_file(store, EXAMPLES / "consignment.json")
    assert (summary.read, summary.new, summary.quarantined) == (1, 1, 0)


RECORDS = st.lists(
    st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=8)), max_size=3),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(
    items=RECORDS,
    before=st.dictionaries(st.sampled_from(["a", "feedbackElements", "z"]), RECORDS, max_size=2),
    after=st.dictionaries(st.sampled_from(["b", "y"]), st.text(max_size=5), max_size=2),
    indent=st.sampled_from([None, 0, 2]),
    block=st.sampled_from([1, 3, 64]),
)
def test_the_items_under_a_key_are_read_whatever_surrounds_them(
    items: list[dict[str, object]],
    before: dict[str, object],
    after: dict[str, object],
    indent: int | None,
    block: int,
) -> None:
    data = json.dumps({**before, "events": items, **after}, indent=indent).encode()
    with pytest.MonkeyPatch.context() as patch:  # small blocks: items straddle reads
        patch.setattr(jsonarray, "_BLOCK", block)
        got = list(jsonarray.object_items(io.BytesIO(data), "events", decode.Limits(), "s"))
    assert [json.loads(piece.data) for piece, _ in got] == items
    assert [piece.number for piece, _ in got] == list(range(1, len(items) + 1))
    keys = jsonarray.object_keys(io.BytesIO(data), decode.Limits(), "s")
    assert keys == [*before, "events", *after]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'{"events": 5}', "'events' holds no array of records"),
        (b'{"other": []}', "the object has no 'events' array"),
        (b'{"events": [], "events": []}', "key 'events' appears twice in the object"),
        (b'{"events": [{"a": 1}', "after item 1: expected ',' or ']' at byte offset 20"),
        (b'{"events": []} x', "text after the end of the array"),
    ],
)
def test_a_broken_wrapper_refuses_the_file(text: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        list(jsonarray.object_items(io.BytesIO(text), "events", decode.Limits(), "s"))


def test_a_wrapper_key_without_an_array_is_no_wrapper(tmp_path: Path) -> None:
    # review finding: a multi-line object whose "events" is not an array was taken for
    # {"events": [...]} and the whole file refused for its wrapper
    path = tmp_path / "x.json"
    path.write_text('{\n  "events": "none",\n  "someKey": 1\n}\n')
    with pytest.raises(InputError, match="not a recognised format: found keys events, someKey"):
        formats.detect(path)
