"""Uploads are capped before they are read: a file posted to an order's attachments larger
than the size limit (and its form) is refused with 413 whether or not its length is stated,
and a web upload without a session is sent to the login form unread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from quaywatch.api.uploads import OVERHEAD
from quaywatch.config import Settings
from quaywatch.store.store import Store
from quaywatch.web.app import create_app

LIMIT = 1024


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'q.db'}", model_dir=tmp_path,
                        attachment_max_bytes=LIMIT)  # fmt: skip
    store = Store.open(settings.database_url)
    try:
        with TestClient(create_app(settings, store=store), base_url="http://127.0.0.1") as c:
            yield c
    finally:
        store.close()


def test_an_oversized_upload_is_refused_before_it_is_read(client: TestClient) -> None:
    big = b"x" * (LIMIT + OVERHEAD + 1)
    stated = client.post("/api/v1/orders/O-1/attachments", files={"file": ("a.png", big)})
    assert stated.status_code == 413 and "larger than" in stated.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no length stated: counted as it arrives
        yield (b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
               b"Content-Type: image/png\r\n\r\n")  # fmt: skip
        for _ in range(40):
            yield b"y" * 4096

    streamed = client.post("/api/v1/orders/O-1/attachments", content=chunks(),
                           headers={"content-type": "multipart/form-data; boundary=b"})  # fmt: skip
    assert streamed.status_code == 413
    page = client.post("/orders/O-1/attachments", files={"file": ("a.png", big)},
                       follow_redirects=False)  # fmt: skip
    assert page.status_code == 413
    small = client.post("/orders/O-1/attachments", files={"file": ("a.png", b"tiny")},
                        follow_redirects=False)  # fmt: skip
    assert small.status_code == 303 and small.headers["location"].startswith("/login")
    unknown = client.post("/api/v1/orders/O-1/attachments", files={"file": ("a.png", b"tiny")})
    assert unknown.status_code == 401  # within the cap: the route asks who it is
