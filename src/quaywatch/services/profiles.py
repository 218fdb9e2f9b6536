"""Use cases of analysts' risk profiles, in the order of their workflow (``docs/profiles.md``).

- ``validate_profiles``: check profile files, every error with its file, line and reason;
- ``trial_profiles``: run profile files over a period of stored traffic: hits, share of traffic,
  hit rate of the controls of what they hit, against all controls of the period;
- ``load_profiles``: store profile files as drafts, all or none;
- ``list_profiles``: every stored profile version with its status;
- ``activate_profile`` / ``retire_profile``: put a version in force, take a profile out of it.

Loading, activating and retiring append audit events (``risk.profiles.registry``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, func, select

from quaywatch.errors import (
    InputError,
    ModelError,
    NotFoundError,
    QuaywatchError,
    RecordError,
    said,
)
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.profiles import loader, registry, trial
from quaywatch.risk.profiles.apply import ProfileSet
from quaywatch.risk.profiles.profile import Profile
from quaywatch.risk.profiles.registry import Loaded, Status
from quaywatch.services.arguments import utc
from quaywatch.store import tables
from quaywatch.store.store import Store

__all__ = [
    "Loaded",
    "ProfileCheck",
    "ProfileExample",
    "ProfileStatusChange",
    "ProfileTrial",
    "ProfileTrialRow",
    "ProfileSource",
    "ProfileText",
    "ProfileValidation",
    "ProfileVersion",
    "activate_profile",
    "list_profiles",
    "load_profiles",
    "retire_profile",
    "trial_profiles",
    "validate_profiles",
]


@dataclass(frozen=True, slots=True)
class ProfileText:
    """A profile given as text (what an analyst posts or types), named for its messages."""

    name: str
    text: str


#: A profile file, or a profile's text.
ProfileSource = Path | ProfileText


def _check_files(paths: Sequence[ProfileSource]) -> None:
    if not paths:
        raise InputError("paths must name at least one profile file")


def _read(source: ProfileSource) -> Profile:
    if isinstance(source, ProfileText):
        return loader.parse(source.text, source.name)
    return loader.read(source)


def _name(source: ProfileSource) -> str:
    return source.name if isinstance(source, ProfileText) else str(source)


@dataclass(frozen=True, slots=True)
class ProfileCheck:
    """One file checked: the profile it holds, or why it cannot be used.

    ``error`` is the whole message in English (file, line, record, field, reason, and the
    condition quoted with a caret); ``location`` (``line 5``) and ``field`` are given apart
    when the error points at them, ``line`` and ``column`` (from 1) as numbers where known.
    ``reason`` is the reason alone, made with ``errors.said`` where it translates (a page shows
    it in the analyst's language), and ``code`` its message id (the English template).
    """

    file: str
    ok: bool
    profile_id: str | None = None
    version: int | None = None
    description: str | None = None
    error: str | None = None
    location: str | None = None
    field: str | None = None
    line: int | None = None
    column: int | None = None
    reason: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileValidation:
    """Every file checked, in the order given; ``failed``: how many cannot be used."""

    files: tuple[ProfileCheck, ...]
    failed: int


def validate_profiles(paths: Sequence[ProfileSource]) -> ProfileValidation:
    """Check the profile files (or texts) ``paths``; each gives its profile or its error, none
    stops."""
    _check_files(paths)
    checks: list[ProfileCheck] = []
    for path in paths:
        try:
            p = _read(path)
        except RecordError as exc:
            checks.append(ProfileCheck(_name(path), False, error=exc.message,
                                       location=exc.location, field=exc.field, line=exc.line,
                                       column=exc.column, reason=exc.reason,
                                       code=exc.code))  # fmt: skip
        except QuaywatchError as exc:
            checks.append(ProfileCheck(_name(path), False, error=exc.message,
                                       reason=exc.message, code=exc.code))  # fmt: skip
        else:
            checks.append(ProfileCheck(_name(path), True, p.id, p.version, p.description))
    return ProfileValidation(tuple(checks), sum(not c.ok for c in checks))


def load_profiles(
    store: Store, paths: Sequence[ProfileSource], *, actor: str
) -> tuple[Loaded, ...]:
    """Store the profile files ``paths`` as drafts, all or none.

    A file loaded again changes nothing (its ``Loaded.new`` is False, with its stored status);
    a changed file with a stored id and version is refused (``RecordError``); the first file
    that does not validate stops the load before anything is written.
    """
    _check_files(paths)
    profiles = [_read(path) for path in paths]
    return tuple(registry.load(store, profiles, actor=actor))


def load_profiles_in(
    conn: Connection, paths: Sequence[ProfileSource], *, actor: str
) -> tuple[Loaded, ...]:
    """``load_profiles`` within the caller's transaction ``conn``: the drafts are stored
    with whatever else the caller records, or not at all."""
    _check_files(paths)
    profiles = [_read(path) for path in paths]
    return tuple(registry.load_in(conn, profiles, actor=actor))


@dataclass(frozen=True, slots=True)
class ProfileTrialRow:
    """What one profile does on the period.

    ``hits``: consignments it fires on, ``traffic_share`` of all; ``controlled_hits``: of
    those, the controlled ones, and ``found`` the controls that found something; ``hit_rate``
    (found / controlled_hits, None without one) against ``overall_hit_rate`` (every control of
    the period, None without one): ``lift`` is their ratio. ``already_hit``: of its hits, those
    a profile in force (other than this one) fires on too; ``overlaps`` those profiles, the
    most shared hits first.
    """

    profile_id: str
    version: int
    consignments: int
    hits: int
    traffic_share: float
    controlled_hits: int
    found: int
    hit_rate: float | None
    overall_hit_rate: float | None
    lift: float | None
    already_hit: int = 0
    overlaps: tuple[ProfileOverlap, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfileOverlap:
    """A profile in force that fires on ``shared`` of the consignments a tried profile hits."""

    profile_id: str
    shared: int


@dataclass(frozen=True, slots=True)
class ProfileExample:
    """A consignment a profile fires on, with the reason it gives."""

    profile_id: str
    consignment_id: str
    version: int
    reason: str


@dataclass(frozen=True, slots=True)
class ProfileTrial:
    """Profiles tried on the consignments lodged in ``[since, until)`` (``until`` None: now).

    ``reference_note`` says which value reference the value ratios use; ``examples``: up to
    the number asked of the hits of each profile, profile by profile.
    """

    since: datetime
    until: datetime | None
    consignments: int
    reference_note: str
    profiles: tuple[ProfileTrialRow, ...]
    examples: tuple[ProfileExample, ...]


def recent_start(store: Store, days: int) -> datetime:
    """The start of the last ``days`` days of stored traffic: ``days`` before the latest
    lodging (now, in a store of live traffic; the end of the history, in one of past traffic).
    ``InputError`` when no consignment is stored."""
    if days < 1:
        raise InputError(f"days must be 1 or more, got {days}")
    c = tables.consignments
    with store.reading() as conn:
        latest: datetime | None = conn.execute(select(func.max(c.c.lodged_at))).scalar_one()
    if latest is None:
        raise InputError(said("no consignment is stored yet"))
    return latest - timedelta(days=days)


def trial_profiles(
    store: Store,
    paths: Sequence[ProfileSource],
    *,
    since: datetime,
    until: datetime | None = None,
    model_dir: Path | None = None,
    examples: int = 5,
) -> ProfileTrial:
    """Run the profile files ``paths`` over the stored consignments lodged from ``since``.

    Value ratios use the value reference of the current model in ``model_dir`` when there is
    one; otherwise one fitted on the goods items lodged before ``since``. Raises
    ``InputError`` when no consignment was lodged in the period.
    """
    _check_files(paths)
    if examples < 0:
        raise InputError(f"examples must be 0 or more, got {examples}")
    start, end = utc(since), None if until is None else utc(until)
    if end is not None and end <= start:
        raise InputError(f"until ({end:%Y-%m-%d %H:%M}) must come after since "
                         f"({start:%Y-%m-%d %H:%M})")  # fmt: skip
    profiles = ProfileSet.of(_read(path) for path in paths)
    reference = None
    if model_dir is not None:
        try:
            reference = RiskModel.load(model_dir).reference
        except ModelError:
            reference = None  # no trained model yet: the trial fits its own reference
    data = trial.trial_frame(store, since=start, until=end, reference=reference)
    report = trial.trial(profiles, data)
    rows = tuple(
        ProfileTrialRow(
            profile_id=p.id,
            version=p.version,
            consignments=row["consignments"],
            hits=row["hits"],
            traffic_share=row["traffic_share"],
            controlled_hits=row["controlled_hits"],
            found=row["found"],
            hit_rate=row["hit_rate"],
            overall_hit_rate=row["overall_hit_rate"],
            lift=row["lift"],
        )  # fmt: skip
        for p, row in zip(profiles.profiles, report.iter_rows(named=True), strict=True)
    )
    found = profiles.apply(data.frame)
    already, overlaps = _overlaps(store, profiles, found, data.frame)
    rows = tuple(
        replace(row, already_hit=already.get(row.profile_id, 0),
                overlaps=overlaps.get(row.profile_id, ()))
        for row in rows
    )  # fmt: skip
    shown = tuple(
        ProfileExample(p.id, row["consignment_id"], int(row["version"]), row["text"])
        for p in profiles.profiles
        for row in found.filter(code=p.code).head(examples).iter_rows(named=True)
    )
    return ProfileTrial(start, end, data.frame.height, data.reference_note, rows, shown)


def _overlaps(
    store: Store, tried: ProfileSet, found: pl.DataFrame, frame: pl.DataFrame
) -> tuple[dict[str, int], dict[str, tuple[ProfileOverlap, ...]]]:
    """For each tried profile: how many of its hits the profiles in force fire on too (a
    profile's own version in force left out: it is the one being changed), and which of
    them, the most shared first."""
    active = registry.active_profiles(store)
    key = ["consignment_id", "version"]
    codes = {p.code: p.id for p in (*tried.profiles, *active.profiles)}
    mine = found.select(
        pl.col("code").replace_strict(codes, return_dtype=pl.String).alias("tried"), *key
    ).unique()  # fmt: skip
    theirs = active.apply(frame).select(
        pl.col("code").replace_strict(codes, return_dtype=pl.String).alias("other"), *key
    ).unique()  # fmt: skip
    pairs = mine.join(theirs, on=key).filter(pl.col("tried") != pl.col("other"))
    already = pairs.select("tried", *key).unique().group_by("tried").len()
    counted = (
        pairs.group_by("tried", "other")
        .agg(pl.len().alias("shared"))
        .sort("tried", "shared", "other", descending=[False, True, False])
    )
    shared: dict[str, list[ProfileOverlap]] = {}
    for row in counted.iter_rows(named=True):
        shared.setdefault(row["tried"], []).append(ProfileOverlap(row["other"], row["shared"]))
    return (
        {row["tried"]: int(row["len"]) for row in already.iter_rows(named=True)},
        {k: tuple(v) for k, v in shared.items()},
    )


@dataclass(frozen=True, slots=True)
class ProfileVersion:
    """One stored profile version, without its body."""

    profile_id: str
    version: int
    status: str
    owner: str
    description: str
    valid_from: datetime | None
    valid_to: datetime | None
    source: str
    content_sha256: str
    loaded_at: datetime
    changed_at: datetime
    changed_by: str


def list_profiles(store: Store) -> tuple[ProfileVersion, ...]:
    """Every stored profile version, by id, newest version of each id first."""
    return tuple(
        ProfileVersion(
            profile_id=r["profile_id"],
            version=r["version"],
            status=r["status"],
            owner=r["owner"],
            description=r["description"],
            valid_from=r["valid_from"],
            valid_to=r["valid_to"],
            source=r["source"],
            content_sha256=r["content_sha256"],
            loaded_at=r["loaded_at"],
            changed_at=r["changed_at"],
            changed_by=r["changed_by"],
        )  # fmt: skip
        for r in registry.listing(store).iter_rows(named=True)
    )


def profile_text(store: Store, profile_id: str, *, version: int | None = None) -> ProfileText:
    """The text of ``version`` (default: the highest stored) of ``profile_id``, exactly as it
    was loaded, named ``<id>@<version>``; ``NotFoundError`` when there is none."""
    if version is not None and version < 1:
        raise InputError(said("version must be 1 or more, got %(version)s", version=version))
    found = registry.body(store, profile_id, version)
    if found is None and version is not None:
        raise NotFoundError(said("no profile %(id)s version %(version)s", id=profile_id,
                                 version=version))  # fmt: skip
    if found is None:
        raise NotFoundError(said("no profile %(id)s", id=profile_id))
    return ProfileText(f"{profile_id}@{found[0]}", found[1])


@dataclass(frozen=True, slots=True)
class ProfileStatusChange:
    """The versions of ``profile_id`` that now have ``status``."""

    profile_id: str
    versions: tuple[int, ...]
    status: str


def activate_profile(
    store: Store, profile_id: str, *, version: int | None = None, actor: str
) -> ProfileStatusChange:
    """Put ``version`` (default: the highest loaded) of ``profile_id`` in force.

    The version in force until now, if another, is retired. ``NotFoundError`` for an unknown
    profile or version.
    """
    if version is not None and version < 1:
        raise InputError(said("version must be 1 or more, got %(version)s", version=version))
    chosen = registry.activate(store, profile_id, actor=actor, version=version)
    return ProfileStatusChange(profile_id, (chosen,), Status.ACTIVE.value)


def retire_profile(store: Store, profile_id: str, *, actor: str) -> ProfileStatusChange:
    """Take ``profile_id`` out of force; ``NotFoundError`` when no version of it is active."""
    versions = registry.retire(store, profile_id, actor=actor)
    return ProfileStatusChange(profile_id, tuple(versions), Status.RETIRED.value)
