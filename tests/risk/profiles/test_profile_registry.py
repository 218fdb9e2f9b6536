"""Profiles in the store, on SQLite and PostgreSQL: load, activate, retire, the active set."""

from __future__ import annotations

import pytest

from quaywatch.audit import chain
from quaywatch.errors import NotFoundError, RecordError
from quaywatch.risk.profiles import loader, registry
from quaywatch.store.store import Store

BODY = """\
id: {id}
version: {version}
description: {description}
owner: analyst
valid_from: 2026-10-01
condition: reefer and n_containers == 1
action: {{weight: 1.0, lane: orange}}
"""


def profile(id: str = "P-1", version: int = 1, description: str = "single reefers"):  # noqa: ANN201
    text = BODY.format(id=id, version=version, description=description)
    return loader.parse(text, f"{id}-v{version}.yaml")


def test_load_is_idempotent_and_a_version_is_never_rewritten(store: Store) -> None:
    first = registry.load(store, [profile(), profile("P-2")], actor="ana")
    assert [(x.profile_id, x.new, x.status) for x in first] == [
        ("P-1", True, "draft"), ("P-2", True, "draft")]  # fmt: skip
    again = registry.load(store, [profile()], actor="ana")
    assert [(x.new, x.status) for x in again] == [(False, "draft")]
    with pytest.raises(RecordError, match="version 1 of P-1 is already stored with other") as e:
        registry.load(store, [profile(description="changed"), profile("P-3")], actor="ana")
    assert e.value.source == "P-1-v1.yaml" and e.value.field == "version"
    listed = registry.listing(store)
    assert listed.get_column("profile_id").to_list() == ["P-1", "P-2"]  # P-3 not half-loaded
    row = listed.row(0, named=True)
    assert (row["version"], row["status"], row["owner"], row["changed_by"]) == (
        1, "draft", "analyst", "ana")  # fmt: skip
    assert row["valid_from"].year == 2026 and row["valid_to"] is None
    assert len(registry.active_profiles(store)) == 0


def test_activate_and_retire_change_the_active_set_and_the_audit_trail(store: Store) -> None:
    registry.load(store, [profile(), profile(version=2, description="v2"), profile("P-2")],
                  actor="ana")  # fmt: skip
    empty = registry.active_profiles(store).version
    assert registry.activate(store, "P-1", actor="bo", version=1) == 1
    active = registry.active_profiles(store)
    assert [(p.id, p.version) for p in active.profiles] == [("P-1", 1)]
    assert active.version != empty
    assert registry.activate(store, "P-1", actor="bo") == 2  # the highest; v1 retired
    registry.activate(store, "P-2", actor="bo")
    active = registry.active_profiles(store)
    assert [(p.id, p.version) for p in active.profiles] == [("P-1", 2), ("P-2", 1)]
    statuses = {(r["profile_id"], r["version"]): r["status"]
                for r in registry.listing(store).iter_rows(named=True)}  # fmt: skip
    assert statuses == {("P-1", 2): "active", ("P-1", 1): "retired", ("P-2", 1): "active"}
    assert registry.retire(store, "P-1", actor="cy") == [2]
    assert [p.id for p in registry.active_profiles(store).profiles] == ["P-2"]
    with pytest.raises(NotFoundError, match="no active version"):
        registry.retire(store, "P-1", actor="cy")
    with pytest.raises(NotFoundError, match="has no version 7"):
        registry.activate(store, "P-1", actor="cy", version=7)
    with pytest.raises(NotFoundError, match="no risk profile 'P-9'"):
        registry.activate(store, "P-9", actor="cy")
    with store.transaction() as conn:
        events = [(e.action, e.object_id, e.actor) for e in reversed(chain.recent(conn, 20))]
        chain.verify(conn)
    assert events == [
        ("profile_load", "P-1@1", "ana"), ("profile_load", "P-1@2", "ana"),
        ("profile_load", "P-2@1", "ana"), ("profile_activate", "P-1@1", "bo"),
        ("profile_activate", "P-1@2", "bo"), ("profile_activate", "P-2@1", "bo"),
        ("profile_retire", "P-1@2", "cy"),
    ]  # fmt: skip
