"""Every string of the web application is translated into Dutch and French, with the same
placeholders; the language is negotiated from the switch's choice and the browser's list."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, strategies as st

from quaywatch.web import i18n

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.mark.parametrize("language", [code for code in i18n.LANGUAGES if code != i18n.SOURCE])
def test_every_string_is_translated_with_its_placeholders(language: str) -> None:
    messages = i18n.source_messages()
    assert len(messages) > 40  # the extraction reads the templates and the code
    assert i18n.untranslated(language) == []
    known = i18n.catalog(language)
    for message in messages:
        translated = known.get(message)
        assert translated is not None
        assert set(PLACEHOLDER.findall(str(translated.string))) == set(
            PLACEHOLDER.findall(message)
        ), message


def test_a_string_missing_or_empty_in_a_catalog_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    known = i18n.catalog("nl")
    first, second = sorted(i18n.source_messages())[:2]
    known.delete(first)
    known[second].string = ""
    monkeypatch.setattr(i18n, "catalog", lambda language: known)
    assert i18n.untranslated("nl") == sorted([first, second])


@pytest.mark.parametrize(
    ("chosen", "header", "expected"),
    [
        ("fr", "nl-BE,nl;q=0.9", "fr"),
        (None, "nl-BE,nl;q=0.9,en;q=0.8", "nl"),
        (None, "de-DE,de;q=0.9,fr;q=0.5,en;q=0.4", "fr"),
        (None, "en;q=0.2, nl;q=0.8", "nl"),
        (None, "nl;q=0, fr", "fr"),
        ("xx", None, "en"),
        (None, "*", "en"),
        (None, "", "en"),
    ],
)
def test_the_language_is_the_choice_else_the_browsers_best(
    chosen: str | None, header: str | None, expected: str
) -> None:
    assert i18n.negotiate(chosen, header) == expected


@given(st.one_of(st.none(), st.text(max_size=20)), st.one_of(st.none(), st.text(max_size=200)))
def test_negotiation_never_fails_and_answers_a_spoken_language(
    chosen: str | None, header: str | None
) -> None:
    assert i18n.negotiate(chosen, header) in i18n.LANGUAGES
