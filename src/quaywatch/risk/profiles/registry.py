"""Risk profiles in the store: every version ever loaded, its status, and the active set.

A profile version goes draft → active → retired. ``load`` stores files as drafts (loading the
same file again changes nothing; a changed file with the same id and version is refused: a
stored version is never rewritten). ``activate`` makes one version of a profile the one in
force (retiring the version that was), ``retire`` takes a profile out of force. Each change
appends an audit event in the same transaction. ``active_profiles`` is what the engine runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import polars as pl
from sqlalchemy import Connection, and_, insert, select, update

from quaywatch.audit import chain
from quaywatch.errors import NotFoundError, RecordError, said
from quaywatch.risk.profiles import loader
from quaywatch.risk.profiles.apply import ProfileSet
from quaywatch.risk.profiles.profile import Profile
from quaywatch.store import tables
from quaywatch.store.store import Store

_T = tables.risk_profiles


class Status(StrEnum):
    """Where a stored profile version stands."""

    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class Loaded:
    """What ``load`` did with one profile: stored it as a draft, or found it already stored."""

    profile_id: str
    version: int
    new: bool
    status: str


def load(
    store: Store, profiles: Sequence[Profile], *, actor: str, now: datetime | None = None
) -> list[Loaded]:
    """Store ``profiles`` as drafts, all or none, in one transaction.

    A profile whose id and version are stored with the same content is left as it is; with
    other content it is refused (``RecordError``): give the changed profile a new version.
    """
    with store.transaction() as conn:
        return load_in(conn, profiles, actor=actor, now=now)


def load_in(
    conn: Connection, profiles: Sequence[Profile], *, actor: str, now: datetime | None = None
) -> list[Loaded]:
    """``load`` within the caller's transaction ``conn`` (a caller that records something
    else with the drafts, all or none)."""
    moment = now or tables.utcnow()
    done: list[Loaded] = []
    for p in profiles:
        row = conn.execute(
            select(_T.c.content_sha256, _T.c.source, _T.c.status, _T.c.loaded_at)
            .where(_T.c.profile_id == p.id, _T.c.version == p.version)
        ).first()  # fmt: skip
        if row is not None:
            if row.content_sha256 != p.sha256:
                raise RecordError(
                    said("version %(version)s of %(id)s is already stored with other content "
                         "(loaded from %(source)s at %(at)s); give the changed profile a new "
                         "version", version=p.version, id=p.id, source=row.source,
                         at=row.loaded_at.strftime("%Y-%m-%d %H:%M")),
                    source=p.source, record_id=p.id, field="version",
                )  # fmt: skip
            done.append(Loaded(p.id, p.version, False, row.status))
            continue
        conn.execute(insert(_T).values(
            profile_id=p.id, version=p.version, content_sha256=p.sha256, source=p.source,
            body=p.body, description=p.description, owner=p.owner,
            valid_from=p.valid_from, valid_to=p.valid_to, status=Status.DRAFT.value,
            loaded_at=moment, changed_at=moment, changed_by=actor,
        ))  # fmt: skip
        chain.append(
            conn, actor=actor, action="profile_load", object_type="risk_profile",
            object_id=f"{p.id}@{p.version}",
            details={"source": p.source, "sha256": p.sha256},
        )  # fmt: skip
        done.append(Loaded(p.id, p.version, True, Status.DRAFT.value))
    return done


def _versions(conn: Connection, profile_id: str) -> dict[int, str]:
    rows = conn.execute(
        select(_T.c.version, _T.c.status).where(_T.c.profile_id == profile_id)
    ).all()
    if not rows:
        raise NotFoundError(said("no risk profile %(id)s is loaded (quaywatch profiles list)",
                                 id=repr(profile_id)))  # fmt: skip
    return {int(r.version): str(r.status) for r in rows}


def _set_status(
    conn: Connection, profile_id: str, versions: Sequence[int], status: Status, actor: str
) -> None:
    conn.execute(
        update(_T)
        .where(and_(_T.c.profile_id == profile_id, _T.c.version.in_(list(versions))))
        .values(status=status.value, changed_at=tables.utcnow(), changed_by=actor)
    )


def activate(store: Store, profile_id: str, *, actor: str, version: int | None = None) -> int:
    """Put ``version`` (default: the highest loaded) of ``profile_id`` in force; return it.

    The version in force until now, if another, is retired. Activating the active version
    changes nothing and appends no event.
    """
    with store.transaction() as conn:
        versions = _versions(conn, profile_id)
        chosen = max(versions) if version is None else version
        if chosen not in versions:
            raise NotFoundError(said("%(id)s has no version %(version)s; loaded: %(loaded)s",
                                     id=profile_id, version=chosen,
                                     loaded=", ".join(str(v) for v in sorted(versions))))  # fmt: skip
        if versions[chosen] == Status.ACTIVE:
            return chosen
        replaced = [v for v, s in versions.items() if s == Status.ACTIVE]
        _set_status(conn, profile_id, replaced, Status.RETIRED, actor)
        _set_status(conn, profile_id, [chosen], Status.ACTIVE, actor)
        chain.append(
            conn, actor=actor, action="profile_activate", object_type="risk_profile",
            object_id=f"{profile_id}@{chosen}", details={"retired_versions": replaced},
        )  # fmt: skip
    return chosen


def retire(store: Store, profile_id: str, *, actor: str) -> list[int]:
    """Take ``profile_id`` out of force; return the versions retired."""
    with store.transaction() as conn:
        versions = _versions(conn, profile_id)
        active = [v for v, s in versions.items() if s == Status.ACTIVE]
        if not active:
            raise NotFoundError(said("risk profile %(id)s has no active version to retire",
                                     id=profile_id))  # fmt: skip
        _set_status(conn, profile_id, active, Status.RETIRED, actor)
        for v in active:
            chain.append(
                conn, actor=actor, action="profile_retire", object_type="risk_profile",
                object_id=f"{profile_id}@{v}",
            )  # fmt: skip
    return active


def listing(store: Store) -> pl.DataFrame:
    """Every stored profile version, newest version of each id first, without the bodies."""
    columns = [c for c in _T.columns if c.name != "body"]
    query = select(*columns).order_by(_T.c.profile_id, _T.c.version.desc())
    with store.reading() as conn:
        rows = conn.execute(query).all()
    schema = {c.name: pl.Datetime("us", "UTC") if isinstance(c.type, tables.UtcDateTime)
              else pl.Int64 if c.name == "version" else pl.String for c in columns}  # fmt: skip
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def body(store: Store, profile_id: str, version: int | None = None) -> tuple[int, str] | None:
    """The version (default: the highest stored) of ``profile_id`` and its text as loaded, or
    None when there is no such profile or version."""
    query = select(_T.c.version, _T.c.body).where(_T.c.profile_id == profile_id)
    if version is not None:
        query = query.where(_T.c.version == version)
    with store.reading() as conn:
        row = conn.execute(query.order_by(_T.c.version.desc()).limit(1)).first()
    return None if row is None else (int(row.version), str(row.body))


def active_profiles(store: Store) -> ProfileSet:
    """The profiles in force now, compiled: what an assessment runs.

    ``ProfileSet.version`` identifies them for the assessment's ``profile_version``.
    """
    query = select(_T.c.body, _T.c.source).where(_T.c.status == Status.ACTIVE.value)
    with store.reading() as conn:
        rows = conn.execute(query).all()
    return ProfileSet.of(loader.parse(r.body, r.source) for r in rows)
