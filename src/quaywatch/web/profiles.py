"""The analyst's profile screens: write a profile, see its errors at their line as it is
typed, test it on the last 30 days of traffic, store it as a draft, put it in force, retire it,
and read its versions side by side.

The checks, the trial, storing, activating and retiring are the profile services'
(``services.profiles``); an error comes with its line and column as numbers, and the page
quotes that line of the text under the message with the column marked, in the analyst's
language like the message itself. ``/profiles/check`` answers the editor's live check (htmx,
half a second after typing stops) with the result alone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from quaywatch.domain.access import Permission
from quaywatch.errors import InputError, ModelError, NotFoundError, RecordError
from quaywatch.services import profiles, risk
from quaywatch.services.profiles import ProfileText
from quaywatch.web.pages import (
    Visitor,
    admitted,
    bad_form,
    gettext,
    posted_by,
    redirect_to,
    render,
    said_in,
    told,
)

router = APIRouter(include_in_schema=False)

#: Days of traffic a profile is tested on: the last ones stored (``profiles.recent_start``).
TRIAL_DAYS = 30
#: The text a new profile starts from.
TEMPLATE = """\
id: MY-PROFILE
version: 1
description: What this profile looks for, in one line
owner: risk analysis
reason: "{main_hs6} from {port_of_loading}: why an officer should look"
condition: |
  hs6_codes contains "940360" and origin_countries contains "CM"
action:
  weight: 1.0
"""


def _checked(language: str, name: str, text: str) -> dict[str, Any]:
    """The check of one profile text: ok, or the error in ``language`` with its line and
    column (numbers the check gives, never read out of the message) and that line of the
    text, cut around the column so the page can mark it."""
    check = profiles.validate_profiles([ProfileText(name, text)]).files[0]
    lines = text.splitlines()
    line_no = check.line if check.line and 0 < check.line <= len(lines) else None
    quoted = lines[line_no - 1] if line_no else None
    column = check.column if quoted is not None and check.column else None
    if quoted is not None and column is not None and column > len(quoted) + 1:
        column = None
    cut = None
    if quoted is not None and column is not None:
        cut = (quoted[: column - 1], quoted[column - 1 : column], quoted[column:])
    # The reason alone: the page says the line itself, and the text is the one in the editor.
    reason = said_in(language, check.reason or check.error or "")
    message = f"{check.field}: {reason}" if check.field else reason
    return {"check": check, "line": line_no, "column": column, "quoted": quoted, "cut": cut,
            "message": message}  # fmt: skip


def _editor(
    request: Request, visitor: Visitor, text: str, *, trial: Any = None, error: str | None = None,
    status: int = 200,
) -> Response:  # fmt: skip
    return render(
        request, visitor, "profile_editor.html",
        {"text": text, "checked": _checked(visitor.language, "profile", text), "trial": trial, "error": error,
         "trial_days": TRIAL_DAYS},
        status=status,
    )  # fmt: skip


@router.get("/profiles")
async def profile_list(request: Request) -> Response:
    """Every stored profile version, by id, newest first, with its status."""
    state, visitor, refusal = await admitted(request, Permission.PROFILE_READ)
    if refusal is not None:
        return refusal
    found = await run_in_threadpool(profiles.list_profiles, state.store)
    return render(request, visitor, "profiles.html", {"versions": found})


@router.get("/profiles/editor")
async def editor(request: Request, start: str = "", version: int | None = None) -> Response:
    """The editor: a new profile, or the text of a stored one (``start``, ``version``) to
    write its next version from."""
    state, visitor, refusal = await admitted(request, Permission.PROFILE_WRITE)
    if refusal is not None:
        return refusal
    text = TEMPLATE
    if start:
        try:
            text = (await run_in_threadpool(
                lambda: profiles.profile_text(state.store, start, version=version)
            )).text  # fmt: skip
        except NotFoundError as exc:
            return render(
                request,
                visitor,
                "refused.html",
                {"missing": told(visitor.language, exc)},
                status=404,
            )
        except InputError as exc:
            return render(
                request,
                visitor,
                "refused.html",
                {"failure": told(visitor.language, exc)},
                status=422,
            )
    return _editor(request, visitor, text)


@router.post("/profiles/check")
async def check(request: Request) -> Response:
    """The live check of the editor's text: the result alone (an htmx fragment)."""
    _, visitor, form, refusal = await posted_by(request, Permission.PROFILE_WRITE)
    if refusal is not None:
        return refusal
    text = form.get("text", "")
    return render(
        request,
        visitor,
        "profile_check.html",
        {"checked": _checked(visitor.language, "profile", text)},
    )


@router.post("/profiles/editor")
async def editor_action(request: Request) -> Response:
    """The editor's buttons: test the text on the last ``TRIAL_DAYS`` days, or store it as a
    draft (then to its page)."""
    state, visitor, form, refusal = await posted_by(request, Permission.PROFILE_WRITE)
    principal = visitor.principal
    if refusal is not None or principal is None:
        return refusal or redirect_to("/login")
    text, action = form.get("text", ""), form.get("action", "")
    source = ProfileText("profile", text)
    try:
        if action == "trial":

            def tried() -> profiles.ProfileTrial:
                since = profiles.recent_start(state.store, TRIAL_DAYS)
                return profiles.trial_profiles(
                    state.store, [source], since=since, model_dir=state.settings.model_dir
                )

            found = await run_in_threadpool(tried)
            return _editor(request, visitor, text, trial=found)
        if action == "save":
            stored = await run_in_threadpool(
                lambda: profiles.load_profiles(state.store, [source], actor=principal.name)
            )
            return redirect_to(f"/profiles/{stored[0].profile_id}")
    except (RecordError, InputError) as exc:
        return _editor(request, visitor, text, error=told(visitor.language, exc), status=422)
    return bad_form(request, visitor)


@router.post("/profiles/reassess")
async def reassess(request: Request) -> Response:
    """Assess again, with the profiles now in force, the consignments lodged in the last
    ``TRIAL_DAYS`` days, and say how many on the profile page the form was sent from; a new
    selection run then plans the controls on the new assessments."""
    state, visitor, form, refusal = await posted_by(request, Permission.ASSESSMENT_RUN)
    principal = visitor.principal
    if refusal is not None or principal is None:
        return refusal or redirect_to("/login")

    def scored() -> int:
        return risk.reassess_recent(
            state.store, model_path=state.settings.model_dir, days=TRIAL_DAYS,
            actor=principal.name, saturation_pct=state.settings.hit_saturation_pct,
            key_dir=state.settings.key_dir,
        ).assessed  # fmt: skip

    try:
        assessed = await run_in_threadpool(scored)
    except (InputError, ModelError) as exc:
        return render(
            request, visitor, "refused.html", {"failure": told(visitor.language, exc)}, status=422
        )
    back = form.get("profile", "")
    target = f"/profiles/{quote(back)}" if back else "/profiles"
    return redirect_to(f"{target}?reassessed={assessed}")


@router.get("/profiles/{profile_id}")
async def profile_page(request: Request, profile_id: str, reassessed: str = "") -> Response:
    """A profile's versions, the newest two side by side, and (for those who may) the buttons
    that put a version in force or retire the profile."""
    state, visitor, refusal = await admitted(request, Permission.PROFILE_READ)
    if refusal is not None:
        return refusal
    versions = [
        v for v in await run_in_threadpool(profiles.list_profiles, state.store)
        if v.profile_id == profile_id
    ]  # fmt: skip
    if not versions:
        missing = gettext(visitor.language, "There is no profile %(id)s.") % {"id": profile_id}
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    newest = [v.version for v in versions[:2]]

    def texts_of() -> list[ProfileText]:
        return [profiles.profile_text(state.store, profile_id, version=v) for v in newest]

    texts = await run_in_threadpool(texts_of)
    return render(request, visitor, "profile.html",
                  {"profile_id": profile_id, "versions": versions, "texts": texts,
                   "reassessed": int(reassessed) if reassessed.isascii() and reassessed.isdigit()
                   else None, "trial_days": TRIAL_DAYS})  # fmt: skip


@router.post("/profiles/{profile_id}/{change}")
async def change_status(request: Request, profile_id: str, change: str) -> Response:
    """Put a version of the profile in force (``activate``), or take it out (``retire``)."""
    state, visitor, form, refusal = await posted_by(request, Permission.PROFILE_ACTIVATE)
    principal = visitor.principal
    if refusal is not None or principal is None:
        return refusal or redirect_to("/login")
    if change not in ("activate", "retire"):
        return bad_form(request, visitor)
    try:
        if change == "activate":
            version = int(form["version"]) if form.get("version", "").isdigit() else None
            await run_in_threadpool(
                lambda: profiles.activate_profile(
                    state.store, profile_id, version=version, actor=principal.name
                )
            )
        else:
            await run_in_threadpool(
                lambda: profiles.retire_profile(state.store, profile_id, actor=principal.name)
            )
    except NotFoundError as exc:
        return render(
            request, visitor, "refused.html", {"missing": told(visitor.language, exc)}, status=404
        )
    except InputError as exc:
        return render(
            request, visitor, "refused.html", {"failure": told(visitor.language, exc)}, status=422
        )
    return redirect_to(f"/profiles/{profile_id}")
