"""A local Spark session's driver JVM options keep the site's own (spark-defaults.conf)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quaywatch.scale import spark


def test_the_quick_jit_alone_without_site_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPARK_HOME", raising=False)
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert spark.local_driver_options() == spark.QUICK_JIT


@pytest.mark.parametrize("separator", [" ", "\t", "=", " = "])
def test_the_site_options_come_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, separator: str
) -> None:
    (tmp_path / "spark-defaults.conf").write_text(
        "# site settings\n"
        "spark.driver.memory 4g\n"
        f"spark.driver.extraJavaOptions{separator}-Dlog4j.configurationFile=site.xml -Xss4m\n"
    )
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert spark.local_driver_options() == (
        f"-Dlog4j.configurationFile=site.xml -Xss4m {spark.QUICK_JIT}"
    )
