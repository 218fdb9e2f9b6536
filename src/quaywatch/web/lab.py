"""The policy lab's screens (``lab:run``: analysts and managers): start a simulation with the
set-ups chosen, follow the runs, compare the set-ups of a run in charts.

``/lab`` holds the form (set-ups with what each is, weeks, warm-up weeks, consignments a day,
seed, displacement, a title) and the runs, newest first; ``POST /lab`` queues a run through
``services.lab_runs.start_lab_run`` and goes to its page. A run takes seconds to minutes in
the application's background worker, never in a request. While a run waits or runs, the list
(``/lab/runs``) and the run's state (``/lab/<id>/state``) refresh themselves every 3 seconds
with htmx (and, without script, the page every 5 seconds); once the run is done, its page
shows the set-ups compared: grouped bars of the figures over the replay, a line per set-up
week by week (``web.lab_charts``), and the figures as tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from quaywatch.domain.access import Permission
from quaywatch.errors import ConflictError, NotFoundError, RecordError
from quaywatch.services import lab_runs
from quaywatch.services.lab_runs import LabOptions, LabRun, LabRunReport, LabState
from quaywatch.web import lab_charts
from quaywatch.web.pages import Visitor, admitted, gettext, posted_by, redirect_to, render, told

router = APIRouter(include_in_schema=False)

#: Runs the list shows.
RUNS_SHOWN = 50
#: The whole-number fields of the form, in the order they are checked.
NUMBERS = ("weeks", "warmup_weeks", "per_day", "seed")


def _descriptions(language: str) -> dict[str, str]:
    """What each set-up is, in ``language`` (``services.lab.DESCRIPTIONS`` in English)."""
    t = language
    return {
        "rules": gettext(t, "Risk profiles only, on top of the overall hit rate."),
        "model": gettext(
            t, "The fraud model only, retrained every week with inverse-propensity weights."
        ),
        "hybrid": gettext(t, "Model and profiles combined, as in production."),
        "hybrid-selected-only": gettext(
            t,
            "Model and profiles, retrained only on what it selected itself: no random "
            "sample, no weights.",
        ),
        "hybrid-unweighted": gettext(
            t,
            "Model and profiles with the random sample, but outcomes not weighted by their "
            "selection propensity.",
        ),
        "model-selected-only": gettext(
            t,
            "The model alone, retrained only on what it selected itself: no random sample, "
            "no weights.",
        ),
        "model-unweighted": gettext(
            t,
            "The model alone with the random sample, but outcomes not weighted by their "
            "selection propensity.",
        ),
        "hybrid-random-5": gettext(
            t, "Model and profiles with a 5 % random sample instead of 2 %."
        ),
        "hybrid-capacity-half": gettext(
            t, "Model and profiles with half the scanners and officers."
        ),
        "hybrid-capacity-double": gettext(
            t, "Model and profiles with twice the scanners and officers."
        ),
        "hybrid-no-aeo-facilitation": gettext(
            t, "Model and profiles without AEO facilitation (factor 1)."
        ),
        "hybrid-strong-aeo-facilitation": gettext(
            t, "Model and profiles with strong AEO facilitation (factor 0.2)."
        ),
    }


def _choices(options: LabOptions, language: str) -> list[dict[str, Any]]:
    """The set-ups offered, each described in ``language`` (else in the service's words)."""
    described = _descriptions(language)
    return [
        {"name": s.name, "description": described.get(s.name, s.description), "default": s.default}
        for s in options.strategies
    ]


def _active(runs: list[LabRun]) -> bool:
    return any(r.state in (LabState.QUEUED, LabState.RUNNING) and not r.stale for r in runs)


def _lab_page(
    request: Request,
    visitor: Visitor,
    runs: list[LabRun],
    *,
    form: Mapping[str, Any] | None = None,
    error: str | None = None,
    field: str | None = None,
    status: int = 200,
) -> Response:
    options = lab_runs.lab_options()
    values: dict[str, Any] = {
        "weeks": options.weeks.default, "warmup_weeks": options.warmup_weeks.default,
        "per_day": options.per_day.default, "seed": options.seed.default,
        "displacement": options.displacement, "title": "",
        "strategies": [s.name for s in options.strategies if s.default],
    }  # fmt: skip
    values.update(form or {})
    return render(
        request, visitor, "lab.html",
        {"options": options, "choices": _choices(options, visitor.language), "values": values,
         "labels": _labels(visitor.language), "runs": runs, "active": _active(runs),
         "error": error, "field": field},
        status=status,
    )  # fmt: skip


@router.get("/lab")
async def lab_page(request: Request) -> Response:
    """The form that starts a run, and the runs with their state."""
    state, visitor, refusal = await admitted(request, Permission.LAB_RUN)
    if refusal is not None:
        return refusal
    runs = await run_in_threadpool(lambda: lab_runs.lab_runs(state.store, limit=RUNS_SHOWN))
    return _lab_page(request, visitor, runs)


@router.get("/lab/runs")
async def lab_run_list(request: Request) -> Response:
    """The list of runs alone (htmx polls it while a run waits or runs); a browser without
    script gets the whole page."""
    state, visitor, refusal = await admitted(request, Permission.LAB_RUN)
    if refusal is not None:
        return refusal
    if not request.headers.get("hx-request"):
        return redirect_to("/lab")
    runs = await run_in_threadpool(lambda: lab_runs.lab_runs(state.store, limit=RUNS_SHOWN))
    return render(request, visitor, "lab_runs.html", {"runs": runs, "active": _active(runs)})


def _whole(language: str, form: Mapping[str, str], name: str) -> int:
    try:
        return int(form.get(name, "").strip())
    except ValueError:
        raise RecordError(gettext(language, "must be a whole number"), field=name) from None


def _labels(language: str) -> dict[str, str]:
    """The form's fields by the service's names for them, as the form labels them."""
    return {
        "strategies": gettext(language, "Set-ups to compare"),
        "weeks": gettext(language, "Weeks to replay"),
        "warmup_weeks": gettext(language, "Warm-up weeks"),
        "per_day": gettext(language, "Consignments a day"),
        "seed": gettext(language, "Seed"),
        "displacement": gettext(language, "Cocaine routes displaced two weeks in"),
        "title": gettext(language, "Title (optional)"),
    }


@router.post("/lab")
async def start(request: Request) -> Response:
    """Queue a run of the set-ups chosen and go to its page; the form again, with the
    reason, if the service refuses it."""
    state, visitor, form, refusal = await posted_by(request, Permission.LAB_RUN)
    if refusal is not None or visitor.principal is None:
        return refusal or redirect_to("/login")
    actor = visitor.principal.name
    language = visitor.language
    chosen = [v for v in (await request.form()).getlist("strategy") if isinstance(v, str)]
    given: dict[str, Any] = {
        **{name: form.get(name, "") for name in NUMBERS}, "title": form.get("title", ""),
        "displacement": "displacement" in form, "strategies": chosen,
    }  # fmt: skip
    try:
        numbers = {name: _whole(language, form, name) for name in NUMBERS}
        run = await run_in_threadpool(
            lambda: lab_runs.start_lab_run(
                state.store, **numbers, strategies=chosen, displacement=given["displacement"],
                title=given["title"], actor=actor, worker=state.lab,
            )
        )  # fmt: skip
    except RecordError as exc:  # said at the field, as the form labels it
        runs = await run_in_threadpool(lambda: lab_runs.lab_runs(state.store, limit=RUNS_SHOWN))
        label = _labels(language).get(exc.field or "")
        message = (
            f"{label}: {told(visitor.language, exc, with_field=False)}"
            if label
            else told(visitor.language, exc)
        )
        return _lab_page(request, visitor, runs, form=given, error=message, field=exc.field,
                         status=422)  # fmt: skip
    except ConflictError as exc:
        runs = await run_in_threadpool(lambda: lab_runs.lab_runs(state.store, limit=RUNS_SHOWN))
        return _lab_page(
            request, visitor, runs, form=given, error=told(visitor.language, exc), status=409
        )
    return redirect_to(f"/lab/{run.run_id}")


@dataclass(frozen=True, slots=True)
class Comparison:
    """What a done run's page draws: the set-ups' series, the charts, the tables' rows."""

    series: list[lab_charts.Series]
    shares: lab_charts.BarChart
    ratios: lab_charts.BarChart
    detected: lab_charts.LineChart
    auc: lab_charts.LineChart | None
    weeks: list[int]
    by_week: dict[int, dict[str, dict[str, Any]]]


def _comparison(report: LabRunReport, language: str) -> Comparison | None:
    if report.run.state != LabState.DONE or not report.summary:
        return None
    names = [row["strategy"] for row in report.summary]
    by_name = {row["strategy"]: row for row in report.summary}

    def figure(key: str) -> dict[str, float | None]:
        return {name: by_name[name].get(key) for name in names}

    shares = lab_charts.bars(
        [(gettext(language, "Illicit found"), figure("detected_share")),
         (gettext(language, "Hit rate"), figure("precision")),
         (gettext(language, "Revenue recovered"), figure("revenue_share")),
         (gettext(language, "Critical seized"), figure("critical_share"))],
        names, percent=True,
    )  # fmt: skip
    ratios = lab_charts.bars(
        [(gettext(language, "AEO burden"), figure("aeo_burden")),
         (gettext(language, "Model AUC, last weeks"), figure("late_auc"))],
        names, percent=False,
    )  # fmt: skip
    weekly: dict[str, list[tuple[int, float | None]]] = {name: [] for name in names}
    auc: dict[str, list[tuple[int, float | None]]] = {name: [] for name in names}
    by_week: dict[int, dict[str, dict[str, Any]]] = {}
    for row in report.weekly:
        weekly[row["strategy"]].append((row["week"], row.get("detected_share")))
        auc[row["strategy"]].append((row["week"], row.get("auc")))
        by_week.setdefault(row["week"], {})[row["strategy"]] = row
    aucs = [v for points in auc.values() for _, v in points if v is not None]
    low = min(0.5, int(10 * min(aucs)) / 10) if aucs else 0.5
    return Comparison(
        series=lab_charts.series_of(names), shares=shares, ratios=ratios,
        detected=lab_charts.lines(weekly, names, percent=True),
        auc=lab_charts.lines(auc, names, percent=False, low=low) if aucs else None,
        weeks=sorted(by_week), by_week=by_week,
    )  # fmt: skip


async def _report(request: Request, run_id: str) -> tuple[Visitor, LabRunReport | Response]:
    state, visitor, refusal = await admitted(request, Permission.LAB_RUN)
    if refusal is not None:
        return visitor, refusal
    try:
        return visitor, await run_in_threadpool(lab_runs.lab_run, state.store, run_id)
    except NotFoundError:
        missing = gettext(visitor.language, "There is no lab run %(run)s.") % {"run": run_id}
        return visitor, render(request, visitor, "refused.html", {"missing": missing}, status=404)


@router.post("/lab/{run_id}/rerun")
async def rerun(request: Request, run_id: str) -> Response:
    """Queue a failed (or stale) run's parameters again and go to the new run's page."""
    state, visitor, _form, refusal = await posted_by(request, Permission.LAB_RUN)
    if refusal is not None or visitor.principal is None:
        return refusal or redirect_to("/login")
    actor = visitor.principal.name
    try:
        run = await run_in_threadpool(
            lambda: lab_runs.rerun_lab_run(state.store, run_id, actor=actor, worker=state.lab)
        )
    except NotFoundError:
        missing = gettext(visitor.language, "There is no lab run %(run)s.") % {"run": run_id}
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    except ConflictError as exc:
        failure = told(visitor.language, exc)
        return render(request, visitor, "refused.html", {"failure": failure}, status=409)
    return redirect_to(f"/lab/{run.run_id}")


@router.get("/lab/{run_id}")
async def run_page(request: Request, run_id: str) -> Response:
    """A run: its parameters and state; once done, its set-ups compared in charts and
    tables; once failed, why."""
    visitor, found = await _report(request, run_id)
    if isinstance(found, Response):
        return found
    return render(
        request, visitor, "lab_run.html",
        {"r": found.run, "report": found, "c": _comparison(found, visitor.language),
         "descriptions": _descriptions(visitor.language)},
    )  # fmt: skip


@router.get("/lab/{run_id}/state")
async def run_state(request: Request, run_id: str) -> Response:
    """A run's state alone (htmx polls it while the run waits or runs); once it has
    finished, htmx is told to load the whole page again, with the charts or the error."""
    visitor, found = await _report(request, run_id)
    if isinstance(found, Response):
        return found
    if not request.headers.get("hx-request"):
        return redirect_to(f"/lab/{found.run.run_id}")
    page = render(request, visitor, "lab_state.html", {"r": found.run})
    if found.run.state in (LabState.DONE, LabState.FAILED) or found.run.stale:
        page.headers["HX-Refresh"] = "true"
    return page
