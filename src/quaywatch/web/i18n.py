"""The languages of the web application: English (the source), Dutch and French.

Every string a page shows is written in English in the templates (``{% trans %}``, ``_()``)
and in this package's code (``_()``), and translated in a Babel catalog per language:
``locales/<language>/LC_MESSAGES/messages.po``. The catalogs are read as they are shipped (no
compile step): ``translations`` turns each into gettext translations once per process.
``quaywatch`` tests that every string has its Dutch and French translation.

A user's language is the one they chose with the switch on every page (a cookie), else the
first of their browser's languages (``Accept-Language``) that quaywatch speaks, else English.
"""

from __future__ import annotations

import functools
import io
from importlib import resources
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

#: The languages quaywatch speaks, by code, each named in itself.
LANGUAGES = {"en": "English", "nl": "Nederlands", "fr": "Français"}
#: The source language of every string; it needs no catalog.
SOURCE = "en"
#: The cookie holding the language a user chose.
LANGUAGE_COOKIE = "quaywatch_lang"


def locales() -> Path:
    """The folder of the catalogs."""
    return Path(str(resources.files("quaywatch.web").joinpath("locales")))


def catalog(language: str) -> Catalog:
    """The Babel catalog of ``language`` (not the source language)."""
    path = locales() / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        return read_po(file, locale=language)


@functools.cache
def translations(language: str) -> NullTranslations:
    """The gettext translations of ``language`` (none for the source language)."""
    if language == SOURCE:
        return NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, catalog(language))
    compiled.seek(0)
    return Translations(fp=compiled)


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """The language to answer in: ``chosen`` (the switch's cookie) if quaywatch speaks it,
    else the best of ``accept_language`` (``nl-BE,nl;q=0.9,en;q=0.8``) it speaks, else
    English."""
    if chosen in LANGUAGES:
        return chosen
    offered: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and weight > 0:
            offered.append((-weight, position, primary))
    return min(offered)[2] if offered else SOURCE


def source_messages() -> dict[str, list[str]]:
    """Every translatable string of the web application (templates and code) and every
    message of the package made with ``errors.said`` or ``risk.wording.worded``/``word`` (an
    error, a reason's sentence: the pages show them), each with
    the places it occurs (``templates/login.html:12``, ``../services/accounts/users.py:80``, relative to the web package)."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    folder = Path(str(resources.files("quaywatch.web")))
    keywords = {**DEFAULT_KEYWORDS, "gettext": (2,)}
    found: dict[str, list[str]] = {}
    method_map = [("templates/**.html", "jinja2.ext:babel_extract"), ("*.py", "python")]
    options_map = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}
    for name, line, message, _comments, _context in extract_from_dir(
        str(folder), method_map=method_map, options_map=options_map, keywords=keywords
    ):
        if not isinstance(message, str):
            raise ValueError(f"{name}:{line}: plural messages are not used here")
        found.setdefault(message, []).append(f"{name}:{line}")
    package = folder.parent
    for name, line, message, _comments, _context in extract_from_dir(
        str(package),
        method_map=[("**.py", "python")],
        keywords={"said": None, "worded": None, "word": None},
    ):
        if isinstance(message, str):
            found.setdefault(message, []).append(f"../{name}:{line}")
    # The sentences of the plug-in hit sources (``{named}`` templates in their code tables),
    # as the ``said`` templates their reasons carry.
    from quaywatch.exchange import alerts
    from quaywatch.risk import document_hits
    from quaywatch.risk.wording import said_template

    for place, codes in (("../risk/document_hits.py", document_hits.CODES.values()),
                         ("../exchange/alerts.py", alerts.CODES.values())):  # fmt: skip
        for code in codes:
            template = said_template(code.reason)
            if template is not None:
                found.setdefault(template, []).append(f"{place}:1")
    return found


def untranslated(language: str) -> list[str]:
    """The strings of ``source_messages`` that ``language``'s catalog lacks or leaves empty."""
    known = catalog(language)
    missing = []
    for message in source_messages():
        found = known.get(message)
        if found is None or not found.string:
            missing.append(message)
    return sorted(missing)


def update_catalogs() -> dict[str, list[str]]:
    """Bring every catalog in line with ``source_messages``: new strings added untranslated,
    gone ones dropped, translations kept. Returns each language's untranslated strings (what
    a translator must now fill in; the tests fail until they are). A maintainer runs it after
    changing the pages' strings: ``python -m quaywatch.web.i18n``."""
    from babel.messages.pofile import write_po

    messages = source_messages()
    left: dict[str, list[str]] = {}
    for language in LANGUAGES:
        if language == SOURCE:
            continue
        old = catalog(language)
        new = Catalog(
            locale=language, project="quaywatch", fuzzy=False, header_comment=(
                f"# {LANGUAGES[language]} catalog of the quaywatch web application.\n"
                "# Made by `python -m quaywatch.web.i18n` from the strings of the pages; "
                "translations are kept."
            ),
        )  # fmt: skip
        for message, places in messages.items():
            found = old.get(message)
            locations = [(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places]
            new.add(message, found.string if found else "", locations=locations)
        path = locales() / language / "LC_MESSAGES" / "messages.po"
        with path.open("wb") as file:
            write_po(file, new, width=100, sort_output=True, omit_header=False)
        left[language] = untranslated(language)
    return left


if __name__ == "__main__":
    for code, missing in update_catalogs().items():
        print(f"{code}: {len(missing)} untranslated" + "".join(f"\n  {m}" for m in missing))
