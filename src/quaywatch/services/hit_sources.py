"""The hit sources every use case hands the risk engine: one list, so that a consignment gets
the same assessment from a scoring run, through the API, in an evaluation and in the evidence
its hit weights are fitted on.

``registered`` gives them for a store: the carrier's documents (``risk.document_hits``) and the
alerts of partner administrations and the parties of their seizures (``exchange.alerts``). A new source is added here, and
nowhere else; how to write one is in docs/risk-engine.md, "Hit sources".
"""

from __future__ import annotations

from pathlib import Path

from quaywatch.exchange.alerts import PartnerAlertHits
from quaywatch.exchange.protection import group_key_if_any
from quaywatch.risk.document_hits import CarrierDocumentHits
from quaywatch.risk.hit_sources import HitSource
from quaywatch.store.store import Store


def registered(store: Store, key_dir: Path | None = None) -> tuple[HitSource, ...]:
    """The plug-in hit sources reading ``store``, in the order their hits are collected.

    ``key_dir``: the key directory (``QUAYWATCH_KEY_DIR``), whose partner-group key lets the
    parties of de-identified partner seizures match (``exchange.watchlists``)."""
    return (CarrierDocumentHits(store), PartnerAlertHits(store, group_key_if_any(key_dir)))
