"""The condition language: parsing, compiling to polars, and errors that say where."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from quaywatch.errors import InputError
from quaywatch.risk.profiles.compiler import Kind, compile_condition, kinds_of
from quaywatch.risk.profiles.syntax import ConditionError, parse

ROWS = pl.DataFrame(
    {
        "n": [1.0, 5.0, None, 10.0],
        "code": ["080390", "440349", None, "950300"],
        "port": ["ECGYE", "CMDLA", "CNSHA", None],
        "flag": [True, False, None, True],
        "route": [["ECGYE", "PAMIT", "BEANR"], ["CMDLA", "BEANR"], [], None],
        "at": [datetime(2026, 10, d, tzinfo=UTC) for d in (1, 2, 3, 4)],
        "version": pl.Series([1, 2, 3, 1], dtype=pl.Int64),
    }
)
KINDS = kinds_of(ROWS.schema)
LISTS = {"hubs": ("PAMIT", "ESALG"), "chapters": ("08", "95"), "sizes": (5.0, 10.0)}


def rows(condition: str) -> list[int]:
    """Positions of the rows of ROWS where the condition holds."""
    expr = compile_condition(condition, KINDS, LISTS).expr
    return ROWS.with_row_index().filter(expr).get_column("index").to_list()


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("n > 2", [1, 3]),
        ("n >= 5 and n <= 5", [1]),
        ("n between 2 and 10", [1, 3]),
        ("n not between 2 and 10", [0, 2]),  # a missing value is in no range: 'not' makes it so
        ("n * 2 - 1 == 9", [1]),
        ("-n < -6", [3]),
        ("n in [1, 10]", [0, 3]),
        ("n in @sizes", [1, 3]),
        ("version in [1, 3]", [0, 2, 3]),  # an integer field against the list's numbers
        ("version not in [1]", [1, 2]),
        ("n is null", [2]),
        ("port is not null and not flag", [1, 2]),
        ("port in ['ECGYE', 'CNSHA']", [0, 2]),
        ('port not in ["ECGYE"]', [1, 2, 3]),
        ('code startswith "08" or code startswith "95"', [0, 3]),
        ("code startswith @chapters", [0, 3]),
        ("chapter(code) in @chapters", [0, 3]),
        ('heading(code) == "4403"', [1]),
        ('route contains "BEANR"', [0, 1]),
        ("route contains @hubs", [0]),
        ("any_in(route, @hubs)", [0]),
        ("count_in(route, ['ECGYE', 'BEANR']) == 2", [0]),
        ("len(route) == 0", [2]),
        ('route startswith "CM"', [1]),
        ('port contains "SHA"', [2]),
        ("flag", [0, 3]),
        ("not flag", [1, 2]),
        ("flag == true", [0, 3]),
        ('at >= "2026-10-03"', [2, 3]),
        ("weekday(at) == 4", [0]),  # 1 October 2026 is a Thursday
        ("ratio(n, n - 1) > 1", [3, 1]),  # n = 1 divides by zero: missing, not infinite
        ("max(n, 7) == 7 and min(n, 7) >= 1", [0, 1, 2]),  # min and max skip missing values
        ("coalesce(n, 0) == 0", [2]),
        ("abs(n - 6) < 2 or log(n) > 2", [1, 3]),
        ('upper(lower(port)) == "ECGYE"', [0]),
        ("(n > 2 or flag) and not (port == 'CMDLA')", [0, 3]),
        ("N > 2 AND FLAG", [3]),  # keywords are case-blind, names are not
    ],
)
def test_conditions_select_the_rows_they_say(condition: str, expected: list[int]) -> None:
    if condition == "N > 2 AND FLAG":
        with pytest.raises(ConditionError, match="unknown field 'N'"):
            rows(condition)
        assert rows("n > 2 AND flag") == expected
        return
    assert sorted(rows(condition)) == sorted(expected)


@pytest.mark.parametrize(
    ("condition", "message", "column"),
    [
        ("n >", "expected a value, found the end of the condition", 4),
        ("n > 2 and", "expected a value, found the end", 10),
        ("(n > 2", "expected ')' to close the '('", 7),
        ("n > 2 n", "unexpected 'n'; expected 'and', 'or' or the end", 7),
        ("port == 'ECGYE", "unexpected character", 9),
        ("port ~ 'x'", "unexpected character '~'", 6),
        ("n < 1 < 2", "unexpected '<'", 7),
        ("nn > 2", "unknown field 'nn'; did you mean n?", 1),
        ("prot == 'ECGYE'", "did you mean port or route?", 1),
        ("chapterz(code) == '08'", "unknown function chapterz(); did you mean chapter()?", 1),
        ("n > 'five'", "cannot compare a number with a text", 5),
        ("n == null", "is null", 6),
        ("port in @ports", "@ports is not a list of this profile (its lists: @chapters", 9),
        ("port in [1, 'a']", "a list mixes numbers and texts", 9),
        ("n in ['a']", "cannot look for a number in a list of texts", 3),
        ("route in @hubs", "use 'contains'", 1),
        ("any_in(route, [080390])", "needs a list of texts", 15),
        ("n contains 'a'", "'contains' needs a text or a list of texts, not a number", 3),
        ("n and flag", "expected a yes/no test here, found a number", 1),
        ("n", "expected a yes/no test", 1),
        ("[1, 2]", "a list can only follow", 1),
        ("", "the condition is empty", 1),
        ("at > 'soon'", "'soon' is not a date", 6),
        ("chapter(n) == '1'", "chapter() needs a text or list of texts, not a number", 9),
        ("ratio(n)", "ratio() takes 2 argument(s), got 1", 1),
        ("n not flag", "'not' here must be followed by 'in' or 'between'", 3),
        ("1e999 > n", "too large", 1),
        ("(" * 100 + "flag" + ")" * 100, "nests deeper", 62),
    ],
)
def test_errors_say_what_and_where(condition: str, message: str, column: int) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition(condition, KINDS, LISTS)
    assert message in caught.value.reason
    assert caught.value.column == column
    assert f"condition column {column}" in caught.value.message
    assert isinstance(caught.value, InputError)


def test_multiline_errors_name_the_line_and_point_at_the_column() -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition("flag\n  and n >> 2", KINDS, LISTS)
    error = caught.value
    assert (error.line, error.column) == (2, 10)
    assert "condition line 2, column 10" in error.message
    assert error.pointer().splitlines()[1].index("^") == 4 + 9


def test_fields_and_lists_read_are_reported() -> None:
    compiled = compile_condition("port in @hubs or n > 1", KINDS, LISTS)
    assert compiled.fields == {"port", "n"}
    assert compiled.lists == {"hubs"}
    assert kinds_of(ROWS.schema)["route"] is Kind.TEXT_LIST


# --- generated conditions ------------------------------------------------------------------

_numbers = st.sampled_from(["n", "1", "2.5", "len(route)", "abs(n)", "(n + 1)", "-n"])
_texts = st.sampled_from(["port", "code", "chapter(code)", "'ECGYE'", '"08"'])


@st.composite
def _tests(draw: st.DrawFn) -> str:
    shape = draw(st.integers(0, 8))
    if shape == 0:
        return f"{draw(_numbers)} {draw(st.sampled_from(['<', '<=', '>', '>=', '==', '!=']))} {draw(_numbers)}"
    if shape == 1:
        return f"{draw(_texts)} {draw(st.sampled_from(['==', '!=']))} {draw(_texts)}"
    if shape == 2:
        return f"{draw(_numbers)} {draw(st.sampled_from(['', 'not ']))}between {draw(_numbers)} and {draw(_numbers)}"
    if shape == 3:
        collection = draw(st.sampled_from(["@hubs", "@chapters", '["a", "b"]']))
        return f"{draw(_texts)} {draw(st.sampled_from(['in', 'not in']))} {collection}"
    if shape == 4:
        return f"route contains {draw(st.sampled_from(['@hubs', _quote('PAMIT')]))}"
    if shape == 5:
        return f"{draw(_texts)} startswith {draw(st.sampled_from(['@chapters', _quote('0')]))}"
    if shape == 6:
        return f"{draw(st.sampled_from(['n', 'port', 'route']))} is {draw(st.sampled_from(['', 'not ']))}null"
    if shape == 7:
        return draw(st.sampled_from(["flag", "true", "false", "any_in(route, @hubs)"]))
    return "n in @sizes"


def _quote(text: str) -> str:
    return f'"{text}"'


_conditions = st.recursive(
    _tests(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" and ", " or "]), inner).map("".join),
        inner.map(lambda c: f"not ({c})"),
        inner.map(lambda c: f"({c})"),
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(_conditions)
def test_generated_valid_conditions_compile_and_run(condition: str) -> None:
    expr = compile_condition(condition, KINDS, LISTS).expr
    result = ROWS.select(expr.alias("hit")).get_column("hit")
    assert result.dtype == pl.Boolean and result.null_count() == 0


_alphabet = st.sampled_from(list("nportflagcde0123456789 ()[]@,'\"<>=!+-*/.\n_") + [
    " and ", " or ", " not ", " in ", " between ", " contains ", " startswith ", " is ", "null",
    "@hubs", "route", "chapter(", "ratio(", "~", "é",
])  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(_alphabet, max_size=25).map("".join)))
def test_garbage_gives_a_condition_error_and_nothing_else(text: str) -> None:
    try:
        compile_condition(text, KINDS, LISTS)
    except ConditionError as exc:
        assert exc.column >= 1 and exc.line >= 1
    with contextlib.suppress(InputError):
        parse(text)
