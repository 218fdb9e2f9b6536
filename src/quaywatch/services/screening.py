"""Use cases of watchlist screening: screen a name, load a watchlist, list the loaded ones.

- ``screen_name``: one company or person name against the loaded watchlists, best matches
  first, each with its reason;
- ``load_watchlist``: a watchlist CSV file stored under its id (the same file again changes
  nothing, a new edition replaces the old one), with an audit event;
- ``list_watchlists``: the loaded watchlists.

How names are compared, and what a watchlist file holds: ``quaywatch.risk.screening``.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from quaywatch.errors import InputError
from quaywatch.risk import screening
from quaywatch.risk.explain import message_of
from quaywatch.risk.screening import THRESHOLD, LoadResult
from quaywatch.services.arguments import check_at_least, utc
from quaywatch.store.store import Store

__all__ = [
    "MIN_THRESHOLD",
    "THRESHOLD",
    "LoadResult",
    "Match",
    "ScreeningResult",
    "Watchlist",
    "list_watchlists",
    "load_watchlist",
    "screen_name",
]

#: Lowest name score a search may ask for: below it, most names match most others.
MIN_THRESHOLD = 50.0
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class Match:
    """The best match of the name on one watchlist.

    ``score`` is 0-100 (100 for an identifier); ``kind`` is ``name``, ``eori``, ``phone`` or
    ``email``; ``strong``: an identifier, or a close name at the listed address.
    """

    watchlist_id: str
    entry_id: str
    entry_name: str
    category: str
    score: float
    kind: str
    strong: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    """A name screened: on ``watchlists`` lists of ``entries`` entries in all (0 and 0 when
    none is loaded), its best matches at ``threshold`` or above, highest score first."""

    name: str
    country: str | None
    threshold: float
    watchlists: int
    entries: int
    matches: tuple[Match, ...]


def screen_name(
    store: Store,
    name: str,
    *,
    country: str | None = None,
    threshold: float = THRESHOLD,
    limit: int = 10,
    at: datetime | None = None,
) -> ScreeningResult:
    """Screen ``name`` (in ``country``, ISO 3166 alpha-2, if known) against the watchlists.

    With ``at``, only the watchlists published on or before that day; without, every loaded
    one. At most ``limit`` matches, the best per watchlist, highest score first.
    """
    if not name.strip():
        raise InputError("name must not be empty")
    code = None if country is None else country.strip().upper()
    if code is not None and not _COUNTRY.match(code):
        raise InputError(f"country must be a two-letter ISO 3166 code, got {country!r}")
    if not MIN_THRESHOLD <= threshold <= 100:
        raise InputError(f"threshold must be from {MIN_THRESHOLD:g} to 100, got {threshold:g}")
    check_at_least("limit", limit)
    day = None
    if at is not None:
        day = utc(at).date()
    entries = screening.watchlist_entries(store, as_of=day)
    if entries.is_empty():
        return ScreeningResult(name, code, threshold, 0, 0, ())
    found = screening.Screener.build(entries).screen_name(name, country=code, threshold=threshold)
    best = screening.best(found).sort("score", descending=True).head(limit)
    matches = tuple(
        Match(
            watchlist_id=r["watchlist_id"],
            entry_id=r["entry_id"],
            entry_name=r["entry_name"],
            category=r["category"],
            score=float(r["score"]),
            kind=r["kind"],
            strong=bool(r["strong"]),
            reason=message_of(r["reason"], r["reason_said"]),
        )
        for r in best.iter_rows(named=True)
    )
    lists = entries.get_column("watchlist_id").n_unique()
    return ScreeningResult(name, code, threshold, lists, entries.height, matches)


def load_watchlist(
    store: Store,
    path: Path,
    *,
    watchlist_id: str,
    source: str,
    list_date: date | str,
    actor: str,
) -> LoadResult:
    """Load the watchlist file ``path`` as ``watchlist_id``, published by ``source`` on
    ``list_date`` (a date, or its ISO text ``YYYY-MM-DD``).

    Loading the same file with the same source and date again changes nothing
    (``changed`` False); another file replaces every entry of the list at once. A bad file is
    refused as a whole, with the line and field at fault (``RecordError``).
    """
    if isinstance(list_date, str):
        try:
            list_date = date.fromisoformat(list_date)
        except ValueError:
            raise InputError(f"list_date {list_date!r} is not a date (YYYY-MM-DD)") from None
    if not watchlist_id.strip() or len(watchlist_id) > 64:
        raise InputError(f"watchlist_id must have 1 to 64 characters, got {watchlist_id!r}")
    if not source.strip():
        raise InputError("source must say who publishes the list")
    return screening.load_watchlist(store, path, watchlist_id=watchlist_id, source=source,
                                    list_date=list_date, actor=actor)  # fmt: skip


def load_watchlist_text(
    store: Store,
    text: str,
    *,
    watchlist_id: str,
    source: str,
    list_date: date | str,
    actor: str,
) -> LoadResult:
    """``load_watchlist`` for a watchlist given as CSV text (what a client posts)."""
    with tempfile.TemporaryDirectory(prefix="quaywatch-watchlist-") as folder:
        path = Path(folder) / "watchlist.csv"
        path.write_text(text, encoding="utf-8")
        return load_watchlist(store, path, watchlist_id=watchlist_id, source=source,
                              list_date=list_date, actor=actor)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Watchlist:
    """A loaded watchlist: who publishes it, its date, the file it came from, when loaded."""

    watchlist_id: str
    source: str
    list_date: date
    entries: int
    file: str
    content_sha256: str
    loaded_at: datetime
    loaded_by: str


def list_watchlists(store: Store) -> tuple[Watchlist, ...]:
    """Every loaded watchlist, by id."""
    return tuple(
        Watchlist(
            watchlist_id=r["watchlist_id"],
            source=r["source"],
            list_date=r["list_date"],
            entries=int(r["entries"]),
            file=r["file"],
            content_sha256=r["content_sha256"],
            loaded_at=r["loaded_at"],
            loaded_by=r["loaded_by"],
        )
        for r in screening.list_watchlists(store).iter_rows(named=True)
    )
