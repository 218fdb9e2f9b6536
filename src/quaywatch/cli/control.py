"""CLI of the control workflow (``quaywatch control ...``) and of the KPIs (``quaywatch kpis``).

An officer's day: ``control orders --run ID`` turns a selection run into inspection orders,
``control worklist --run ID`` shows what the run selected and why, ``control list --state
planned`` shows the work, ``control start`` begins a control, ``control scan`` / ``control
findings`` record what it showed, ``control outcome`` ends it and ``control override`` changes
or cancels it with a reason. Each command calls one function of ``services.control`` (the KPIs:
``services.kpis``) and prints its result. ``app.py`` registers the sub-app as ``control`` and
``kpis`` as a command. docs/control.md walks through it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from quaywatch.cli.context import (
    DATE_FORMATS,
    console,
    get_settings,
    json_text,
    open_store,
    shown,
    sub_app,
    utc,
)
from quaywatch.control.states import State
from quaywatch.domain.vocabulary import (
    Concealment,
    ControlResult,
    ControlType,
    Irregularity,
    SeizureUnit,
    Verdict,
)

if TYPE_CHECKING:
    from quaywatch.control.orders import Order

app = sub_app("Inspection orders, scan results and outcomes.")

OrderId = Annotated[str, typer.Argument(help="The order id (QW...), as `control list` shows.")]


def _say(text: str) -> None:
    """A line that carries data: printed as it is, never read as markup."""
    console.print(text, markup=False, highlight=False)


def _orders_table(orders: list[Order], title: str) -> Table:
    table = Table(title=shown(title))
    for column in ("order", "consignment", "control", "lane", "selected by", "terminal",
                   "shift (UTC)", "state"):  # fmt: skip
        # Ids are what officers type next: fold them, never cut them short.
        table.add_column(column, overflow="fold")
    for o in orders:
        control = o.control_type if o.control_type == o.decided_type else (
            f"{o.control_type} (was {o.decided_type})"
        )  # fmt: skip
        table.add_row(*(shown(cell) for cell in (
            o.order_id, o.consignment_id, control, o.lane, o.selected_by, o.terminal,
            f"{o.shift_start:%Y-%m-%d %H:%M}", o.state)))  # fmt: skip
    return table


@app.command("orders")
def orders_command(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="The selection run (id printed by select).")],
) -> None:
    """Create the inspection orders of a selection run (again: nothing new) and list them."""
    from quaywatch.services import control

    made = control.create_orders(open_store(ctx), run, actor=get_settings(ctx).actor)
    _say(
        f"Selection run {made.run_id}: {len(made.created):,} orders created, {made.existing:,} "
        f"already existed; {made.events:,} customs events (CUSS/CUSI) emitted."
    )
    console.print(_orders_table(made.orders, f"Orders of run {made.run_id}"))


@app.command("worklist")
def worklist_command(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="The selection run (id printed by select).")],
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 200,
) -> None:
    """The consignments a selection run chose for control: why, where and when."""
    from quaywatch.services import worklist

    found = worklist.worklist(open_store(ctx), run, limit=limit)
    table = Table(title=shown(f"Worklist of run {run}: {len(found)} consignments"))
    for column in ("shift (UTC)", "terminal", "consignment", "control", "lane", "selected by",
                   "score", "referral", "reasons", "order"):  # fmt: skip
        table.add_column(column, overflow="fold", justify="right" if column == "score" else "left")
    for w in found:
        order = "" if w.order_id is None else f"{w.order_id} ({w.order_state})"
        table.add_row(*(shown(cell) for cell in (
            f"{w.shift_start:%Y-%m-%d %H:%M}", w.terminal, w.consignment_id, w.control_type or "-",
            w.lane, w.selected_by, "-" if w.score is None else f"{w.score:.0f}",
            w.referral or "", "; ".join(r.text for r in w.reasons), order)))  # fmt: skip
    console.print(table)


@app.command("list")
def list_command(
    ctx: typer.Context,
    state: Annotated[State | None, typer.Option(help="Only orders in this state.")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only orders of this run.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 200,
) -> None:
    """Inspection orders, oldest shift first."""
    from quaywatch.services import control

    found = control.list_orders(open_store(ctx), state=state, run_id=run, limit=limit)
    console.print(_orders_table(found, f"{len(found)} orders" + (f" {state}" if state else "")))


@app.command("start")
def start_command(ctx: typer.Context, order_id: OrderId) -> None:
    """Begin the control of a planned order (it becomes in_progress)."""
    from quaywatch.services import control

    order = control.start_order(open_store(ctx), order_id, actor=get_settings(ctx).actor)
    _say(f"order {order.order_id}: {order.control_type} control in progress")


@app.command("scan")
def scan_command(
    ctx: typer.Context,
    order_id: OrderId,
    verdict: Annotated[Verdict, typer.Option(help="The image analyst's verdict.")],
    image: Annotated[str, typer.Option(help="Where the NII image is kept (path or URI).")],
    analyst: Annotated[str, typer.Option(help="The image analyst.")],
    scan_id: Annotated[
        str | None,
        typer.Option(help="The scanner's id of the scan (default: derived from the image)."),
    ] = None,
) -> None:
    """Record the NII scan result of an order in progress."""
    from quaywatch.services import control

    done = control.record_scan(open_store(ctx), order_id, verdict=verdict, image_ref=image,
                               analyst=analyst, scan_id=scan_id, actor=get_settings(ctx).actor)  # fmt: skip
    what = "recorded" if done.created else "already recorded, unchanged"
    _say(f"scan {done.scan_id} of order {done.order_id} ({done.verdict}): {what}")


@app.command("findings")
def findings_command(
    ctx: typer.Context,
    order_id: OrderId,
    note: Annotated[str, typer.Option(help="What the examination found, in words.")],
    seals_intact: Annotated[
        bool | None, typer.Option("--seals-intact/--seals-broken", help="Seals as found.")
    ] = None,
    goods_as_declared: Annotated[
        bool | None, typer.Option("--goods-as-declared/--goods-differ", help="Goods as found.")
    ] = None,
) -> None:
    """Record the findings of a physical examination in progress."""
    from quaywatch.services import control

    done = control.record_findings(open_store(ctx), order_id, note=note,
                                   seals_intact=seals_intact, goods_as_declared=goods_as_declared,
                                   actor=get_settings(ctx).actor)  # fmt: skip
    _say(f"findings recorded for order {done.order_id}")


@app.command("outcome")
def outcome_command(
    ctx: typer.Context,
    order_id: OrderId,
    result: Annotated[ControlResult, typer.Option(help="What the control found.")],
    irregularity: Annotated[
        Irregularity | None, typer.Option(help="What was wrong (IRREGULAR or SEIZURE).")
    ] = None,
    revenue: Annotated[float, typer.Option(min=0.0, help="Duties and taxes recovered, EUR.")] = 0.0,
    goods: Annotated[str | None, typer.Option(help="Goods seized (SEIZURE).")] = None,
    quantity: Annotated[float | None, typer.Option(help="Quantity seized (SEIZURE).")] = None,
    unit: Annotated[SeizureUnit | None, typer.Option(help="Unit of the quantity.")] = None,
    hs6: Annotated[str | None, typer.Option(help="HS6 code of the goods seized.")] = None,
    concealment: Annotated[Concealment | None, typer.Option(help="How they were hidden.")] = None,
) -> None:
    """Record the outcome of an order in progress; it is done and, unless seized, released."""
    from quaywatch.services import control

    done = control.record_outcome(
        open_store(ctx), order_id, result=result, irregularity=irregularity,
        revenue_recovered_eur=revenue, seizure_goods=goods, seizure_quantity=quantity,
        seizure_unit=unit, seizure_hs6=hs6, concealment=concealment, actor=get_settings(ctx).actor,
    )  # fmt: skip
    if not done.created:
        _say(f"order {done.order_id}: outcome {done.result} already recorded, unchanged")
        return
    released = "consignment released (CUSR)" if done.released else "consignment still held"
    _say(f"order {done.order_id} done: {done.result}; {released}")


@app.command("override")
def override_command(
    ctx: typer.Context,
    order_id: OrderId,
    reason: Annotated[str, typer.Option(help="Why (mandatory; kept in the audit trail).")],
    control_type: Annotated[
        ControlType | None, typer.Option("--type", help="The control to make instead.")
    ] = None,
    cancel: Annotated[bool, typer.Option("--cancel", help="Cancel the order.")] = False,
) -> None:
    """Change an order's control type, or cancel it, giving a reason."""
    from quaywatch.services import control

    order = control.override_order(open_store(ctx), order_id, reason=reason,
                                   control_type=control_type, cancel=cancel,
                                   actor=get_settings(ctx).actor)  # fmt: skip
    what = "cancelled" if order.state == State.CANCELLED else f"now a {order.control_type} control"
    _say(f"order {order.order_id} {what}")


@app.command("show")
def show_command(ctx: typer.Context, order_id: OrderId) -> None:
    """One order: what was decided, its steps, scans and outcome."""
    from quaywatch.services import control

    dossier = control.order_dossier(open_store(ctx), order_id)
    o = dossier.order
    console.print(
        shown(f"order {o.order_id}", "bold"),
        f"({o.state}): {o.control_type} "
        f"control of consignment {o.consignment_id} v{o.version}, lane {o.lane}, "
        f"selected by {o.selected_by} (propensity {o.propensity:.3f}), "
        f"{o.terminal} shift {o.shift_start:%Y-%m-%d %H:%M} UTC, selection run "
        f"{o.run_id}",
        highlight=False,
    )
    steps = Table(title="History")
    for column in ("at (UTC)", "actor", "action", "state", "reason", "details"):
        steps.add_column(column)
    for h in dossier.history:
        moved = f"{h.from_state or ''} → {h.to_state}" if h.to_state else ""
        details = ", ".join(f"{k}={v}" for k, v in h.details.items() if k != "consignment_id")
        steps.add_row(*(shown(cell) for cell in (
            f"{h.at:%Y-%m-%d %H:%M:%S}", h.actor, h.action, moved, h.reason or "", details)))  # fmt: skip
    console.print(steps)
    for s in dossier.scans:
        _say(f"scan {s.scan_id}: {s.verdict} by {s.analyst}, image {s.image_ref}")
    if dossier.outcome:
        extra = ", ".join(f"{k}={v}" for k, v in dossier.outcome.details.items())
        _say(f"outcome {dossier.outcome.result}" + (f": {extra}" if extra else ""))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _group_table(title: str, rows: list[dict[str, Any]], key: str) -> Table:
    table = Table(title=title)
    for column in (key.replace("_", " "), "controls", "hits", "hit rate", "revenue EUR",
                   "seizures"):  # fmt: skip
        table.add_column(column, justify="left" if column == key.replace("_", " ") else "right")
    for r in rows:
        table.add_row(shown(str(r[key])), f"{r['controls']:,}", f"{r['hits']:,}",
                      _percent(r["hit_rate"]), f"{r['revenue_recovered_eur']:,.0f}",
                      f"{r['seizures']:,}")  # fmt: skip
    return table


def kpis(
    ctx: typer.Context,
    period_from: Annotated[
        datetime,
        typer.Option("--from", help="Period from (UTC unless it says).", formats=DATE_FORMATS),
    ],
    period_to: Annotated[
        datetime, typer.Option("--to", help="... until before this moment.", formats=DATE_FORMATS)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Control KPIs over a period: hit rates, revenue, seizures, capacity, release, AEO burden."""
    from quaywatch.services.kpis import compute_kpis

    k = compute_kpis(open_store(ctx), period_from=utc(period_from), period_to=utc(period_to))
    if as_json:
        typer.echo(json_text(k, indent=2, ensure_ascii=False))
        return
    _say(
        f"{k['period']['from']} to {k['period']['to']}: {k['controls']:,} controls, "
        f"{k['hits']:,} hits ({_percent(k['hit_rate'])}), €{k['revenue_recovered_eur']:,.0f} "
        f"recovered, {k['seizures']['count']:,} seizures"
    )
    for title, key in (("Hit rate by lane", "lane"), ("By control type", "control_type"),
                       ("By selected_by", "selected_by")):  # fmt: skip
        console.print(_group_table(title, k[f"by_{key}"], key))
    profiles = Table(title="Profile effectiveness")
    for column in ("profile", "flagged", "selections", "controls", "hits", "hit rate",
                   "hits/selection", "revenue EUR"):  # fmt: skip
        profiles.add_column(column, justify="left" if column == "profile" else "right")
    for p in k["profiles"]:
        profiles.add_row(shown(str(p["profile"])), f"{p['flagged']:,}", f"{p['selections']:,}",
                         f"{p['controls']:,}", f"{p['hits']:,}", _percent(p["hit_rate"]),
                         _percent(p["hits_per_selection"]), f"{p['revenue_recovered_eur']:,.0f}")  # fmt: skip
    console.print(profiles)
    for s in k["seizures"]["by_goods"]:
        _say(f"  seized: {s['goods']}: {s['seizures']} × total {s['quantity']:g} {s['unit']}")
    states = k["capacity"]["orders"]
    _say("Orders: " + ", ".join(f"{n} {s}" for s, n in states.items()))
    capacity = Table(title="Capacity use per terminal and shift")
    for column in ("shift start (UTC)", "terminal", "decisions", "selected", "orders", "done",
                   "cancelled", "completion"):  # fmt: skip
        capacity.add_column(column, justify="left" if column == "terminal" else "right")
    for c in k["capacity"]["by_terminal_shift"]:
        capacity.add_row(c["shift_start"][:16].replace("T", " "), shown(str(c["terminal"])),
                         str(c["decisions"]), str(c["selected"]), str(c["orders"]),
                         str(c["done"]), str(c["cancelled"]), _percent(c["completion"]))  # fmt: skip
    console.print(capacity)
    for name, label in (("outcome_hours", "order to outcome"), ("release_hours", "order to CUSR")):
        t = k["time_to_release"][name]
        if t["count"]:
            _say(f"Time {label}: {t['count']} orders, median {t['median']} h, mean {t['mean']} h, "
                 f"90th percentile {t['p90']} h")  # fmt: skip
    a = k["aeo_burden"]
    _say(
        f"AEO burden: {_percent(a['aeo']['control_rate'])} of {a['aeo']['consignments']:,} AEO "
        f"consignments controlled vs {_percent(a['non_aeo']['control_rate'])} of "
        f"{a['non_aeo']['consignments']:,} others (ratio {a['ratio']})"
    )
