"""Reference data in use at import, on both backends: every UN/LOCODE seaport imports, a site's
ports file adds a port, and each import batch records the reference version it was checked with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from quaywatch.domain.vocabulary import RecordKind
from quaywatch.errors import ReferenceDataError
from quaywatch.services import intake, reference
from quaywatch.store import tables
from quaywatch.store.store import Store

EXAMPLE = Path(__file__).parents[2] / "examples" / "consignments.jsonl"


def consignment(number: int, port_of_loading: str, hubs: tuple[str, ...] = ()) -> dict[str, Any]:
    """The example file's first consignment, renumbered, loaded at ``port_of_loading``."""
    record = json.loads(EXAMPLE.read_text().splitlines()[0])
    route = {**record["route"], "port_of_loading": port_of_loading,
             "transshipment_ports": list(hubs)}  # fmt: skip
    return {**record, "consignment_id": f"REF-{number:04d}", "route": route}


def submit(store: Store, *records: dict[str, Any]) -> intake.Submission:
    return intake.submit_records(
        store, list(records), kind=RecordKind.CONSIGNMENTS, source="test", actor="tester"
    )


def batch_versions(store: Store) -> list[str | None]:
    b = tables.import_batches
    with store.reading() as conn:
        query = select(b.c.reference_version).order_by(b.c.started_at, b.c.batch_id)
        return list(conn.execute(query).scalars())


def test_ports_in_un_locode_outside_the_curated_list_import(store: Store) -> None:
    done = submit(
        store,
        consignment(1, "PEPAI"),  # Paita
        consignment(2, "COTRB"),  # Turbo
        consignment(3, "GHTKD", hubs=("PEPAI",)),  # Takoradi, via Paita
        consignment(4, "NLZZZ"),  # no such place
    )
    assert done.stored_ids == ("REF-0001", "REF-0002", "REF-0003")
    (rejected,) = done.rejected
    assert rejected.record_id == "REF-0004 v2"
    assert rejected.errors == (("port_of_loading", "UN/LOCODE NLZZZ is not a known port"),)
    assert batch_versions(store) == [reference.listing(None).version]


def test_a_site_ports_file_adds_a_port_and_the_batch_records_the_version(
    store: Store, tmp_path: Path
) -> None:
    shipped = reference.activate(None)
    first = submit(store, consignment(1, "NLQWX"))
    assert first.rejected and not first.stored_ids
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "ports.csv").write_text("locode,name,country,region\nNLQWX,Quaywatch Harbour,NL,\n")
    with_site = reference.activate(folder)
    second = submit(store, consignment(1, "NLQWX"))
    assert second.stored_ids == ("REF-0001",) and not second.rejected
    assert batch_versions(store) == [shipped, with_site] and with_site != shipped


def test_a_bad_site_directory_is_not_put_in_use(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "ports.csv").write_text("locode,name,country,region\nNLQW1,Harbour,NL,\n")
    shipped = reference.activate(None)
    with pytest.raises(ReferenceDataError, match="ports.csv line 2, field locode"):
        reference.activate(folder)
    assert reference.listing(None).version == shipped
    found = reference.check(folder)
    assert not found.ok and found.listing is None
    assert [p.line for p in found.problems] == [2]
