"""Risk profiles over HTTP, in the analyst's workflow: validate, try on a period, store as a
draft, activate, retire. Profiles travel as their text (the profile language,
``docs/profiles.md``), each with a name its errors refer to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from quaywatch.api import problems
from quaywatch.api.context import (
    PREFIX,
    ProfileActivator,
    ProfileReader,
    ProfileWriter,
    ServiceState,
)
from quaywatch.risk.profiles.registry import Loaded
from quaywatch.services import profiles
from quaywatch.services.profiles import ProfileSource, ProfileText as Source

router = APIRouter(
    prefix=PREFIX, tags=["profiles"], responses=problems.documented(401, 403, 404, 409, 422)
)

ProfileId = Annotated[str, Path(min_length=1, max_length=64)]

EXAMPLE = """\
id: wildlife-cites-timber
version: 1
owner: analyst.team
description: Tropical timber from high-risk origins declared as furniture parts
when: hs6 starts_with "9403" and origin_country in ["CM", "CD", "CG"]
score: 25
reason: "Tropical timber origin {origin_country} on furniture parts {hs6}"
"""


class ProfileText(BaseModel):
    """One profile's text, and the name its errors refer to."""

    name: str = Field(min_length=1, max_length=200, examples=["wildlife-cites-timber.yaml"])
    text: str = Field(min_length=1, max_length=100_000, examples=[EXAMPLE])


class ProfileTexts(BaseModel):
    """Profiles to check, try or store."""

    profiles: list[ProfileText] = Field(min_length=1, max_length=200)

    def sources(self) -> list[ProfileSource]:
        """The profiles as the services take them."""
        return [Source(p.name, p.text) for p in self.profiles]


class TrialRequest(ProfileTexts):
    """Profiles to try on the stored traffic lodged in [``since``, ``until``)."""

    since: datetime
    until: datetime | None = None
    examples: int = Field(5, ge=0, le=100, description="Example hits shown per profile.")


class ActivateRequest(BaseModel):
    """The version to put in force (default: the newest)."""

    version: int | None = Field(None, ge=1)


@router.get("/profiles", summary="Every stored profile version")
def listing(state: ServiceState, who: ProfileReader) -> list[profiles.ProfileVersion]:
    """Every version of every profile, with its status."""
    return list(profiles.list_profiles(state.store))


@router.post("/profiles/validate", summary="Check profiles")
def validate(body: ProfileTexts, who: ProfileWriter) -> profiles.ProfileValidation:
    """Each profile's id and version, or its error with the line and field at fault."""
    return profiles.validate_profiles(body.sources())


@router.post("/profiles/trial", summary="Try profiles on a period of stored traffic")
def trial(body: TrialRequest, state: ServiceState, who: ProfileWriter) -> profiles.ProfileTrial:
    """Hits, share of traffic and hit rate on the controlled ones, against all controls."""
    return profiles.trial_profiles(
        state.store, body.sources(), since=body.since, until=body.until,
        model_dir=state.settings.model_dir, examples=body.examples,
    )  # fmt: skip


@router.post("/profiles", summary="Store profiles as drafts", status_code=201)
def store_drafts(body: ProfileTexts, state: ServiceState, who: ProfileWriter) -> list[Loaded]:
    """All or none; a profile stored again changes nothing, a changed one needs a new
    version."""
    return list(profiles.load_profiles(state.store, body.sources(), actor=who.name))


@router.post("/profiles/{profile_id}/activate", summary="Put a profile version in force")
def activate(
    profile_id: ProfileId, body: ActivateRequest, state: ServiceState, who: ProfileActivator
) -> profiles.ProfileStatusChange:
    """The version becomes active; the profile's other versions retire."""
    return profiles.activate_profile(state.store, profile_id, version=body.version, actor=who.name)


@router.post("/profiles/{profile_id}/retire", summary="Take a profile out of force")
def retire(
    profile_id: ProfileId, state: ServiceState, who: ProfileActivator
) -> profiles.ProfileStatusChange:
    """Every version of the profile retires."""
    return profiles.retire_profile(state.store, profile_id, actor=who.name)
