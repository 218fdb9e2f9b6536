"""Hits: what every risk source besides the model says about a consignment, in one shape.

Risk profiles, event anomalies, watchlist screening and the party graph each find things about
consignments. They all report them as a *hits frame*, one row per (consignment, hit), so the
engine can combine them with the model's probability and rank every reason on one scale:

- ``consignment_id``, ``version``: the consignment hit;
- ``code``: stable, ``<source>:<id>`` (``profile:COC-001``, ``anomaly:seal_changed``);
- ``text``: the sentence an officer reads ("seal 4471 replaced by 9902 at ESALG, no customs
  reseal");
- ``weight``: log-odds the hit adds to the risk (0.7 ≈ doubles the odds, 2.3 ≈ ten times; see
  ``risk.explain``);
- ``source``: a ``risk.explain.Source`` value;
- ``lane``: the minimum lane the hit demands (``green`` … ``red``), or null;
- ``referral``: a pre-loading referral (``RFI``, ``RFS``, ``DNL``), or null;
- ``evidence``: the ids of the records the hit was found in (a carrier document revision, a
  partner's message), or null; set by the plug-in sources (``risk.hit_sources``), carried into
  the reason;
- ``said``: the sentence's message as JSON (``{"id": <English template>, "args": {...}}``,
  written with ``risk.wording.worded``), or null: a page shows the reason in its reader's
  language from it, else as its text.

>>> empty().columns
['consignment_id', 'version', 'code', 'text', 'weight', 'source', 'lane', 'referral', 'evidence', 'said']
"""

from __future__ import annotations

import polars as pl

_COLUMNS: dict[str, pl.DataType] = {
    "consignment_id": pl.String(),
    "version": pl.Int64(),
    "code": pl.String(),
    "text": pl.String(),
    "weight": pl.Float64(),
    "source": pl.String(),
    "lane": pl.String(),
    "referral": pl.String(),
    "evidence": pl.List(pl.String()),
    "said": pl.String(),
}
SCHEMA = pl.Schema(_COLUMNS)


def empty() -> pl.DataFrame:
    """A hits frame with no rows."""
    return SCHEMA.to_frame()


def conform(hits: pl.DataFrame) -> pl.DataFrame:
    """``hits`` with exactly the hits columns, in order and type; missing optional ones null.

    ``lane``, ``referral``, ``evidence`` and ``said`` may be left out by sources that never set them.
    """
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in SCHEMA.items()
               if name not in hits.columns]  # fmt: skip
    return hits.with_columns(missing).select(
        pl.col(name).cast(dtype) for name, dtype in SCHEMA.items()
    )


def heaviest(hits: pl.DataFrame) -> pl.DataFrame:
    """``hits`` with one row per consignment and code: the heaviest, in key and code order.

    A source that finds the same thing several ways (a name on two list entries, a phone shared
    with two offenders) reports it once, at its strongest.
    """
    key = ["consignment_id", "version", "code"]
    return hits.sort([*key, "weight"], descending=[False, False, False, True]).unique(
        key, keep="first", maintain_order=True
    )
