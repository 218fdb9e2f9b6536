"""`quaywatch demo --serve` (what `make demo` runs): the demo's store and model served, its
demo login printed and accepted by the login form."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

QUAYWATCH = [str(Path(sys.executable).parent / "quaywatch")]


@pytest.mark.slow  # the demo (about 10 s) and a server start
def test_demo_serve_serves_the_demo_and_its_login_works(tmp_path: Path, free_port: int) -> None:
    port = free_port
    env = {**os.environ, "QUAYWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    printed: list[str] = []
    with subprocess.Popen(
        [*QUAYWATCH, "demo", "--count", "1000", "--out", str(tmp_path / "demo"), "--serve",
         "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as server:  # fmt: skip
        try:
            _check(server, printed, port)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _check(server: subprocess.Popen[str], printed: list[str], port: int) -> None:
    """The demo prints its login, serves, and the login form takes the login."""
    assert server.stdout is not None
    deadline = time.monotonic() + 240
    while not any("Ctrl-C stops the service" in line for line in printed):
        assert time.monotonic() < deadline and server.poll() is None, "".join(printed)
        printed.append(server.stdout.readline())
    login = re.search(r"username (\S+), password (\S+)", "".join(printed))
    assert login, "the demo login is not printed"
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx2.get(f"{base}/ready", timeout=2).status_code == 200:
                break
        except httpx2.TransportError:
            pass
        assert time.monotonic() < deadline and server.poll() is None, "not ready"
        time.sleep(0.2)
    with httpx2.Client(base_url=base, follow_redirects=False) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
        assert token
        answer = client.post("/login", data={"username": login.group(1),
                                             "password": login.group(2),
                                             "csrf_token": token.group(1), "next": "/"})  # fmt: skip
        assert answer.status_code == 303
        page = client.get("/worklist")
        assert page.status_code == 200 and 'class="worklist"' in page.text
