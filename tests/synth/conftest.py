# Fixtures for the traffic generator tests, generated once per session because every test only
# reads them:
# - `clean`: 2 days x 2,000 consignments with events, no noise (every record must pass intake);
# - `noisy`: 1 day x 2,000 consignments with noise 0.05;
# - `rich`: 2 days x 2,000 with raised cocaine and wildlife rates and displacement from day 1,
#   so that per-consignment event checks have enough pattern cases to count;
# - `large`: 5 days x 20,000 (100,000 consignments) without events, for pattern rates.
from __future__ import annotations

import pytest

from quaywatch.synth import traffic
from quaywatch.synth.patterns import PatternRates


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    return traffic.generate(tmp_path_factory.mktemp("clean"), days=2, per_day=2_000, seed=7)


@pytest.fixture(scope="session")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    return traffic.generate(
        tmp_path_factory.mktemp("noisy"), days=1, per_day=2_000, seed=8, noise=0.05
    )


@pytest.fixture(scope="session")
def rich(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    rates = PatternRates(cocaine=0.05, wildlife=0.02, displacement_week=0, displacement_share=0.5)
    return traffic.generate(
        tmp_path_factory.mktemp("rich"), days=2, per_day=2_000, seed=9, rates=rates
    )


@pytest.fixture(scope="session")
def large(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    return traffic.generate(
        tmp_path_factory.mktemp("large"), days=5, per_day=20_000, seed=10, with_events=False
    )
