"""Errors told in the visitor's language: a catalog string that does not fit its message's
parameters falls back to the English (logged) instead of a 500, and an input error that
names its file still names it once translated."""

from __future__ import annotations

import logging
from gettext import NullTranslations

import pytest

from quaywatch.errors import ConflictError, InputError, said
from quaywatch.web import i18n, pages


class _Broken(NullTranslations):
    """A catalog whose every string is ``text``: a translator's slip."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def gettext(self, message: str) -> str:
        return self.text


@pytest.mark.parametrize(
    "broken",
    [
        "gebruiker %(naam)s bestaat al",  # KeyError: a placeholder renamed
        "gebruiker %(name bestaat al",  # ValueError: a placeholder cut short
        "gebruiker %d bestaat al",  # TypeError: a positional placeholder
    ],
)
def test_a_catalog_string_that_does_not_fit_falls_back_to_english(
    broken: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(i18n, "translations", lambda language: _Broken(broken))
    error = ConflictError(said("user %(name)s already exists", name="ana"))
    with caplog.at_level(logging.ERROR, logger="quaywatch.web.pages"):
        assert pages.told("nl", error) == "user ana already exists"
    assert "user %(name)s already exists" in caplog.text and "nl" in caplog.text


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_a_translated_input_error_still_names_its_file(language: str) -> None:
    template = "the new password must differ from the current one"
    error = InputError(said(template), source="manifest-0412.csv")
    translated = pages.gettext(language, template)
    assert translated != template  # the catalogs translate it
    assert pages.told(language, error) == f"manifest-0412.csv: {translated}"
    assert pages.told("en", error) == error.message == f"manifest-0412.csv: {template}"
