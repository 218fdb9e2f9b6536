"""The README's path to the API, as a user runs it: `quaywatch users add`, `tokens create`,
`quaywatch serve`, then one POST of examples/consignment.json that answers with its
assessment; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

ROOT = Path(__file__).parents[2]
QUAYWATCH = [str(Path(sys.executable).parent / "quaywatch")]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*QUAYWATCH, *args], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


@pytest.mark.slow  # starts the server in its own process: 5-10 s
def test_serve_with_a_token_answers_a_posted_consignment(
    store_url: str, models: Path, free_port: int
) -> None:
    env = {**os.environ, "QUAYWATCH_DATABASE_URL": store_url, "QUAYWATCH_MODEL_DIR": str(models)}
    added = _run(["users", "add", "pcs-feed", "--role", "feed", "--no-password"], env)
    assert added.returncode == 0, added.stderr
    created = _run(["tokens", "create", "pcs-feed", "--name", "port community system"], env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    port = free_port
    server = subprocess.Popen([*QUAYWATCH, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                if httpx2.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, "quaywatch serve did not become ready"
            time.sleep(0.2)
        record = json.loads((ROOT / "examples" / "consignment.json").read_text())
        answer = httpx2.post(f"{base}/api/v1/consignments", json=record, timeout=60,
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert answer.status_code == 201, answer.text
        assert answer.json()["assessment"]["reasons"]
        refused = httpx2.post(f"{base}/api/v1/consignments", json=record, timeout=60)
        assert refused.status_code == 401
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "QUAYWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}"}
    done = _run(["serve", "--workers", "2"], env)
    assert done.returncode == 2
    assert "SQLite has a single writer" in done.stderr and "Traceback" not in done.stderr
