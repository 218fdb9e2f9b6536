"""Parties over HTTP: one party's review (its neighbourhood in the party graph, its hits, its
track record), as the entity review screen shows it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from quaywatch.api import problems
from quaywatch.api.context import PREFIX, AssessmentReader, ServiceState
from quaywatch.services import entities

router = APIRouter(
    prefix=PREFIX, tags=["parties"], responses=problems.documented(401, 403, 404, 422)
)

PartyKey = Annotated[
    str, Path(min_length=1, max_length=32, examples=["bb71ac282b8c2fbc79dd587204ae1ab1"])
]


@router.get("/parties/{party_key}", summary="A party's neighbourhood and track record")
def party(
    party_key: PartyKey,
    state: ServiceState,
    who: AssessmentReader,
    hops: Annotated[int, Query(ge=1, le=entities.MAX_HOPS, description="Links out.")] = 2,
    limit: Annotated[
        int, Query(ge=1, le=entities.MAX_LIMIT, description="Parties kept at most.")
    ] = 40,
) -> entities.PartyReview:
    """The party as stored, its identifiers and who shares them, its watchlist matches; the
    parties within ``hops`` links with what links them and their own hits (at most ``limit``,
    ``left_out`` the others reached); its consignments by role and month, controls, hit rate,
    results, latest controls and consignments with their assessment and lane."""
    return entities.party_review(state.store, party_key, hops=hops, limit=limit,
                                 key_dir=state.settings.key_dir)  # fmt: skip
