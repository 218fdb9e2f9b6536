"""The names of the input formats and what each holds, in the order detection tries them:
what ``--format`` accepts.

The registry itself (``formats.FORMATS``) reads files, and so loads polars and pyarrow; the
command line's help lists the formats from here without loading them (``quaywatch --help``
answers at once). ``formats`` builds each ``Format`` with its description from ``ABOUT`` and
refuses to load if the two lists differ, so the help cannot fall behind the registry.
"""

from __future__ import annotations

#: Each format's name and a line about it, in ``formats.FORMATS`` order.
ABOUT: dict[str, str] = {
    "dcsa-tnt-3": "DCSA Track & Trace 3.x events (eventClassification nested), alone, in an "
    'array, one per line or in {"events": [...]}',
    "dcsa-tnt-2.2": "DCSA Track & Trace 2.2 events (flat eventType, eventClassifierCode), "
    "alone, in an array or one per line",
    "dcsa-ebl-3": "DCSA eBL 3 transport documents and shipping instructions (bare, notified or "
    "amended), one document as DCSA publishes them, in an array or one per line",
    "un-edifact-cuscar": "UN/EDIFACT CUSCAR customs cargo reports (.edi, .edifact, .cuscar, or "
    "a file beginning UNA or UNB): consignments",
    "quaywatch-json": "quaywatch's consignments or control outcomes as JSON (docs/formats.md)",
    "quaywatch-csv": "quaywatch's consignments or control outcomes as CSV, one row per goods item",
    "quaywatch-parquet": "quaywatch's consignments or control outcomes as Parquet, as the CSV",
}


def listed(names: list[str] | None = None) -> str:
    """The names, comma-separated (``names``: a subset, in registry order), for a help text.

    >>> listed(["dcsa-tnt-2.2", "dcsa-tnt-3"])
    'dcsa-tnt-3, dcsa-tnt-2.2'
    """
    return ", ".join(n for n in ABOUT if names is None or n in names)
