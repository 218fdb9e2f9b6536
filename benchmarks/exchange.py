"""Exchange benchmark: signing and receiver checks, and two nodes exchanging over HTTP and files.

    python benchmarks/exchange.py [--messages 2000] [--batch 100] [--http-messages 300]
                                  [--workdir DIR]

Measures, on this machine:

- ``sign_per_s``: SeizureReports signed into transport records (canonical JSON, DSSE, Ed25519);
- ``verify_per_s``: records through every receiver check but replay (``receive.check``: parse,
  key lookup, signature, schema validation, recipient, expiry), no store;
- ``p99_ms`` / ``p50_ms``: end-to-end latency over HTTP between two nodes, per message: from
  ``exchange send`` at BEANR (signed, queued) to the push's answer that NLRTM's inbox stored it
  (NLRTM's API served by uvicorn on loopback in this process, its own SQLite store; every
  receiver check, the audit event, the commit; BEANR records the delivery). One message at a
  time, so the figure is latency, not throughput;
- ``file_p99_ms`` / ``file_p50_ms``: per batch of ``--batch`` messages, from ``exchange send``
  of the first at BEANR to the import of the export file committed at NLRTM (two SQLite
  stores), divided by the batch: the file transport's cost per message.

Last line: JSON with those figures.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEIZURE = {
    "containers": ["CSQU3054383"], "case_reference": "BEANR-2026-0042",
    "seizure_date": "2026-12-05T10:00:00Z", "place": "BEANR", "hs_code": "080390",
    "goods_description": "cocaine in banana boxes", "quantity": 412.5, "unit": "KGM",
    "concealment": "RIP_ON_RIP_OFF", "detection_method": "NII_SCAN", "vessel_imo": "9074729",
    "voyage": "123W", "route": ["ECGYE", "BEANR"],
}  # fmt: skip


def _crypto_figures(count: int) -> dict[str, float]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from quaywatch.exchange import envelope as dsse, messages
    from quaywatch.exchange.keys import key_id
    from quaywatch.exchange.receive import Accepted, PartnerKeys, Trust, check

    key = Ed25519PrivateKey.generate()
    now = datetime.now(UTC)
    body = messages.SeizureReport.model_validate(SEIZURE)
    kind = messages.payload_type(messages.MessageType.SEIZURE_REPORT)
    started = time.perf_counter()
    records = []
    for _ in range(count):
        header = messages.Header(
            message_id=str(uuid.uuid4()), message_type="seizure-report", sender="BEANR",
            recipient="NLRTM", issued_at=now, expires_at=now + timedelta(days=30),
        )  # fmt: skip
        records.append(dsse.record_line(dsse.sign(kind, messages.encode(header, body), [key])))
    sign_s = time.perf_counter() - started
    partner = PartnerKeys("BEANR", {key_id(key.public_key()): key.public_key()}, 1,
                          now + timedelta(days=365))  # fmt: skip
    trust = Trust("NLRTM", {"BEANR": partner})
    started = time.perf_counter()
    accepted = sum(isinstance(check(r, trust, now), Accepted) for r in records)
    verify_s = time.perf_counter() - started
    assert accepted == count
    return {"sign_per_s": round(count / sign_s), "verify_per_s": round(count / verify_s)}


def _two_nodes(work: Path) -> tuple[Any, Any]:
    from quaywatch.services import exchange as ex
    from quaywatch.store.store import Store

    work.mkdir(parents=True, exist_ok=True)
    a = Store.open(f"sqlite:///{work / 'beanr.db'}")
    b = Store.open(f"sqlite:///{work / 'nlrtm.db'}")
    for store, code in ((a, "BEANR"), (b, "NLRTM")):
        ex.generate_keys(store, work / f"{code}-keys", code, actor="bench")
        ex.export_root(store, work / f"{code}-root.jsonl")
    ex.add_partner(b, work / "BEANR-root.jsonl", actor="bench")
    ex.add_partner(a, work / "NLRTM-root.jsonl", actor="bench")
    return a, b


def _percentiles(values: list[float], prefix: str = "") -> dict[str, float]:
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(0.99 * len(values)))]
    return {
        f"{prefix}p50_ms": round(statistics.median(values), 2),
        f"{prefix}p99_ms": round(p99, 2),
    }


def _http_figures(work: Path, count: int) -> dict[str, float]:
    import httpx2
    import uvicorn

    from quaywatch.api.app import create_app
    from quaywatch.config import Settings
    from quaywatch.domain.access import Role
    from quaywatch.services import accounts, exchange as ex
    from quaywatch.services.exchange_push import push_once

    a, b = _two_nodes(work)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    accounts.add_user(b, "beanr-node", roles=[Role.PARTNER_NODE], actor="bench")
    token = accounts.create_token(b, "beanr-node", name="bench", actor="bench").token
    ex.set_inbox_url(a, work / "BEANR-keys", "NLRTM", f"http://127.0.0.1:{port}", token=token,
                     actor="bench")  # fmt: skip
    settings = Settings(database_url=f"sqlite:///{work / 'nlrtm.db'}",
                        key_dir=work / "NLRTM-keys", model_dir=work / "models")  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store=b), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="on"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    per_message_ms = []
    try:
        with httpx2.Client(timeout=30) as client:
            for _ in range(count):
                started = time.perf_counter()
                ex.send_body(a, work / "BEANR-keys", "NLRTM", "seizure-report", SEIZURE,
                             actor="bench")  # fmt: skip
                done = push_once(a, work / "BEANR-keys", actor="bench", client=client)
                assert [r.result for r in done.results] == ["delivered"], done
                per_message_ms.append((time.perf_counter() - started) * 1000)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        a.close()
        b.close()
    return _percentiles(per_message_ms)


def _file_figures(work: Path, count: int, batch: int) -> dict[str, float]:
    from quaywatch.services import exchange as ex

    a, b = _two_nodes(work)
    body = work / "seizure.json"
    body.write_text(json.dumps(SEIZURE))
    per_message_ms = []
    for n in range(count // batch):
        started = time.perf_counter()
        for _ in range(batch):
            ex.send(a, work / "BEANR-keys", "NLRTM", "seizure-report", body, actor="bench")
        ex.export(a, work / "BEANR-keys", work / f"out-{n}.jsonl", actor="bench")
        summary = ex.import_file(b, work / f"out-{n}.jsonl", actor="bench")
        assert summary.count("accepted") == batch
        per_message_ms.append((time.perf_counter() - started) * 1000 / batch)
    a.close()
    b.close()
    return _percentiles(per_message_ms, "file_")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--http-messages", type=int, default=300)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    figures: dict[str, float] = {"messages": args.messages, "batch": args.batch,
                                 "http_messages": args.http_messages}  # fmt: skip
    figures.update(_crypto_figures(args.messages))
    print(f"sign   {figures['sign_per_s']:,} messages/s; verify {figures['verify_per_s']:,}/s")
    with tempfile.TemporaryDirectory(dir=args.workdir) as work:
        figures.update(_file_figures(Path(work) / "file", args.messages, args.batch))
        figures.update(_http_figures(Path(work) / "http", args.http_messages))
    print(f"file exchange per message: p50 {figures['file_p50_ms']} ms, "
          f"p99 {figures['file_p99_ms']} ms")  # fmt: skip
    print(f"HTTP end to end per message: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
