"""Reason sentences that translate: every sentence a model template, a hit source or a polars
``worded`` expression writes is its English template filled with its arguments, the message
survives the stored JSON, and the catalogs translate every template."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from quaywatch.errors import Said
from quaywatch.features.history import FEATURE_KINDS
from quaywatch.risk.explain import Reason, Source, from_json, said_from_json, said_json, to_json
from quaywatch.risk.reasons import TEMPLATES
from quaywatch.risk.wording import chosen, said_template, word, worded, words
from quaywatch.web import i18n

#: Every declared feature with a template, and a history feature of every kind.
DECLARED = [
    "value_z", "value_ratio", "value_z_max", "value_ratio_max", "box_mismatch",
    "duty_exposure_eur", "max_duty_pct", "transshipments", "hubs", "origin_region", "reefer",
    "consignee_aeo", "declarant_aeo", "lodged_hours_before_eta", "origin_differs_from_loading",
    "n_items", "n_containers", "main_chapter", "main_hs6", "value_hs6", "port_of_loading",
    "origin_country", "lane", "total_value_eur", "total_mass_kg", "value_per_kg_eur",
    "a_feature_without_template",
]  # fmt: skip
HISTORY = [f"{prefix}_{kind}" for prefix in ("consignee", "hs6_origin", "odd_prefix")
           for kind in (*FEATURE_KINDS, "revenue_per_control")]  # fmt: skip
CELL = st.one_of(
    st.none(), st.just(float("nan")), st.booleans(),
    st.floats(min_value=-5000, max_value=5000, allow_nan=False),
    st.integers(min_value=-3, max_value=3000), st.sampled_from(["080390", "8471", "", "CN|SG"]),
    st.lists(st.integers(0, 3), max_size=2),  # a JSON column's cell: unhashable
)  # fmt: skip
COLUMNS = ["value_ratio", "value_hs6", "value_z", "value_ratio_max", "value_hs6_max",
           "value_z_max", "box_hs6", "hubs"]  # fmt: skip


def _templates(message: Said) -> list[str]:
    """The template of ``message`` and of every message among its arguments."""
    found = [message.template]
    for value in message.params.values():
        if isinstance(value, Said):
            found += _templates(value)
    return found


def _filled(message: Said) -> str:
    """The English of ``message`` made again from its template and arguments alone."""
    args = {k: _filled(v) if isinstance(v, Said) else v for k, v in message.params.items()}
    return message.template % args if args else message.template


@settings(max_examples=300, deadline=None)
@given(feature=st.sampled_from(DECLARED + HISTORY), own=CELL,
       others=st.fixed_dictionaries({c: CELL for c in COLUMNS}), counts=st.tuples(CELL, CELL))  # fmt: skip
def test_a_model_sentence_is_its_template_filled_and_every_template_is_translated(
    feature: str, own: Any, others: dict[str, Any], counts: tuple[Any, Any]
) -> None:
    prefix = feature.rsplit("_", 1)[0]
    row = {**others, feature: own, f"{prefix}_hits": counts[0], f"{prefix}_controls": counts[1]}
    text = TEMPLATES.text(feature, row, 0.5)
    assert isinstance(text, Said)
    assert _filled(text) == text
    # The batch writer gives the same messages.
    batch = TEMPLATES.texts(feature, lambda name: [row.get(name)])
    assert batch is None or (batch == [text] and _templates(batch[0]) == _templates(text))
    # Stored and read back, the reason keeps its message.
    [back] = from_json(to_json([Reason("model:x", text, 1.0, Source.MODEL)]))
    assert isinstance(back.text, Said) and said_json(back.text) == said_json(text)
    for language in ("nl", "fr"):
        known = _catalog(language)
        for template in _templates(text):
            assert known.get(template), (language, template)


def _catalog(language: str) -> dict[str, str]:
    found = _CATALOGS.get(language)
    if found is None:
        found = _CATALOGS[language] = {str(m.id): str(m.string) for m in i18n.catalog(language)}
    return found


_CATALOGS: dict[str, dict[str, str]] = {}

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=200, deadline=None)
@given(a=st.lists(st.one_of(st.none(), TEXT), min_size=1, max_size=4),
       b=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=4, max_size=4),
       flag=st.lists(st.booleans(), min_size=4, max_size=4))  # fmt: skip
def test_a_worded_frame_sentence_is_its_template_filled_with_its_arguments(
    a: list[str | None], b: list[float], flag: list[bool]
) -> None:
    n = len(a)
    frame = pl.DataFrame(
        {"a": a, "b": b[:n], "flag": flag[:n], "role": ["consignee", "x", "consignor", "y"][:n]}
    )
    nested = chosen(pl.col("flag"), word("stripped"), worded("seal %(seal)s", seal="a"))
    sentence = worded(
        "%(role)s: %(a)s is %(b)s %% of %(what)s {x}",
        role=words(pl.col("role"), ["consignee", "consignor"]),
        a="a",
        b=pl.col("b").round(1),
        what=nested,
    )
    plain = pl.format(
        "{}: {} is {} % of {} {{x}}",
        "role",
        "a",
        pl.col("b").round(1),
        pl.when("flag").then(pl.lit("stripped")).otherwise(pl.format("seal {}", "a")),
    )
    rows = frame.select(*sentence.columns(), plain.alias("expected")).rows()
    for text, message, expected in rows:
        assert text == expected
        if text is None:
            assert message is None
            continue
        said = said_from_json(json.loads(message), text)
        assert isinstance(said, Said) and _filled(said) == text


def test_a_message_that_does_not_give_its_text_is_not_trusted() -> None:
    stored = {"id": "seal %(seal)s", "args": {"seal": "4471"}}
    assert isinstance(said_from_json(stored, "seal 4471"), Said)
    for bad in ({"id": "seal %(seal)s", "args": {"seal": "9902"}}, {"id": "seal %(other)s"},
                {"id": 3}, "seal", {"id": "seal %(seal)s", "args": {"seal": "1"}, "more": 1}):  # fmt: skip
        shown = said_from_json(bad, "seal 4471")
        assert shown == "seal 4471" and not isinstance(shown, Said)


def test_a_message_reads_back_whatever_its_arguments_are_named() -> None:
    stored = {"id": "%(template)s of %(id)s", "args": {"template": "seal", "id": {"id": "box"}}}
    found = said_from_json(stored, "seal of box")
    assert isinstance(found, Said) and found.template == "%(template)s of %(id)s"
    assert said_json(found) == {"id": "%(template)s of %(id)s",
                                "args": {"template": "seal", "id": {"id": "box", "args": {}}}}  # fmt: skip


@pytest.mark.parametrize(("reason", "template"), [
    ("container {container}: {document} lists seal {filed}", "container %(container)s: %(document)s lists seal %(filed)s"),
    ("{share} % of {n}", "%(share)s %% of %(n)s"),
    ("{n:.1f} kg", None), ("{0} kg", None), ("{n!r}", None), ("{unclosed", None),
])  # fmt: skip
def test_a_plug_in_sentence_becomes_a_said_template(reason: str, template: str | None) -> None:
    assert said_template(reason) == template


def test_the_fast_json_of_reasons_with_messages_is_the_plain_json() -> None:
    message = TEMPLATES.text(
        "consignee_hits", {"consignee_hits": 4.0, "consignee_controls": 6.0}, 1
    )
    reasons = [Reason("model:consignee_hits", message, 1.25, Source.MODEL),
               Reason("profile:P-1", "the analyst's words", 0.5, Source.PROFILE)]  # fmt: skip
    written = to_json(reasons)
    assert written == json.dumps([r.to_json() for r in reasons], ensure_ascii=False)
    assert json.loads(written)[0]["said"] == {
        "id": "%(whose)s found fraud %(times)s in %(controls)s",
        "args": {"whose": {"id": "%(entity)s's controls", "args": {"entity": {"id": "consignee", "args": {}}}},
                 "times": {"id": "%(n)s times", "args": {"n": "4"}}, "controls": "6"},
    }  # fmt: skip
    assert "said" not in json.loads(written)[1]


@pytest.mark.parametrize("kind", ["records", "controls", "hits", "hit_rate"])
def test_true_one_and_one_point_zero_count_once_and_a_list_cell_is_unknown(kind: str) -> None:
    """Cells equal as keys (True == 1 == 1.0) are counted alike, a text cell is no count, and
    an unhashable cell (a list) reads as unknown rather than failing the batch."""
    feature = f"consignor_{kind}"
    counts = {"consignor_hits": 1, "consignor_controls": 2}
    written = {}
    for cell in (True, 1, 1.0, "1", [1], {"n": 1}):
        row = {**counts, feature: cell}
        text = TEMPLATES.text(feature, row, 0.5)
        assert TEMPLATES.texts(feature, lambda name, row=row: [row.get(name)]) == [text]
        written[repr(cell)] = said_json(text) if isinstance(text, Said) else text
    expected = {
        "records": "consignor seen once before",
        "controls": "consignor controlled once",
        "hits": "consignor's controls found fraud once in 2",
        "hit_rate": "consignor's controls found fraud once in 2",
    }[kind]
    assert str(TEMPLATES.text(feature, {**counts, feature: True}, 0.5)) == expected
    assert written["True"] == written["1"] == written["1.0"]
    unknown = {"records": "consignor history unknown",
               "controls": "consignor control history unknown",
               "hits": "consignor control results unknown"}  # fmt: skip
    for cell in ("1", [1], {"n": 1}):
        text = TEMPLATES.text(feature, {**counts, feature: cell}, 0.5)
        if kind in unknown:  # a hit rate's sentence is written from its counts
            assert text == unknown[kind]


@pytest.mark.parametrize("known_first", [True, False])
@pytest.mark.parametrize("kind", ["hits", "hit_rate", "revenue_per_control"])
def test_an_entity_word_and_a_column_name_of_the_same_english_keep_their_own_message(
    known_first: bool, kind: str
) -> None:
    """``hs6_*`` is the translatable word "HS6"; a column ``HS6_*`` has no word and is shown
    as written. Their sentences are the same English but not the same message, in any order."""
    row = {"hits": 2, "controls": 3, "hit_rate": 0.5, "revenue_per_control": 120.0}
    prefixes = ["hs6", "HS6"] if known_first else ["HS6", "hs6"]
    entities = {}
    for prefix in prefixes:
        cells = {f"{prefix}_{name}": value for name, value in row.items()}
        text = TEMPLATES.text(f"{prefix}_{kind}", cells, 0.5)
        assert isinstance(text, Said)
        entities[prefix] = said_json(text)["args"]["whose"]["args"]["entity"]
    assert entities["hs6"] == {"id": "HS6", "args": {}}
    assert entities["HS6"] == "HS6"
