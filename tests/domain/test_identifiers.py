from __future__ import annotations

import polars as pl
import pytest
from hypothesis import assume, given, strategies as st
from stdnum import iso6346

from quaywatch.domain import identifiers as ids

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
VALUES = {ch: i for i, ch in enumerate("0123456789A BCDEFGHIJK LMNOPQRSTU VWXYZ")}


def vectorised(problem, values: list[str]) -> list[str | None]:
    return pl.DataFrame({"v": values}).select(problem(pl.col("v"))).to_series().to_list()


@st.composite
def container_numbers(draw: st.DrawFn) -> str:
    owner = draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3))
    prefix = (
        owner + draw(st.sampled_from("UJZ")) + draw(st.text("0123456789", min_size=6, max_size=6))
    )
    return prefix + iso6346.calc_check_digit(prefix)


@given(container_numbers())
def test_generated_container_numbers_are_valid(number: str) -> None:
    assert ids.validate_container_number(number) == number
    assert vectorised(ids.container_number_problem, [number]) == [None]


def _weighted_sum(number: str) -> int:
    return sum(VALUES[ch] * 2**i for i, ch in enumerate(number[:10]))


def _accepted(value: str) -> bool:
    try:
        ids.validate_container_number(value)
    except ValueError:
        return False
    return True


@given(container_numbers(), st.integers(0, 10), st.sampled_from(ALPHABET))
def test_single_character_corruptions_fail(number: str, position: int, char: str) -> None:
    corrupted = number[:position] + char + number[position + 1 :]
    assume(corrupted != number)
    accepted = _accepted(corrupted)
    assert (vectorised(ids.container_number_problem, [corrupted]) == [None]) == accepted
    if accepted:
        # Only what ISO 6346 provably cannot see gets through: a value change that is a multiple
        # of 11, or a move of the weighted sum between remainders 0 and 10 (both check digit 0).
        before, after = _weighted_sum(number) % 11, _weighted_sum(corrupted) % 11
        assert position < 10
        assert before == after or {before, after} == {0, 10}


def test_the_check_digit_blind_spot_is_the_documented_one() -> None:
    # C (13) and M (24) differ by 11, so ISO 6346 cannot tell CSQU from MSQU.
    assert _accepted("CSQU3054383")
    assert _accepted("MSQU3054383")
    assert not _accepted("DSQU3054383")


@given(st.text(alphabet=ALPHABET + " -x", max_size=13))
def test_container_scalar_and_vectorised_agree(text: str) -> None:
    normalised = ids.normalise_code(text)
    try:
        ids.validate_container_number(text)
        ok = True
    except ValueError:
        ok = False
    assert (vectorised(ids.container_number_problem, [normalised]) == [None]) == ok


@pytest.mark.parametrize(
    ("validate", "problem", "strategy"),
    [
        (ids.validate_imo, ids.imo_problem, st.text("0123456789", min_size=6, max_size=8)),
        (
            ids.validate_locode,
            ids.locode_problem,
            st.text("ABEGNLRSUZ2389", min_size=4, max_size=6),
        ),
        (
            ids.validate_port,
            ids.port_problem,
            st.sampled_from(["BEANR", "NLRTM", "ECGYE", "BEXXX", "QQANR"]),
        ),
        (ids.validate_eori, ids.eori_problem, st.text("BEXI0123456789", min_size=1, max_size=19)),
        (ids.validate_hs6, ids.hs6_problem, st.text("0123456789", min_size=5, max_size=7)),
        (
            ids.validate_country,
            ids.country_problem,
            st.text("ABDEFGLNRSUZ", min_size=2, max_size=2),
        ),
        (
            ids.validate_currency,
            ids.currency_problem,
            st.text("ADEGJPRSUY", min_size=3, max_size=3),
        ),
    ],
)
@given(data=st.data())
def test_scalar_and_vectorised_checks_agree(
    validate, problem, strategy, data: st.DataObject
) -> None:
    value = data.draw(strategy)
    try:
        validate(value)
        ok = True
    except ValueError:
        ok = False
    assert (vectorised(problem, [ids.normalise_code(value)]) == [None]) == ok


@st.composite
def imo_numbers(draw: st.DrawFn) -> str:
    digits = draw(st.lists(st.integers(0, 9), min_size=6, max_size=6))
    check = sum(d * (7 - i) for i, d in enumerate(digits)) % 10
    return "".join(map(str, digits)) + str(check)


@given(imo_numbers())
def test_generated_imo_numbers_are_valid(number: str) -> None:
    assert ids.validate_imo(f"IMO {number}") == number
    assert vectorised(ids.imo_problem, [number]) == [None]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("CSQU3054384", "check digit"),
        ("CSQ3054383", "not an ISO 6346"),
        ("9074728", "IMO check digit"),
        ("XXABC", "unknown country"),
        ("999999", "not in the HS nomenclature"),
    ],
)
def test_invalid_identifiers_say_why(value: str, reason: str) -> None:
    validators = [
        ids.validate_container_number,
        ids.validate_imo,
        ids.validate_locode,
        ids.validate_hs6,
    ]
    messages = []
    for validate in validators:
        try:
            validate(value)
        except ValueError as exc:
            messages.append(str(exc))
    assert any(reason in m for m in messages)


def test_reference_lists_are_consistent() -> None:
    from quaywatch.domain.reference import countries, ports

    assert len(ports()) >= 200
    assert all(p.country in countries() and p.locode[:2] == p.country for p in ports().values())
    assert ports()["BEANR"].region == "North Europe"
