"""Every kind of error of the profile language, shown by the editor's live check in Dutch and
French: the whole message in that language (clauses within it too, such as what was found
instead or the "did you mean" hint), and the line at fault quoted with its column marked,
from the line and column the check gives as numbers."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings, strategies as st
from web_support import Site, csrf_of

from quaywatch.domain.access import Role
from quaywatch.errors import Said
from quaywatch.risk.profiles.compiler import compile_condition
from quaywatch.risk.profiles.frame import FIELD_KINDS
from quaywatch.risk.profiles.syntax import ConditionError
from quaywatch.services import profiles
from quaywatch.services.profiles import ProfileText
from quaywatch.web import pages

BASE = """\
id: WEB-ERR
version: 1
description: Timber declared as furniture parts
owner: risk analysis
reason: "{main_hs6} from {port_of_loading}"
lists:
  ports: [CMDLA, CDMAT]
  goods: {kind: hs, values: ["9403", "4407"]}
condition: |
  port_of_loading in @ports
    and hs6_codes startswith @goods
action:
  weight: 1.0
  lane: orange
"""
CONDITION = "port_of_loading in @ports"


def _condition(new: str) -> str:
    return BASE.replace(CONDITION, new)


#: (what, profile text, where): ``where`` is a text that starts at the fault (its line, and
#: its column when ``exact``), found once in the profile text.
CASES: list[tuple[str, str, str, bool]] = [
    # The condition's tokens and grammar.
    ("character", _condition("port_of_loading in @ports $"), "$", True),
    ("too large", _condition("1e999 > n_items"), "1e999", True),
    ("expected", _condition("port_of_loading between 1 22"), "22", True),
    ("found the text", _condition('n_items between 1 "x"'), '"x"', True),
    ("nests", _condition("-" * 61 + "n_items > 2"), "-" * 61, False),
    (
        "empty",
        BASE.replace(
            "condition: |\n  port_of_loading in @ports\n    and hs6_codes startswith @goods",
            "condition: ''",
        ).replace(
            'lists:\n  ports: [CMDLA, CDMAT]\n  goods: {kind: hs, values: ["9403", "4407"]}\n', ""
        ),
        "condition: ''",
        False,
    ),  # fmt: skip
    ("unexpected", _condition("port_of_loading in @ports containz"), "containz", True),
    ("not in", _condition("port_of_loading not @ports"), "not @", True),
    ("empty list", _condition("port_of_loading in [] or port_of_loading in @ports"), "[]", True),
    (
        "literal",
        _condition("port_of_loading in [CMDLA] or port_of_loading in @ports"),
        "CMDLA]",
        True,
    ),
    ("value", _condition("port_of_loading == ,"), ",\n", True),
    (
        "call",
        _condition("upper(port_of_loading port_of_loading) in @ports"),
        "port_of_loading) in",
        True,
    ),
    # Names, kinds and functions.
    ("did you mean", _condition("port_of_loadin in @ports"), "port_of_loadin in", True),
    ("a function", _condition("chapter == '08' and port_of_loading in @ports"), "chapter", True),
    ("no field", _condition("zzzz > 1 and port_of_loading in @ports"), "zzzz", True),
    ("yes/no", _condition("n_items and port_of_loading in @ports"), "n_items", True),
    ("compare", _condition("value_ratio == 'x' and port_of_loading in @ports"), "'x'", True),
    ("ordered", _condition("reefer < true and port_of_loading in @ports"), "true", True),
    ("no list", _condition("port_of_loading in @nope or port_of_loading in @ports"), "@nope", True),
    (
        "mixed list",
        _condition("port_of_loading in [1, 'a'] or port_of_loading in @ports"),
        "[1,",
        True,
    ),
    (
        "list in",
        _condition("hs6_codes in @goods and port_of_loading in @ports"),
        "hs6_codes in",
        True,
    ),
    ("look for", _condition("value_ratio in @ports"), "in @ports", True),
    (
        "contains kind",
        _condition("value_ratio contains 'a' and port_of_loading in @ports"),
        "contains 'a'",
        True,
    ),
    (
        "texts to look for",
        _condition("port_of_loading contains [1, 2] and port_of_loading in @ports"),
        "[1, 2]",
        True,
    ),  # fmt: skip
    (
        "text to look for",
        _condition("port_of_loading contains 3 and port_of_loading in @ports"),
        "3 and",
        True,
    ),
    (
        "startswith",
        _condition("hs6_codes startswith port_of_loading and port_of_loading in @ports"),
        "port_of_loading and",
        True,
    ),  # fmt: skip
    (
        "function",
        _condition("chapterz(main_hs6) == '08' and port_of_loading in @ports"),
        "chapterz",
        True,
    ),
    ("arity", _condition("ratio(value_ratio) > 1 and port_of_loading in @ports"), "ratio(", True),
    ("at least 2", _condition("min(value_ratio) > 1 and port_of_loading in @ports"), "min(", True),
    ("list field", _condition("any_in(port_of_loading, @ports)"), "port_of_loading,", True),
    (
        "quote codes",
        _condition("any_in(hs6_codes, [1]) and port_of_loading in @ports"),
        "[1]",
        True,
    ),
    (
        "coalesce",
        _condition("coalesce(value_ratio, main_hs6) == 1 and port_of_loading in @ports"),
        "coalesce",
        True,
    ),  # fmt: skip
    (
        "accepts",
        _condition("chapter(value_ratio) == '08' and port_of_loading in @ports"),
        "value_ratio)",
        True,
    ),
    ("date", _condition("lodged_at > 'soon' and port_of_loading in @ports"), "'soon'", True),
    ("null", _condition("value_ratio == null and port_of_loading in @ports"), "null", True),
    ("list here", _condition("port_of_loading == @ports"), "@ports\n", True),
    ("number here", _condition("-main_hs6 > 1 and port_of_loading in @ports"), "main_hs6 >", True),
    # The file around the condition.
    ("yaml", BASE.replace("owner: risk analysis", "owner: risk: analysis"), ": analysis", True),
    ("yaml unknown", "%YAML 1.1\n%YAML 1.1\n---\n" + BASE, "%YAML 1.1\n---", False),
    ("yaml character", BASE.replace("Timber", "Tim\x01ber"), "\x01", True),
    ("not a mapping", "- a\n- b\n", "- a", False),
    ("twice", BASE.replace("owner: risk analysis", "owner: a\nowner: b"), "owner: b", True),
    ("unknown key", BASE.replace("owner:", "ownr:"), "ownr", True),
    ("unknown key, no hint", BASE + "zzzzzz: 1\n", "zzzzzz", True),
    ("missing", BASE.replace("owner: risk analysis\n", ""), "id:", False),
    ("empty text", BASE.replace("Timber declared as furniture parts", "''"), "''", True),
    ("id", BASE.replace("WEB-ERR", "'web err'"), "'web err'", True),
    ("version", BASE.replace("version: 1", "version: 0"), "0\ndescription", True),
    ("date text", BASE.replace("owner:", "valid_from: soon\nowner:"), "soon", True),
    ("date kind", BASE.replace("owner:", "valid_from: [1]\nowner:"), "[1]", True),
    (
        "window",
        BASE.replace("owner:", "valid_from: 2026-10-02\nvalid_to: 2026-10-01\nowner:"),
        "2026-10-01",
        True,
    ),
    (
        "lists",
        BASE.replace(
            'lists:\n  ports: [CMDLA, CDMAT]\n  goods: {kind: hs, values: ["9403", "4407"]}',
            "lists: [1]",
        ),
        "[1]",
        True,
    ),  # fmt: skip
    ("list name", BASE.replace("  ports: [CMDLA", "  bad-name: [a]\n  ports: [CMDLA"), "[a]", True),
    ("list spec", BASE.replace("{kind: hs, values:", "{kind: hs, valuez:"), "{kind", True),
    ("list kind", BASE.replace("{kind: hs,", "{kind: weird,"), "weird", True),
    ("empty values", BASE.replace("[CMDLA, CDMAT]", "[]"), "[]", True),
    ("one value", BASE.replace("[CMDLA, CDMAT]", "[[CMDLA], CDMAT]"), "[CMDLA]", True),
    (
        "number",
        BASE.replace('{kind: hs, values: ["9403", "4407"]}', "{kind: number, values: [abc]}"),
        "abc",
        True,
    ),  # fmt: skip
    (
        "finite",
        BASE.replace('{kind: hs, values: ["9403", "4407"]}', "{kind: number, values: [1e999]}"),
        "1e999",
        True,
    ),  # fmt: skip
    ("hs code", BASE.replace('"4407"', '"44x7"'), '"44x7"', True),
    (
        "country",
        BASE.replace('{kind: hs, values: ["9403", "4407"]}', "{kind: country, values: [ZZ]}"),
        "ZZ",
        True,
    ),  # fmt: skip
    ("action", BASE.replace("action:\n  weight: 1.0\n  lane: orange", "action: 3"), "3\n", True),
    ("action key", BASE.replace("lane: orange", "lane: orange\n  foo: 1"), "foo", True),
    ("weight", BASE.replace("weight: 1.0", "weight: heavy"), "heavy", True),
    ("weight range", BASE.replace("weight: 1.0", "weight: 99"), "99", True),
    ("lane", BASE.replace("lane: orange", "lane: purple"), "purple", True),
    ("referral", BASE.replace("lane: orange", "referral: XYZ"), "XYZ", True),
    ("lone brace", BASE.replace('"{main_hs6} from', '"a } {main_hs6} from'), '"a }', True),
    ("placeholder", BASE.replace("{port_of_loading}", "{port of}"), '"{main', True),
    ("reason field", BASE.replace("{port_of_loading}", "{port}"), '"{main', True),
    ("format", BASE.replace("{port_of_loading}", "{port_of_loading:.1f}"), '"{main', True),
    (
        "condition text",
        BASE.replace(
            "condition: |\n  port_of_loading in @ports\n    and hs6_codes startswith @goods",
            "condition: 3",
        ),
        "3\naction",
        True,
    ),  # fmt: skip
    ("unused list", BASE.replace("  ports: [CMDLA", "  spare: [a]\n  ports: [CMDLA"), "[a]", True),
]
_PLACEHOLDER = re.compile(r"%\(\w+\)s")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\{[^}]*\}|\[[^\]]*\]|<[^>]*>|\([^)]*\)")


def _templates(message: str) -> list[str]:
    """The templates of a message made with ``said`` and of every message within it."""
    if not isinstance(message, Said):
        return []
    inner = [t for value in message.params.values() for t in _templates(value)]
    return [message.template, *inner]


def _english(template: str) -> list[str]:
    """The English words of ``template`` that a translation must not keep: each run of text
    between its placeholders, without what it quotes (field names, examples, keywords)."""
    runs = _PLACEHOLDER.split(_QUOTED.sub("|", template.replace("%%", "%")))
    pieces = [p.strip(" ,.;:?|-") for run in runs for p in run.split("|")]
    return [p for p in pieces if " " in p and len(p) >= 8]


def test_every_case_fails_once_and_where_it_says() -> None:
    assert profiles.validate_profiles([ProfileText("base", BASE)]).files[0].ok
    for what, text, where, _exact in CASES:
        check = profiles.validate_profiles([ProfileText(what, text)]).files[0]
        assert not check.ok and text.count(where) == 1, what
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_each_kind_of_profile_error_is_told_whole_in_the_language_at_its_line(
    site: Site, language: str
) -> None:
    site.login(site.user(Role.ANALYST))
    token = csrf_of(site.client.get("/profiles/editor").text)
    for what, text, where, exact in CASES:
        check = profiles.validate_profiles([ProfileText("profile", text)]).files[0]
        site.client.cookies.set("quaywatch_lang", language)
        shown = site.client.post("/profiles/check", data={"text": text, "csrf_token": token})
        site.client.cookies.set("quaywatch_lang", "en")
        english = site.client.post("/profiles/check", data={"text": text, "csrf_token": token})
        assert shown.status_code == english.status_code == 200, what
        message = html.unescape(re.search(r'role="alert">(.*?)</p>', shown.text, re.S)[1])
        in_english = html.unescape(re.search(r'role="alert">(.*?)</p>', english.text, re.S)[1])
        assert message != in_english, what
        templates = _templates(check.reason or "")
        assert templates, f"{what}: {check.error}"
        for template in templates:
            assert pages.gettext(language, template) != template, (what, template)
            for words in _english(template):
                assert words not in message, (what, words, message)
        offset = text.index(where)
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        quoted = re.search(r'<pre class="quoted" data-line="(\d+)"(?: data-column="(\d+)")?>',
                           shown.text)  # fmt: skip
        assert quoted is not None and int(quoted[1]) == line, (what, line, message)
        if exact:
            assert quoted[2] is not None and int(quoted[2]) == column, (what, column, message)
            marked = re.search(r'<mark class="fault">(.*?)</mark>', shown.text, re.S)
            assert marked is not None and html.unescape(marked[1]) in (where[0], " "), what


_TOKENS = st.sampled_from(
    [*"()[]@,'\"<>=!+-*/.$ 0123456789", " and ", " or ", " not ", " in ", " between ",
     " contains ", " startswith ", " is ", "null", "true", "@ports", "@nope", "route",
     "n_items", "main_hs6", "reefer", "lodged_at", "hs6_codes", "chapter(", "ratio(", "min(",
     "any_in(", "coalesce(", "chapterz(", "port_of_loadin", "1e999", "'x'"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=20).map("".join))
def test_any_condition_error_is_translated_whole(text: str) -> None:
    try:
        compile_condition(text, FIELD_KINDS, {"ports": ("CMDLA",)})
    except ConditionError as exc:
        for template in _templates(exc.message):
            for language in ("nl", "fr"):
                assert pages.gettext(language, template) != template, template
        for language in ("nl", "fr"):  # fits its parameters: no fallback to English
            assert pages.said_in(language, exc.message) != exc.message


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", ["geen risicoprofiel NOPE", "heeft geen versie 99", "moet een datum zijn",
                "onbekend veld", "bedoelde u"]),
        ("fr", ["aucun profil de risque NOPE", "n'a pas de version 99", "doit être une date",
                "champ inconnu", "vouliez-vous dire"]),
    ],
)  # fmt: skip
def test_other_pages_tell_profile_and_filter_errors_in_the_language(
    site: Site, language: str, expected: list[str]
) -> None:
    site.login(site.user(Role.ANALYST, Role.MANAGER))
    site.client.cookies.set("quaywatch_lang", language)
    missing = site.client.get("/profiles/editor?start=NOPE")
    assert missing.status_code == 404 and expected[0] in html.unescape(missing.text)
    page = site.client.get("/profiles/STARTER-COCAINE")
    activated = site.client.post(
        "/profiles/STARTER-COCAINE/activate",
        data={"version": "99", "csrf_token": csrf_of(page.text)},
    )
    assert activated.status_code == 404 and expected[1] in html.unescape(activated.text)
    period = site.client.get("/kpis?from=soon")
    assert period.status_code == 422 and expected[2] in html.unescape(period.text)
    editor = site.client.get("/profiles/editor")
    broken = BASE.replace(CONDITION, "port_of_loadin in @ports")
    tried = site.client.post(
        "/profiles/editor",
        data={"text": broken, "action": "trial", "csrf_token": csrf_of(editor.text)},
    )
    said = html.unescape(re.search(r'role="alert">(.*?)</p>', tried.text, re.S)[1])
    assert tried.status_code == 422 and expected[3] in said and expected[4] in said
    assert "unknown" not in said and "did you mean" not in said
