"""Entity review: a party's neighbourhood in the party graph and its track record
(``assessment:read``), for deciding whether a consignee is a shell company or part of a
cluster.

``/parties/<party_key>?hops=1|2`` shows ``services.entities.party_review``: the party, its
identifiers and how many others share each, its watchlist matches and control hits; the
parties within one or two links drawn as rings around it (server-side SVG, the same layout
for the same review: nearer parties on the inner ring in the service's order, each outer one
near the party that links it), each node coloured by its hits with a text marker too, each
link labelled with what is shared and each node a link to that party's own review; the same
neighbourhood as a table for screen readers and keyboard users (the drawing is hidden from
them, its links out of the tab order); and the track record as figures, a bar chart per
month, and tables of the latest controls and consignments linked to their dossiers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from quaywatch.domain.access import Permission
from quaywatch.errors import InputError, NotFoundError, said
from quaywatch.services.entities import MonthRecord, PartyReview, party_review
from quaywatch.web.pages import admitted, gettext, render, told

router = APIRouter(include_in_schema=False)

#: Parties of the neighbourhood the page draws at most.
NEIGHBOURS = 40
#: The drawing: the radius of each ring (by hop), the margin around the outer ring, the radius
#: of a node and of the centre.
RINGS = (0.0, 150.0, 280.0)
MARGIN = 70.0
NODE_R = 13
CENTRE_R = 20
#: Characters of a name written under its node.
LABEL = 18
#: The month chart: its height, the height of its bars at most, the width of a month.
CHART_H = 150
BAR_H = 110
MONTH_W = 56


@dataclass(frozen=True, slots=True)
class Node:
    """A party drawn at (``x``, ``y``)."""

    party_key: str
    name: str
    label: str
    x: float
    y: float
    radius: int
    hop: int
    level: str


@dataclass(frozen=True, slots=True)
class Edge:
    """A line between two drawn parties, with what they share (``kinds``, and the values as
    declared) written at (``lx``, ``ly``)."""

    x1: float
    y1: float
    x2: float
    y2: float
    lx: float
    ly: float
    kinds: tuple[str, ...]
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Drawing:
    """The neighbourhood laid out: edges first (drawn under the nodes), then nodes."""

    size: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def _label(name: str) -> str:
    return name if len(name) <= LABEL else name[: LABEL - 1] + "…"


def _spread(wanted: list[float]) -> list[float]:
    """Angles for points evenly spaced round a ring, in the order of ``wanted`` (sorted), the
    whole ring turned so that each lies as near its wanted angle as the spacing allows."""
    count = len(wanted)
    step = 2 * math.pi / count if count else 0.0
    turn = math.atan2(
        sum(math.sin(a - i * step) for i, a in enumerate(wanted)),
        sum(math.cos(a - i * step) for i, a in enumerate(wanted)),
    )
    return [turn + i * step for i in range(count)]


def draw(review: PartyReview) -> Drawing:
    """The layout of ``review``'s neighbourhood: the party in the middle, each hop on its
    ring, the inner ring in the service's order from the top; each outer party placed as near
    the inner parties that link it as an even spacing allows."""
    inner = [n for n in review.neighbours if n.hop == 1]
    outer = [n for n in review.neighbours if n.hop == 2]
    size = round(2 * (RINGS[2 if outer else 1] + MARGIN))
    middle = size / 2
    angle = {n.party_key: -math.pi / 2 + 2 * math.pi * i / len(inner) for i, n in enumerate(inner)}
    parents: dict[str, list[float]] = {}
    for link in review.links:
        if link.source in angle:
            parents.setdefault(link.target, []).append(angle[link.source])
    wanted = {
        key: math.atan2(sum(map(math.sin, found)), sum(map(math.cos, found))) % (2 * math.pi)
        for key, found in parents.items()
    }
    outer.sort(key=lambda n: (wanted.get(n.party_key, 0.0), n.name, n.party_key))
    angle |= dict(
        zip((n.party_key for n in outer),
            _spread([wanted.get(n.party_key, 0.0) for n in outer]), strict=True)
    )  # fmt: skip
    nodes = [
        Node(review.party_key, review.name, _label(review.name), middle, middle, CENTRE_R, 0,
             review.hits.level)
    ]  # fmt: skip
    for n in [*inner, *outer]:
        radius, turn = RINGS[n.hop], angle[n.party_key]
        x = round(middle + radius * math.cos(turn), 1)
        y = round(middle + radius * math.sin(turn), 1)
        nodes.append(Node(n.party_key, n.name, _label(n.name), x, y, NODE_R, n.hop, n.hits.level))
    where = {n.party_key: n for n in nodes}
    paired: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for link in review.links:
        paired.setdefault((link.source, link.target), []).append((link.kind, link.value))
    edges = []
    for (source, target), shared in paired.items():
        a, b = where[source], where[target]
        kinds = tuple(dict.fromkeys(kind for kind, _ in shared))
        edges.append(
            Edge(a.x, a.y, b.x, b.y, round(a.x + 0.6 * (b.x - a.x), 1),
                 round(a.y + 0.6 * (b.y - a.y), 1), kinds,
                 tuple(dict.fromkeys(value for _, value in shared)))
        )  # fmt: skip
    return Drawing(size, tuple(nodes), tuple(edges))


@dataclass(frozen=True, slots=True)
class MonthBar:
    """One month of the chart: where it starts, and the heights of its three bars."""

    month: MonthRecord
    x: float
    consignments: float
    controls: float
    hits: float


def month_bars(months: tuple[MonthRecord, ...]) -> tuple[int, tuple[MonthBar, ...]]:
    """The chart's width and its bars: consignments, controls and hits of each month on one
    scale (the busiest month's largest figure is ``BAR_H`` high)."""
    top = max((max(m.consignments, m.controls) for m in months), default=0) or 1

    def high(count: int) -> float:
        return round(BAR_H * count / top, 1)

    bars = tuple(
        MonthBar(m, 8 + i * MONTH_W, high(m.consignments), high(m.controls), high(m.hits))
        for i, m in enumerate(months)
    )
    return 16 + MONTH_W * max(len(months), 1), bars


def _hops(text: str) -> int:
    if text not in ("1", "2"):
        raise InputError(said("hops must be 1 or 2, got %(value)s", value=repr(text)))
    return int(text)


@router.get("/parties/{party_key}")
async def party_page(request: Request, party_key: str, hops: str = "2") -> Response:
    """A party's neighbourhood within ``hops`` links and its track record."""
    state, visitor, refusal = await admitted(request, Permission.ASSESSMENT_READ)
    if refusal is not None:
        return refusal
    try:
        reach = _hops(hops)
        review = await run_in_threadpool(
            lambda: party_review(
                state.store, party_key, hops=reach, limit=NEIGHBOURS, key_dir=state.settings.key_dir
            )  # fmt: skip
        )
    except NotFoundError:
        missing = gettext(visitor.language, "There is no party %(key)s.") % {"key": party_key}
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    except InputError as exc:
        return render(
            request, visitor, "refused.html", {"failure": told(visitor.language, exc)}, status=422
        )
    width, bars = month_bars(review.track.months)
    names = {review.party_key: review.name} | {n.party_key: n.name for n in review.neighbours}
    return render(
        request, visitor, "party.html",
        {"r": review, "drawing": draw(review), "chart_width": width, "chart_height": CHART_H,
         "bar_base": 8 + BAR_H, "bars": bars, "names": names},
    )  # fmt: skip
