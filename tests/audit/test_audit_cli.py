"""``quaywatch audit keygen / anchor / verify --full --anchor FILE`` through typer's runner."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from quaywatch.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).parents[2] / "examples"


def run(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database", url, *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def tamper(url: str, statement: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_keygen_anchor_and_full_verify_catch_tampering(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = run(store_url, "audit", "keygen", "--to", str(tmp_path / "audit.key"))
    assert code == 0 and "QUAYWATCH_AUDIT_KEY_FILE" in out
    assert (tmp_path / "audit.key").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("QUAYWATCH_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    assert run(store_url, "ingest", str(EXAMPLES / "consignments.csv"))[0] == 0
    code, out = run(store_url, "audit", "anchor", "--to", str(tmp_path / "head.anchor"))
    assert code == 0 and "anchor written" in out and "its event signed" in out

    code, out = run(
        store_url, "audit", "verify", "--full", "--anchor", str(tmp_path / "head.anchor")
    )
    assert code == 0, out
    assert "1 events (1 signed, signatures checked)" in out
    assert re.search(r"stored data intact: [\d,]+ rows re-hashed in .* rows/s\) against 1 ", out)

    tamper(store_url, "UPDATE goods_items SET description = '[link=http://x]Bananas[/link]'")
    assert run(store_url, "audit", "verify")[0] == 0  # the chain alone: fast, data not read
    code, out = run(store_url, "audit", "verify", "--full")
    assert code == 4 and "goods_items" in out and "changed since it was stored" in out

    tamper(store_url, "DELETE FROM audit_events")
    tamper(store_url, "DELETE FROM audit_head")
    code, out = run(store_url, "audit", "verify", "--anchor", str(tmp_path / "head.anchor"))
    assert code == 4 and "anchored audit event 1 is no longer in the log" in out


def test_an_unusable_key_file_is_a_clear_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "short.key").write_text("secret\n")
    monkeypatch.setenv("QUAYWATCH_AUDIT_KEY_FILE", str(tmp_path / "short.key"))
    code, out = run(f"sqlite:///{tmp_path / 'q.db'}", "audit", "verify")
    assert code == 2 and "QUAYWATCH_AUDIT_KEY_FILE" in out and "at least 32 bytes" in out
    monkeypatch.setenv("QUAYWATCH_AUDIT_KEY_FILE", str(tmp_path / "missing.key"))
    code, out = run(f"sqlite:///{tmp_path / 'q.db'}", "audit", "verify")
    assert code == 2 and "cannot read the audit key file" in out
