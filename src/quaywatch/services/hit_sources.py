"""The hit sources every use case hands the risk engine: one list, so that a consignment gets
the same assessment from a scoring run, through the API, in an evaluation and in the evidence
its hit weights are fitted on.

``registered`` gives them for a store: the carrier's documents (``risk.document_hits``) and the
alerts of partner administrations (``exchange.alerts``). A new source is added here, and
nowhere else; how to write one is in docs/risk-engine.md, "Hit sources".
"""

from __future__ import annotations

from quaywatch.exchange.alerts import PartnerAlertHits
from quaywatch.risk.document_hits import CarrierDocumentHits
from quaywatch.risk.hit_sources import HitSource
from quaywatch.store.store import Store


def registered(store: Store) -> tuple[HitSource, ...]:
    """The plug-in hit sources reading ``store``, in the order their hits are collected."""
    return (CarrierDocumentHits(store), PartnerAlertHits(store))
