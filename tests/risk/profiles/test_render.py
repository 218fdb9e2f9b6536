"""Reason templates render every value, NaN and infinity included, without failing the run."""

from __future__ import annotations

import polars as pl
import pytest

from quaywatch.risk.profiles import profile

VALUES = pl.DataFrame({"value_ratio": [float("nan"), 1.5, float("inf"), 0.25, 250.0]})


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{value_ratio}", ["?", "1.5", "?", "0.25", "250"]),
        ("{value_ratio:.0f}", ["?", "2", "?", "0", "250"]),
        ("{value_ratio:.0%}", ["?", "150%", "?", "25%", "25000%"]),
    ],
)
def test_templates_never_fail_on_odd_numbers(template: str, expected: list[str]) -> None:
    assert VALUES.select(profile.render(template)).to_series().to_list() == expected
