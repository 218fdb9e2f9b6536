"""CLI commands of carriers' documents: ``quaywatch documents show REF`` and ``quaywatch
documents check CONSIGNMENT_ID``. Each calls one service of ``quaywatch.services.documents``
and prints its result (the console prints data as it is: no markup, control characters shown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import console, open_store, shown, sub_app
from quaywatch.domain.vocabulary import WEIGHT_TOLERANCE

if TYPE_CHECKING:
    from quaywatch.risk.carrier_documents import Linked

documents_app = sub_app("Carriers' documents (DCSA eBL B/Ls and shipping instructions).")


def _discrepancies(linked: Linked) -> None:
    head = f"Consignment {linked.consignment_id} v{linked.version}, B/L {linked.transport_document}"
    if linked.master_transport_document:
        head += f", master B/L {linked.master_transport_document}"
    console.print(head, highlight=False)
    if not linked.documents:
        console.print("  no carrier document of its B/L is stored", highlight=False)
        return
    if not linked.discrepancies:
        console.print("  no discrepancy with the carrier's filing", highlight=False)
        return
    table = Table()
    for column in ("discrepancy", "container", "declared", "filed", "document", "detail"):
        table.add_column(column)
    for d in linked.discrepancies:
        table.add_row(
            d.kind.value, shown(d.container_number or ""), shown(d.declared or ""),
            shown(d.filed or ""), shown(f"{d.document_kind} {d.reference} r{d.revision}"),
            shown(d.detail),
        )  # fmt: skip
    console.print(table)


@documents_app.command("show")
def show(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="B/L number or shipping instructions ref.")],
) -> None:
    """Show the carrier's document REF (newest revision), its revisions, the consignments
    declaring it and their discrepancies with it."""
    from quaywatch.services.documents import show_document

    view = show_document(open_store(ctx), reference)
    kind = "Transport document" if view.document_kind == "TD" else "Shipping instructions"
    console.print(shown(f"{kind} {view.reference} revision {view.revision} "
                        f"({view.status or 'no status'})", "bold"))  # fmt: skip
    facts = [
        ("B/L number", view.transport_document_reference),
        ("carrier", f"{view.carrier_code or ''} ({view.carrier_code_list or ''})"),
        ("vessel", f"{view.vessel_name or ''} {view.vessel_imo or ''} voyage {view.voyage or ''}"),
        ("route", f"{view.port_of_loading or '?'} -> {view.port_of_discharge or '?'}"),
        ("shipped on board", view.shipped_on_board_date),
        ("ICS2 zone", view.cargo_in_ics2_zone),
        ("advance manifests", view.advance_manifest_filings),
    ]
    for name, value in facts:
        console.print(f"  {name}: {'' if value is None else value}", highlight=False)
    for p in view.parties:
        console.print(f"  {p.role}: {p.name} ({p.country or 'country not given'})", highlight=False)
    boxes = Table(title="Equipment")
    for column in ("container", "check digit", "size/type", "seals", "cargo kg"):
        boxes.add_column(column)
    for e in view.equipment:
        boxes.add_row(
            shown(e.container_number), "ok" if e.check_digit_valid else "WRONG",
            shown(e.size_type or ""), shown(", ".join(e.seals)),
            "" if e.cargo_gross_kg is None else f"{e.cargo_gross_kg:,.0f}",
        )  # fmt: skip
    console.print(boxes)
    revisions = Table(title="Revisions")
    for column in ("kind", "reference", "revision", "status", "received"):
        revisions.add_column(column)
    for r in view.revisions:
        revisions.add_row(r.document_kind, shown(r.reference), str(r.revision),
                          shown(r.status or ""), r.received_at.isoformat())  # fmt: skip
    console.print(revisions)
    if not view.consignments:
        console.print("No consignment declares this B/L.", highlight=False)
    for linked in view.consignments:
        _discrepancies(linked)


@documents_app.command("check")
def check(
    ctx: typer.Context,
    consignment_id: Annotated[str, typer.Argument(help="The consignment's id.")],
    version: Annotated[int | None, typer.Option(help="Its version (default: newest).")] = None,
    tolerance: Annotated[
        float, typer.Option(help="Relative gross weight difference tolerated.")
    ] = WEIGHT_TOLERANCE,
) -> None:
    """List the discrepancies between CONSIGNMENT_ID and the carrier's documents of its B/L."""
    from quaywatch.services.documents import check_consignment

    _discrepancies(check_consignment(open_store(ctx), consignment_id, version, tolerance=tolerance))
