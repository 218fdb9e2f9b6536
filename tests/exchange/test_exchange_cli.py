"""``quaywatch keys``, ``partners`` and ``exchange`` through the command line, as a liaison
officer at each of two administrations would run them."""

from __future__ import annotations

import json
from pathlib import Path

from exchange_support import SEIZURE
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.exchange import envelope as dsse, roots

runner = CliRunner()


def run(node: Path, *args: str) -> tuple[int, str]:
    env = {
        "QUAYWATCH_DATABASE_URL": f"sqlite:///{node / 'quaywatch.db'}",
        "QUAYWATCH_KEY_DIR": str(node / "keys"),
        "QUAYWATCH_ACTOR": node.name.lower(),
    }
    result = runner.invoke(app, list(args), env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_two_administrations_set_up_trust_and_exchange_a_seizure_report(tmp_path: Path) -> None:
    a, b = tmp_path / "BEANR", tmp_path / "NLRTM"
    for node in (a, b):
        node.mkdir()
        code, out = run(node, "keys", "generate", node.name)
        assert code == 0, out
        assert f"{node.name} root version 1: 1 key(s), threshold 1" in out
        code, out = run(node, "keys", "show", "--export", str(node / "root.jsonl"))
        assert code == 0 and "partners add" in out, out
    code, out = run(b, "partners", "add", str(a / "root.jsonl"))
    assert code == 0 and "BEANR: 1 new root(s) trusted" in out, out
    # The fingerprint the officers compare by phone: the SHA-256 of the root's payload.
    fingerprint = roots.fingerprint(dsse.from_json(json.loads((a / "root.jsonl").read_text())))
    assert f"fingerprint {fingerprint}" in out
    code, out = run(a, "partners", "add", str(b / "root.jsonl"))
    assert code == 0, out
    code, out = run(b, "partners", "list")
    assert code == 0 and "BEANR" in out and "active" in out, out

    (a / "seizure.json").write_text(json.dumps(SEIZURE))
    code, out = run(a, "exchange", "send", "--to", "NLRTM", "--type", "seizure-report",
                    "--file", str(a / "seizure.json"))  # fmt: skip
    assert code == 0 and out.startswith("queued seizure-report "), out
    message_id = out.split()[2]
    code, out = run(a, "exchange", "outbox")
    assert code == 0 and message_id in out and "not yet" in out, out
    code, out = run(a, "exchange", "export", str(a / "out.jsonl"))
    assert code == 0 and "wrote 1 message(s)" in out, out

    # A line of control characters and markup travels with the good one.
    hostile = b'\x1b]0;owned\x07[bold red]{"format":1}'
    (b / "in.jsonl").write_bytes((a / "out.jsonl").read_bytes() + hostile + b"\n")
    code, out = run(b, "exchange", "import", str(b / "in.jsonl"))
    assert code == 0, out
    assert "1 accepted, 0 already received, 1 rejected" in out
    code, out = run(b, "exchange", "import", str(b / "in.jsonl"))
    assert "0 accepted, 1 already received, 1 rejected" in out
    code, out = run(b, "exchange", "inbox")
    assert code == 0, out
    assert message_id in out and "BEANR" in out and "malformed" in out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;owned\\x07[bold red]" in out


def test_errors_are_messages_with_exit_codes(tmp_path: Path) -> None:
    node = tmp_path / "NLRTM"
    node.mkdir()
    (node / "in.jsonl").write_text("{}\n")
    code, out = run(node, "exchange", "import", str(node / "in.jsonl"))
    assert code == 2 and "no keys yet: run `quaywatch keys generate`" in out
    code, out = run(node, "keys", "generate", "nlrtm")
    assert code == 2 and "field administration" in out, out
    run(node, "keys", "generate", "NLRTM")
    code, out = run(node, "partners", "add", str(node / "missing.jsonl"))
    assert code == 2 and "cannot be read" in out
    (node / "bad.jsonl").write_text("{}\n")
    code, out = run(node, "partners", "add", str(node / "bad.jsonl"))
    assert code == 2 and "line 1: not a root envelope" in out
    code, out = run(node, "partners", "revoke", "DEHAM", "--reason", "x")
    assert code == 3 and "no partner DEHAM" in out
