"""Watchlists and name screening over HTTP.

``POST /match`` screens several names at once, in the manner of yente's matching API: a set of
named queries in, for each the best matches on every loaded watchlist out.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from quaywatch.api import problems
from quaywatch.api.context import PREFIX, ServiceState, WatchlistReader, WatchlistWriter
from quaywatch.risk.screening import THRESHOLD, LoadResult
from quaywatch.services import screening

router = APIRouter(prefix=PREFIX, tags=["watchlists"], responses=problems.documented(401, 403, 422))

WatchlistId = Annotated[str, Path(min_length=1, max_length=64, examples=["national-ipr"])]


class WatchlistUpload(BaseModel):
    """A watchlist file's text (CSV, docs/screening.md) and who published it when."""

    source: str = Field(min_length=1, max_length=200, examples=["EU consolidated list"])
    list_date: date
    csv: str = Field(min_length=1, max_length=50_000_000)


class NameQuery(BaseModel):
    """A name to screen, in a country (ISO 3166 alpha-2) if known."""

    name: str = Field(min_length=1, max_length=500, examples=["Delta Fruit Co"])
    country: str | None = Field(None, examples=["BE"])


class MatchRequest(BaseModel):
    """Named queries, the score from which a match counts, and matches per query."""

    queries: dict[str, NameQuery] = Field(min_length=1, max_length=100)
    threshold: float = Field(THRESHOLD, ge=0, le=100)
    limit: int = Field(10, ge=1, le=100)
    at: datetime | None = Field(None, description="Only lists published by then.")


class MatchResponse(BaseModel):
    """For each query of the request, under its key, its screening result."""

    responses: dict[str, screening.ScreeningResult]


@router.get("/watchlists", summary="The loaded watchlists")
def listing(state: ServiceState, who: WatchlistReader) -> list[screening.Watchlist]:
    """Every loaded watchlist with its source, date and entries."""
    return list(screening.list_watchlists(state.store))


@router.put("/watchlists/{watchlist_id}", summary="Load or replace a watchlist")
def load(
    watchlist_id: WatchlistId, body: WatchlistUpload, state: ServiceState, who: WatchlistWriter
) -> LoadResult:
    """The same file, source and date again changes nothing; another replaces every entry."""
    return screening.load_watchlist_text(
        state.store, body.csv, watchlist_id=watchlist_id, source=body.source,
        list_date=body.list_date, actor=who.name,
    )  # fmt: skip


@router.post("/match", summary="Screen names against the watchlists")
def match(body: MatchRequest, state: ServiceState, who: WatchlistReader) -> MatchResponse:
    """The best matches of each name, highest score first."""
    return MatchResponse(
        responses={
            key: screening.screen_name(
                state.store,
                q.name,
                country=q.country,
                threshold=body.threshold,
                limit=body.limit,
                at=body.at,
            )  # fmt: skip
            for key, q in body.queries.items()
        }
    )
