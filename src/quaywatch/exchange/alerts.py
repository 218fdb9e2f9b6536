"""Partner alerts as a hit source: a partner's risk analysis result or seizure report raises the
assessment of the cargo it names.

A message accepted into the inbox (``exchange.mailbox``) from a partner administration names
cargo by MRN, transport document reference and container number (``messages.Cargo``). Each
consignment version of the batch being assessed that the message names (its id is the MRN, its
house or master B/L is one of the references, or one of its containers is named) gets a hit, one
code per kind of alert (``risk.hit_sources``):

=================================  ======  ==================================================
code                               weight  the partner...
=================================  ======  ==================================================
``partner:seizure``                2.3     reports a seizure on this cargo (same container,
                                           B/L or MRN)
``partner:control_at_first_entry`` 2.0     concluded its risk analysis with "control at first
                                           entry"
``partner:pass_to_next_port``      0.7     passed its risk concern on to the next port
=================================  ======  ==================================================

A result of ``NO_ACTION`` raises nothing. The weights are judgment (docs/risk-engine.md,
"Partner alerts"), replaced by the port's own fit (``quaywatch weights fit``) once alerts have
been controlled. The reason reads "alert from partner NLRTM: ..." and its evidence is the
message id: the id the ``Feedback`` to the partner answers.

As of and validity: an alert counts for an assessment made as of a moment at or after it was
received (``received_at``) and before it lapses: the message's ``expires_at``, for a risk
analysis result its ``valid_until`` if earlier, and the moment its sender was revoked here
(``partners revoke``) or the key that signed it was (``partners revoke --key``), if earlier: an
assessment made after a revocation no longer carries the alert; one made before keeps it. An alert received after a consignment's latest
assessment makes that assessment stale (``stale``), so the next scoring run assesses it again.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import func, or_, select

from quaywatch.domain.vocabulary import ControlType
from quaywatch.errors import said
from quaywatch.exchange import messages as m
from quaywatch.features import declared
from quaywatch.risk.explain import Source
from quaywatch.risk.hit_sources import Hit, HitCode, no_keys
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

_FROM = "alert from partner {partner}: "
SEIZURE = HitCode(
    "partner:seizure", 2.3,
    _FROM + "seizure {case} of {quantity} {unit} {goods} (HS {hs}), found by {found}; {about}",
)  # fmt: skip
CONTROL = HitCode(
    "partner:control_at_first_entry", 2.0,
    _FROM + "{area} risk, control at first entry{control}; {about}",
)  # fmt: skip
PASS_ON = HitCode(
    "partner:pass_to_next_port", 0.7, _FROM + "{area} risk, passed to the next port; {about}"
)
#: Every code, by code.
CODES: Mapping[str, HitCode] = {c.code: c for c in (SEIZURE, CONTROL, PASS_ON)}
_RESULTS = {m.AnalysisResult.CONTROL_AT_FIRST_ENTRY: CONTROL,
            m.AnalysisResult.PASS_TO_NEXT_PORT: PASS_ON}  # fmt: skip
#: The words of a sentence's parameters, which translate with it (``errors.said``): each is the
#: value in lower case, underscores as spaces.
_AREAS = {
    m.RiskArea.SAFETY_SECURITY: said("safety security"), m.RiskArea.FINANCIAL: said("financial"),
    m.RiskArea.DRUGS: said("drugs"), m.RiskArea.IPR: said("ipr"),
    m.RiskArea.ENVIRONMENT: said("environment"), m.RiskArea.HEALTH: said("health"),
    m.RiskArea.PROHIBITIONS: said("prohibitions"),
}  # fmt: skip
_METHODS = {
    m.DetectionMethod.RISK_PROFILE: said("risk profile"),
    m.DetectionMethod.RISK_MODEL: said("risk model"), m.DetectionMethod.NII_SCAN: said("nii scan"),
    m.DetectionMethod.DOG: said("dog"),
    m.DetectionMethod.PHYSICAL_EXAMINATION: said("physical examination"),
    m.DetectionMethod.INTELLIGENCE: said("intelligence"),
    m.DetectionMethod.PARTNER_ALERT: said("partner alert"), m.DetectionMethod.RANDOM: said("random"),
    m.DetectionMethod.OTHER: said("other"),
}  # fmt: skip
_CONTROLS = {ControlType.DOCUMENTARY: said("documentary"), ControlType.SCAN: said("scan"),
             ControlType.PHYSICAL: said("physical")}  # fmt: skip
_MOMENT = pl.Datetime("us", "UTC")
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Alert:
    """An accepted message that may raise an assessment: its code and sentence parameters, when
    it became known and when it lapses, and the cargo it names."""

    message_id: str
    code: str
    params: Mapping[str, str]
    received_at: datetime
    until: datetime
    cargo: m.Cargo


def alert_of(row: Any) -> Alert | None:
    """The alert an inbox row carries, or None (another type, or a result asking nothing)."""
    data = json.loads(row.payload)
    header = m.Header.model_validate(data["header"])
    body = m.BODIES[header.message_type].model_validate(data["body"])
    until = header.expires_at
    if isinstance(body, m.RiskAnalysisResult):
        code = _RESULTS.get(body.result)
        if code is None:
            return None
        until = min(until, body.valid_until)
        control = body.recommended_control
        params = {"area": _AREAS[body.risk_area],
                  "control": "" if control is None else said(
                      " (%(control)s recommended)", control=_CONTROLS[control])}  # fmt: skip
    elif isinstance(body, m.SeizureReport):
        code = SEIZURE
        params = {"case": body.case_reference, "quantity": f"{body.quantity:g}",
                  "unit": body.unit.value, "goods": body.goods_description, "hs": body.hs_code,
                  "found": _METHODS[body.detection_method]}  # fmt: skip
    else:
        return None
    return Alert(header.message_id, code.code, {"partner": header.sender, **params},
                 row.received_at, until, body)  # fmt: skip


def alerts(store: Store) -> list[Alert]:
    """Every alert in the inbox (risk analysis results and seizure reports), oldest first,
    each lapsing at the latest when its sender, or the key that signed it, was revoked."""
    r, p, k = tables.exchange_received, tables.exchange_partners, tables.exchange_revoked_keys
    kinds = (m.MessageType.RISK_ANALYSIS_RESULT.value, m.MessageType.SEIZURE_REPORT.value)
    with store.reading() as conn:
        rows = conn.execute(
            select(r.c.payload, r.c.received_at, p.c.revoked_at.label("partner_revoked_at"),
                   k.c.revoked_at.label("key_revoked_at"))
            .select_from(
                r.outerjoin(p, p.c.administration == r.c.sender)
                .outerjoin(k, (k.c.key_id == r.c.key_id) & (k.c.administration == r.c.sender))
            )
            .where(r.c.message_type.in_(kinds))
            .order_by(r.c.received_at, r.c.message_id)
        ).all()  # fmt: skip
    found: list[Alert] = []
    for row in rows:
        alert = alert_of(row)
        if alert is None:
            continue
        revoked = [t for t in (row.partner_revoked_at, row.key_revoked_at) if t is not None]
        if revoked:
            alert = replace(alert, until=min(alert.until, *revoked))
        found.append(alert)
    return found


_MATCHES = pl.Schema({"message_id": pl.String(), "consignment_id": pl.String(),
                      "version": pl.Int64(), "about": pl.String(), "rank": pl.Int64()})  # fmt: skip


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


def matches(store: Store, found: Sequence[Alert]) -> pl.DataFrame:
    """``message_id``, ``consignment_id``, ``version``, ``about`` (what matched, for the
    sentence): every consignment version each alert names, by its strongest key (MRN, then
    B/L, then container)."""
    by_key: dict[tuple[int, str], list[str]] = {}
    for a in found:
        keys = [(0, a.cargo.mrn)] if a.cargo.mrn else []
        keys += [(1, d.reference) for d in a.cargo.transport_documents]
        keys += [(2, str(c)) for c in a.cargo.containers]
        for key in keys:
            by_key.setdefault(key, []).append(a.message_id)
    c, k = tables.consignments, tables.containers
    queries = (  # rank, the columns a value may be in, the table
        (0, (c.c.consignment_id,), c),
        (1, (c.c.transport_document, c.c.master_transport_document), c),
        (2, (k.c.container_number,), k),
    )
    rows: list[tuple[int, str, str, int]] = []
    with store.reading() as conn:
        for rank, columns, table in queries:
            wanted = sorted({value for r, value in by_key if r == rank})
            for part in _chunks(wanted):
                query = select(table.c.consignment_id, table.c.version, *columns).where(
                    or_(*(column.in_(part) for column in columns))
                )
                for row in conn.execute(query):
                    for value in set(row[2:]) & set(part):
                        rows.append((rank, value, row[0], row[1]))
    about = {0: "MRN {}", 1: "B/L {}", 2: "container {}"}
    out = [(mid, cid, version, about[rank].format(value), rank)
           for rank, value, cid, version in rows for mid in by_key[(rank, value)]]  # fmt: skip
    frame = pl.DataFrame(out, schema=_MATCHES, orient="row")
    return frame.sort("rank", "about").unique(
        ["message_id", "consignment_id", "version"], keep="first", maintain_order=True
    )


def _timed(found: Sequence[Alert]) -> pl.DataFrame:
    return pl.DataFrame(
        {"message_id": [a.message_id for a in found],
         "received_at": [a.received_at for a in found], "until": [a.until for a in found]},
        schema={"message_id": pl.String(), "received_at": _MOMENT, "until": _MOMENT},
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PartnerAlertHits:
    """The alerts from partner administrations in ``store`` as a hit source (module docstring)."""

    store: Store

    @property
    def name(self) -> Source:
        return Source.PARTNER

    @property
    def codes(self) -> Mapping[str, HitCode]:
        return CODES

    def hits(self, consignments: pl.DataFrame) -> Iterator[Hit]:
        """A hit per alert naming a consignment of the batch, known at its ``as_of`` and not
        lapsed then; one read of the inbox and one per kind of key."""
        if consignments.is_empty():
            return
        found = alerts(self.store)
        if not found:
            return
        by_id = {a.message_id: a for a in found}
        live = (
            matches(self.store, found)
            .join(_timed(found), on="message_id")
            .join(consignments.select(*declared.KEY, "as_of"), on=list(declared.KEY))
            .filter(
                (pl.col("received_at") <= pl.col("as_of")) & (pl.col("as_of") < pl.col("until"))
            )
            .sort("consignment_id", "version", "received_at", "message_id")
        )
        for mid, cid, version, about in live.select(
            "message_id", "consignment_id", "version", "about"
        ).iter_rows():
            alert = by_id[mid]
            yield Hit(cid, version, alert.code, {**alert.params, "about": about}, (mid,))

    def stale(self, consignment_ids: Collection[str] | None) -> pl.DataFrame:
        """Assessed consignments (of these, when given) an alert names that was received after
        their latest assessment's moment."""
        found = alerts(self.store)
        if not found:
            return no_keys()
        named = matches(self.store, found).join(_timed(found), on="message_id")
        if consignment_ids is not None:
            named = named.filter(pl.col("consignment_id").is_in(sorted(consignment_ids)))
        if named.is_empty():
            return no_keys()
        a = tables.assessments
        ids = sorted(named.get_column("consignment_id").unique().to_list())
        schema = {"consignment_id": pl.String(), "version": pl.Int64(), "assessed_at": _MOMENT}
        assessed = pl.concat([
            reads.frame(self.store, select(
                a.c.consignment_id, a.c.version, func.max(a.c.assessed_at).label("assessed_at"),
            ).where(a.c.consignment_id.in_(part)).group_by(a.c.consignment_id, a.c.version),
            schema) for part in _chunks(ids)
        ])  # fmt: skip
        return (
            named.join(assessed, on=list(declared.KEY))
            .filter(pl.col("received_at") > pl.col("assessed_at"))
            .select(*declared.KEY)
            .unique(maintain_order=True)
            .sort(*declared.KEY)
        )
