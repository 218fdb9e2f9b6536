"""Reference data that risk analysis and the generator share: tariff and exchange rates."""

from __future__ import annotations

from quaywatch.domain import identifiers as ids, reference


def test_every_tariff_line_is_a_real_subheading_with_a_plausible_duty() -> None:
    rates = reference.duty_rates()
    assert len(rates) >= 60
    for hs6, pct in rates.items():
        assert ids.validate_hs6(hs6) == hs6
        assert 0 <= pct < 100


def test_duty_falls_back_to_the_chapter_median_then_the_default() -> None:
    footwear = sorted(r for c, r in reference.duty_rates().items() if c.startswith("64"))
    assert reference.duty_pct("080390") == 10.0  # listed: bananas
    assert "640220" not in reference.duty_rates()
    assert reference.duty_pct("640220") == footwear[len(footwear) // 2]
    assert reference.duty_pct("271012") == reference.DEFAULT_DUTY_PCT  # no chapter 27 line


def test_exchange_rates_are_for_known_currencies_and_euro_is_one() -> None:
    rates = reference.exchange_rates()
    assert rates["EUR"] == 1.0
    assert set(rates) <= set(reference.currencies())
    assert all(rate > 0 for rate in rates.values())
