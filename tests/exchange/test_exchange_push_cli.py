"""``quaywatch partners set-url`` and ``quaywatch exchange push --once``: BEANR's liaison
pushes its outbox over HTTP to NLRTM's service (served on loopback from a SQLite store)."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from exchange_support import SEIZURE
from typer.testing import CliRunner

from quaywatch.api.app import create_app
from quaywatch.cli import app
from quaywatch.config import Settings
from quaywatch.domain.access import Role
from quaywatch.services import accounts, exchange as ex
from quaywatch.store.store import Store

runner = CliRunner()


def run(node: Path, *args: str) -> tuple[int, str]:
    env = {
        "QUAYWATCH_DATABASE_URL": f"sqlite:///{node / 'quaywatch.db'}",
        "QUAYWATCH_KEY_DIR": str(node / "keys"),
        "QUAYWATCH_ACTOR": node.name.lower(),
        "QUAYWATCH_EXCHANGE_PUSH_BASE_S": "0.5",  # the first retry half a second later
    }
    result = runner.invoke(app, list(args), env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_the_liaison_points_the_push_at_a_partner_and_pushes(
    tmp_path: Path, free_port: int, serve_app: Callable[[Any], AbstractContextManager[str]]
) -> None:
    a, b = tmp_path / "BEANR", tmp_path / "NLRTM"
    for node in (a, b):
        node.mkdir()
        assert run(node, "keys", "generate", node.name)[0] == 0
        assert run(node, "keys", "show", "--export", str(node / "root.jsonl"))[0] == 0
    assert run(b, "partners", "add", str(a / "root.jsonl"))[0] == 0
    assert run(a, "partners", "add", str(b / "root.jsonl"))[0] == 0
    (a / "seizure.json").write_text(json.dumps(SEIZURE))
    code, out = run(a, "exchange", "send", "--to", "NLRTM", "--type", "seizure-report",
                    "--file", str(a / "seizure.json"))  # fmt: skip
    assert code == 0, out
    message_id = out.split()[2]

    code, out = run(a, "partners", "set-url", "NLRTM", "http://nlrtm.example/")
    assert code != 0 and "plain http only on this machine" in out, out

    # NLRTM issues BEANR's node a token; BEANR keeps it in its key directory, mode 0600.
    b_store = Store.open(f"sqlite:///{b / 'quaywatch.db'}")
    try:
        accounts.add_user(b_store, "beanr-node", roles=[Role.PARTNER_NODE], actor="nlrtm")
        token = accounts.create_token(b_store, "beanr-node", name="push", partner="BEANR",
                                      actor="nlrtm").token  # fmt: skip
        (a / "token.txt").write_text(token + "\n")

        # NLRTM is down: the push fails, says when it tries again, and exits non-zero.
        down = f"http://127.0.0.1:{free_port}"
        code, out = run(a, "partners", "set-url", "NLRTM", down, "--token-file",
                        str(a / "token.txt"))  # fmt: skip
        assert code == 0 and f"messages pushed to {down}" in out, out
        kept = a / "keys" / "push-tokens" / "NLRTM.token"
        assert kept.read_text().strip() == token
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        code, out = run(a, "exchange", "push", "--once")
        assert code == 1 and "0 delivered, 0 refused, 1 failed" in out, out
        assert "next try" in out
        code, out = run(a, "exchange", "outbox")
        assert code == 0 and "retrying after 1 attempt(s)" in out, out

        settings = Settings(database_url=f"sqlite:///{b / 'quaywatch.db'}", key_dir=b / "keys",
                            model_dir=b / "models")  # fmt: skip
        with serve_app(create_app(settings, store=b_store)) as base:
            assert run(a, "partners", "set-url", "NLRTM", base)[0] == 0
            time.sleep(0.6)  # the backoff after the first attempt
            code, out = run(a, "exchange", "push", "--once")
            assert code == 0 and "1 delivered" in out and "attempt 2" in out, out
        received = ex.inbox(b_store).received
        assert [r.message_id for r in received] == [message_id]
    finally:
        b_store.close()
    code, out = run(a, "exchange", "outbox")
    assert code == 0 and "delivered" in out, out
