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
message, ``<sender>/<message id>``: the id after the "/" is the one the ``Feedback`` to the
partner answers.

As of and validity: an alert counts for an assessment made as of a moment at or after it was
received (``received_at``) and before it lapses: the message's ``expires_at``, for a risk
analysis result its ``valid_until`` if earlier, and the moment its sender was revoked here
(``partners revoke``) or the key that signed it was (``partners revoke --key``), if earlier: an
assessment made after a revocation no longer carries the alert; one made before keeps it, and
is due again (``stale``): the next scoring run assesses it again, without the alert. An alert
received after a consignment's latest assessment makes that assessment stale too.

A message id is its sender's to give: alerts are told apart by sender and id (``Alert.key``),
which is the evidence a hit keeps. The stored alerts are parsed once per state of the inbox
(``mailbox.inbox_state``), not once per batch scored.
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
from quaywatch.exchange import mailbox, messages as m, watchlists
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
#: Every code, by code: the alerts', and the partner watchlists' (``exchange.watchlists``).
CODES: Mapping[str, HitCode] = {c.code: c for c in (SEIZURE, CONTROL, PASS_ON, *watchlists.CODES)}
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
_METHODS = watchlists.METHODS
_CONTROLS = {ControlType.DOCUMENTARY: said("documentary"), ControlType.SCAN: said("scan"),
             ControlType.PHYSICAL: said("physical")}  # fmt: skip
_MOMENT = pl.Datetime("us", "UTC")
_KEYS = {"consignment_id": pl.String(), "version": pl.Int64()}
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
    sender: str = ""
    revoked_at: datetime | None = None

    @property
    def key(self) -> str:
        """The alert's key: its sender and message id (a message id is its sender's to give)."""
        return f"{self.sender}/{self.message_id}"


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
                 row.received_at, until, body, header.sender)  # fmt: skip


_KINDS = (m.MessageType.RISK_ANALYSIS_RESULT, m.MessageType.SEIZURE_REPORT)


def _parse(store: Store) -> list[Alert]:
    found: list[Alert] = []
    for row, revoked_at in mailbox.received_rows(store, _KINDS):
        alert = alert_of(row)
        if alert is None:
            continue
        if revoked_at is not None:
            alert = replace(alert, until=min(alert.until, revoked_at), revoked_at=revoked_at)
        found.append(alert)
    return found


_MATCHES = pl.Schema({"alert": pl.String(), "consignment_id": pl.String(),
                      "version": pl.Int64(), "about": pl.String(), "rank": pl.Int64()})  # fmt: skip


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


def matches(store: Store, found: Sequence[Alert]) -> pl.DataFrame:
    """``alert`` (its key), ``consignment_id``, ``version``, ``about`` (what matched, for the
    sentence): every consignment version each alert names, by its strongest key (MRN, then
    B/L, then container)."""
    by_key: dict[tuple[int, str], list[str]] = {}
    for a in found:
        keys = [(0, a.cargo.mrn)] if a.cargo.mrn else []
        keys += [(1, d.reference) for d in a.cargo.transport_documents]
        keys += [(2, str(c)) for c in a.cargo.containers]
        for key in keys:
            by_key.setdefault(key, []).append(a.key)
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
        ["alert", "consignment_id", "version"], keep="first", maintain_order=True
    )


def _timed(found: Sequence[Alert]) -> pl.DataFrame:
    return pl.DataFrame(
        {"alert": [a.key for a in found], "received_at": [a.received_at for a in found],
         "until": [a.until for a in found], "revoked_at": [a.revoked_at for a in found]},
        schema={"alert": pl.String(), "received_at": _MOMENT, "until": _MOMENT,
                "revoked_at": _MOMENT},
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PartnerAlertHits:
    """The alerts from partner administrations in ``store`` as a hit source (module docstring),
    and the parties of their seizures (``exchange.watchlists``): those de-identified match only
    with the partner group's key (``group_key``, None: they match nobody)."""

    store: Store
    group_key: bytes | None = None

    @property
    def name(self) -> Source:
        return Source.PARTNER

    @property
    def codes(self) -> Mapping[str, HitCode]:
        return CODES

    def hits(self, consignments: pl.DataFrame) -> Iterator[Hit]:
        """A hit per alert naming a consignment of the batch, known at its ``as_of`` and not
        lapsed then (one read of the inbox and one per kind of key), and per partner seizure
        one of its parties is on (``watchlists.hits``)."""
        if consignments.is_empty():
            return
        yield from watchlists.hits(self.store, consignments, self.group_key)
        found = alerts(self.store)
        if not found:
            return
        by_key = {a.key: a for a in found}
        live = (
            matches(self.store, found)
            .join(_timed(found), on="alert")
            .join(consignments.select(*declared.KEY, "as_of"), on=list(declared.KEY))
            .filter(
                (pl.col("received_at") <= pl.col("as_of")) & (pl.col("as_of") < pl.col("until"))
            )
            .sort("consignment_id", "version", "received_at", "alert")
        )
        for key, cid, version, about in live.select(
            "alert", "consignment_id", "version", "about"
        ).iter_rows():
            alert = by_key[key]
            yield Hit(cid, version, alert.code, {**alert.params, "about": about},
                      (alert.key,))  # fmt: skip

    def stale(self, consignment_ids: Collection[str] | None) -> pl.DataFrame:
        """Assessed consignments (of these, when given) whose latest assessment an alert
        changed since: one received after it, or one it carried whose sender or key was
        revoked since; so too for the partner seizures their parties are on."""
        timing = ["consignment_id", "version", "received_at", "until", "revoked_at"]
        named = [pl.DataFrame(schema={**_KEYS, **_timed([]).drop("alert").schema})]
        found = alerts(self.store)
        if found:
            named.append(matches(self.store, found).join(_timed(found), on="alert").select(timing))
        seized = watchlists.entries(self.store)
        if seized:
            screened = _could_change(self.store, seized, consignment_ids)
            if screened is not None:
                ids, changing = screened
                named.append(watchlists.consignment_matches(
                    self.store, changing, self.group_key, ids).select(timing))  # fmt: skip
        return due_again(self.store, pl.concat(named), consignment_ids)


def _could_change(
    store: Store, seized: Sequence[watchlists.Entry], consignment_ids: Collection[str] | None
) -> tuple[list[str], list[watchlists.Entry]] | None:
    """The consignments (of these, when given) whose latest assessment of a version is older
    than the newest receipt or revocation among ``seized``, and the entries received or revoked
    after the oldest of those assessments: only they can make an assessment due again
    (``due_again``); None when none can. Screening every party of the store on each scoring
    run would hash them all."""
    moments = [t for e in seized for t in (e.received_at, e.revoked_at) if t is not None]
    newest = max(moments)
    a = tables.assessments
    latest = func.max(a.c.assessed_at)
    query = (
        select(a.c.consignment_id, latest.label("assessed_at"))
        .group_by(a.c.consignment_id, a.c.version)
        .having(latest < newest)
    )
    schema = {"consignment_id": pl.String(), "assessed_at": _MOMENT}
    if consignment_ids is None:
        older = reads.frame(store, query, schema)
    else:
        wanted = sorted(set(consignment_ids))
        older = pl.concat([pl.DataFrame(schema=schema)] + [
            reads.frame(store, query.where(a.c.consignment_id.in_(part)), schema)
            for part in _chunks(wanted)
        ])  # fmt: skip
    if older.is_empty():
        return None
    oldest: datetime = older.get_column("assessed_at").min()  # type: ignore[assignment]
    changing = [
        e
        for e in seized
        if e.received_at > oldest or (e.revoked_at is not None and e.revoked_at > oldest)
    ]
    return sorted(older.get_column("consignment_id").unique().to_list()), changing


def due_again(
    store: Store, named: pl.DataFrame, consignment_ids: Collection[str] | None
) -> pl.DataFrame:
    """The consignment versions of ``named`` (``consignment_id``, ``version``, ``received_at``,
    ``until``, ``revoked_at``: evidence naming them, when it became known and lapses, and when
    its sender or key was revoked) whose latest assessment the evidence changed: received after
    it, or carried by it (received by then and not lapsed) and revoked after it."""
    if consignment_ids is not None:
        named = named.filter(pl.col("consignment_id").is_in(sorted(consignment_ids)))
    if named.is_empty():
        return no_keys()
    a = tables.assessments
    ids = sorted(named.get_column("consignment_id").unique().to_list())
    schema = {"consignment_id": pl.String(), "version": pl.Int64(), "assessed_at": _MOMENT}
    assessed = pl.concat([
        reads.frame(store, select(
            a.c.consignment_id, a.c.version, func.max(a.c.assessed_at).label("assessed_at"),
        ).where(a.c.consignment_id.in_(part)).group_by(a.c.consignment_id, a.c.version),
        schema) for part in _chunks(ids)
    ])  # fmt: skip
    at = pl.col("assessed_at")
    carried = (pl.col("received_at") <= at) & (at < pl.col("until"))
    return (
        named.join(assessed, on=list(declared.KEY))
        .filter((pl.col("received_at") > at) | (pl.col("revoked_at").is_not_null() & carried))
        .select(*declared.KEY)
        .unique(maintain_order=True)
        .sort(*declared.KEY)
    )


#: Every alert in the inbox (risk analysis results and seizure reports), oldest first,
#: each lapsing at the latest when its sender, or the key that signed it, was revoked
#: (parsed again only when the inbox changed).
alerts = mailbox.ParsedInbox(_KINDS, _parse)
