"""Running a set of risk profiles over consignments: which ones fire, and the hits they give.

A ``ProfileSet`` is what an assessment runs: the profiles active at that moment, identified by
``version`` (stored with every assessment, so one can always say which rules were in force).
``apply`` gives a hits frame (``risk.hits``): one row per consignment and profile that fired
within its validity window, with the profile's weight, minimum lane, referral and the reason
text filled in with that consignment's values. All of it runs as polars expressions over whole
columns; reason texts are rendered only for the rows hit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from quaywatch.errors import InputError, said
from quaywatch.features import declared
from quaywatch.risk import hits
from quaywatch.risk.explain import Source
from quaywatch.risk.profiles.profile import Profile


@dataclass(frozen=True, slots=True)
class ProfileSet:
    """Risk profiles applied together; at most one version of each id."""

    profiles: tuple[Profile, ...] = ()

    def __post_init__(self) -> None:
        ids = [p.id for p in self.profiles]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise InputError(said("profile %(id)s is in the set twice; keep one version",
                                  id=twice[0]))  # fmt: skip

    @classmethod
    def of(cls, profiles: Iterable[Profile]) -> ProfileSet:
        """The set of ``profiles``, in id order."""
        return cls(tuple(sorted(profiles, key=lambda p: p.id)))

    def __len__(self) -> int:
        return len(self.profiles)

    @property
    def version(self) -> str:
        """A short digest of the ids, versions and contents: the assessments' profile version.

        Two sets with the same profile versions have the same digest, whatever their order.
        """
        lines = sorted(f"{p.id}@{p.version}:{p.sha256}" for p in self.profiles)
        return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]

    def _check(self, frame: pl.DataFrame) -> None:
        needed = {*declared.KEY, "lodged_at"}.union(*(p.fields for p in self.profiles))
        missing = sorted(needed - set(frame.columns))
        if missing:
            raise InputError(
                "the frame lacks the fields " + ", ".join(missing) + " that the profiles read; "
                "build it with risk.profiles.frame.profile_frame or with_extras"
            )

    def matches(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``declared.KEY`` plus one boolean column per profile id: it fired on that row."""
        self._check(frame)
        return frame.select(
            *declared.KEY,
            *((p.expr & p.in_window()).alias(p.id) for p in self.profiles),
        )

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The hits of every profile on ``frame`` (a profile frame), as a hits frame.

        Code ``profile:<id>``, text the profile's reason (or description), weight, source
        ``profile``, lane and referral as the profile's action says. Rows in the order of
        ``frame``, profiles in the set's order within a row.
        """
        self._check(frame)
        if not self.profiles:
            return hits.empty()
        numbered = frame.with_row_index("__row")
        found = [
            numbered.filter(p.expr & p.in_window()).select(
                "__row", *declared.KEY,
                pl.lit(n, pl.Int64).alias("__profile"),
                pl.lit(p.code).alias("code"),
                p.text().alias("text"),
                pl.lit(p.action.weight, pl.Float64).alias("weight"),
                pl.lit(Source.PROFILE.value).alias("source"),
                pl.lit(p.action.lane.value if p.action.lane else None, pl.String).alias("lane"),
                pl.lit(p.action.referral.value if p.action.referral else None, pl.String)
                .alias("referral"),
            )
            for n, p in enumerate(self.profiles)
        ]  # fmt: skip
        return hits.conform(pl.concat(found).sort("__row", "__profile"))
