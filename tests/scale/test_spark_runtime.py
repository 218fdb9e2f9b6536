"""Before Spark starts: a clear message, not a traceback, when Java is missing or too old or
the output folder would overwrite the lake."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.errors import ConfigurationError, InputError
from quaywatch.scale import lake, runtime
from quaywatch.services.scale import results_folder


def _java(home: Path, version_line: str) -> Path:
    """A JAVA_HOME whose bin/java prints ``version_line`` as ``java -version`` does (stderr)."""
    java = home / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    return java


@pytest.mark.parametrize(
    ("line", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "11.0.22" 2024-01-16', 11),
        ("no version here", None),
    ],
)
def test_java_versions_are_read(line: str, major: int | None) -> None:
    assert runtime.java_major(line) == major


@given(st.integers(min_value=9, max_value=99), st.integers(min_value=0, max_value=40))
def test_any_modern_version_string_gives_its_major(major: int, minor: int) -> None:
    assert runtime.java_major(f'openjdk version "{major}.{minor}.1" 2030-01-01') == major


def test_an_old_java_is_refused_with_how_to_install(tmp_path: Path) -> None:
    java = _java(tmp_path / "jdk11", 'openjdk version "11.0.22" 2024-01-16')
    with pytest.raises(ConfigurationError, match="is Java 11") as caught:
        runtime.check_java(str(java))
    assert "apt install openjdk-17-jre-headless" in caught.value.message
    assert runtime.check_java(str(_java(tmp_path / "jdk17", 'openjdk version "17.0.2"'))) == 17


def test_the_cli_says_java_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "_manifest.json").write_text('{"format": 1}')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    done = CliRunner().invoke(app, [
        "spark", "score", "--lake", str(tmp_path / "lake"), "--from", "2026-10-01",
        "--to", "2026-10-02", "--model", str(tmp_path),
    ])  # fmt: skip
    assert done.exit_code == ConfigurationError.exit_code, done.output
    assert "Spark needs Java 17+, and none was found" in done.output
    assert "openjdk-17-jre-headless" in done.output and "Traceback" not in done.output
    assert os.environ["JAVA_HOME"].endswith("no-java")


def test_spark_state_says_java_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake_dir = _lake(tmp_path)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    done = CliRunner().invoke(app, ["spark", "state", "--lake", str(lake_dir)])
    assert done.exit_code == ConfigurationError.exit_code, done.output
    assert "Spark needs Java 17+, and none was found" in done.output
    assert "Traceback" not in done.output


@pytest.mark.parametrize(
    ("state", "says"),
    [
        (None, "is not a lake"),
        ("{not json", "not a kept entity state"),
        ('{"format": 7, "export": 1}', "format 7, expected 1"),
        ('{"format": 1, "export": "x", "buckets": 4, "parts": {}, "rows": 0, "generation": 1}',
         "not a kept entity state"),
    ],
)  # fmt: skip
def test_spark_state_refuses_what_is_not_a_lake_or_a_kept_state(
    tmp_path: Path, state: str | None, says: str
) -> None:
    """Before Spark starts: a clear error naming the file, never a traceback."""
    lake_dir = tmp_path / "lake"
    if state is not None:
        lake_dir = _lake(tmp_path)
        (lake_dir / "entity_state").mkdir()
        (lake_dir / "entity_state" / "_state.json").write_text(state)
    done = CliRunner().invoke(app, ["spark", "state", "--lake", str(lake_dir)])
    assert done.exit_code == InputError.exit_code, done.output
    assert says in done.output and "Traceback" not in done.output, done.output
    if state is not None:
        assert "_state.json" in done.output and "--rebuild" in done.output


def _lake(tmp_path: Path) -> Path:
    lake_dir = tmp_path / "data" / "lake"
    lake_dir.mkdir(parents=True)
    (lake_dir / "_manifest.json").write_text('{"format": 1}')
    return lake_dir


@pytest.mark.parametrize(
    ("out", "says"),
    [
        ("data/lake", "is inside the lake"),
        ("data/lake/consignments", "is inside the lake"),
        ("data/lake/results/july", "is inside the lake"),
        ("data/lake/spark_assessments/../consignments", "is inside the lake"),
        ("data", "holds the lake"),
        (".", "holds the lake"),
    ],
)
def test_an_output_folder_that_would_overwrite_the_lake_is_refused(
    tmp_path: Path, out: str, says: str
) -> None:
    """Spark overwrites the date folders it writes: never the lake's own."""
    lake_dir = _lake(tmp_path)
    done = CliRunner().invoke(app, [
        "spark", "score", "--lake", str(lake_dir), "--from", "2026-10-01", "--to", "2026-10-02",
        "--model", str(tmp_path), "--out", str(tmp_path / out),
    ])  # fmt: skip
    assert done.exit_code == InputError.exit_code, done.output
    assert says in done.output and "Traceback" not in done.output
    assert (lake_dir / "_manifest.json").exists()


def test_the_default_output_folder_and_one_outside_the_lake_are_used(tmp_path: Path) -> None:
    lake_dir = _lake(tmp_path)
    default = (lake_dir / lake.SPARK_RESULTS).resolve()
    assert lake.SPARK_RESULTS not in lake.TABLES
    assert results_folder(lake_dir, None) == default
    assert results_folder(lake_dir, lake_dir / lake.SPARK_RESULTS) == default
    assert results_folder(lake_dir, tmp_path / "out") == (tmp_path / "out").resolve()
    assert (
        results_folder(lake_dir, tmp_path / "data" / "lake2")
        == (tmp_path / "data" / "lake2").resolve()
    )
