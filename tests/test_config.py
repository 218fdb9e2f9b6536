"""Every setting is checked when it is read: a value out of range names the variable and what
it accepts, on the command line as from ``load_settings``, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.config import Settings, allowed, load_settings
from quaywatch.errors import ConfigurationError


@pytest.mark.parametrize(
    ("name", "value", "accepts"),
    [
        ("BATCH_SIZE", "0", "a whole number of at least 1 and at most 5,000,000"),
        ("BATCH_SIZE", "many", "a whole number of at least 1"),
        ("BATCH_SIZE", "99999999", "at most 5,000,000"),
        ("CONTROL_CAPACITY_PCT", "0", "a number above 0 and at most 100"),
        ("CONTROL_CAPACITY_PCT", "101", "a number above 0 and at most 100"),
        ("CONTROL_CAPACITY_PCT", "nan", "a number above 0 and at most 100"),
        ("HIT_SATURATION_PCT", "-1", "a number above 0 and at most 100"),
        ("HIT_PRIOR_STRENGTH", "inf", "a number above 0 and at most 1,000,000"),
        ("TRAIN_MIN_HITS", "0", "a whole number of at least 1"),
        ("ATTACHMENT_MAX_BYTES", "0", "a whole number of at least 1 and at most 104,857,600"),
        ("LOCK_TIMEOUT_S", "0", "a number above 0 and at most 3,600"),
        ("AUTO_MIGRATE", "perhaps", "true or false"),
        ("MODEL_DIR", "", "a folder"),
        ("CAPACITY_FILE", "no-such.yaml", "an existing capacity file"),
        ("ACTOR", "   ", "a name of 1 to 128 printable characters"),
        ("ACTOR", "a\x1b[31mb", "a name of 1 to 128 printable characters"),
        ("ACTOR", "x" * 129, "a name of 1 to 128 printable characters"),
        ("DATABASE_URL", "mysql://u:hunter2@db/x", "sqlite:///PATH or postgresql://"),
    ],
)
def test_a_bad_setting_names_its_variable_and_what_it_accepts(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, accepts: str
) -> None:
    monkeypatch.setenv(f"QUAYWATCH_{name}", value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert f"QUAYWATCH_{name}: " in raised.value.message
    assert "; allowed: " in raised.value.message and accepts in raised.value.message
    assert "hunter2" not in raised.value.message

    result = CliRunner().invoke(app, ["quarantine", "list"])
    assert result.exit_code == 2 and f"QUAYWATCH_{name}" in result.output
    assert "Traceback" not in result.output and "hunter2" not in result.output


def test_a_model_folder_that_is_a_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "models").write_text("not a folder")
    monkeypatch.setenv("QUAYWATCH_MODEL_DIR", str(tmp_path / "models"))
    with pytest.raises(ConfigurationError, match="is a file, not a folder"):
        load_settings()


def test_every_setting_says_what_it_accepts() -> None:
    for name in Settings.model_fields:
        assert allowed(name) not in ("", "text"), name


def test_the_defaults_are_valid() -> None:
    assert load_settings() == Settings()
