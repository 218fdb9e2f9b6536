"""Before Spark starts: a clear message, not a traceback, when Java is missing or too old."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.errors import ConfigurationError
from quaywatch.scale import runtime


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
