"""Partner watchlists: the parties of the seizures partners report, screened as watchlist
entries.

Every party of a ``SeizureReport`` accepted from a partner (consignor, consignee, declarant,
notify party, carrier) is an entry of that partner's watchlist, ``partner:<sender>`` (for
example ``partner:BEANR``), whose category is ``seizure`` and whose note names the partner's case
(its reference, date, place, the goods and how they were found) and the seized containers. An
entry is in force from the message's receipt until it lapses as the partner's alerts do
(``exchange.alerts``): the message's ``expires_at``, or the moment its sender or the key that
signed it was revoked here, if earlier.

Matching a local party (``screen``):

- an entry in clear text is screened like the entries of a loaded watchlist
  (``risk.screening.Screener``): the same EORI or phone number is a strong match, so is a close
  name at the listed address; a close name alone is a name match, graded by its score;
- a de-identified value (a keyed hash: ``exchange.protection``) matches a party whose EORI,
  phone or name hashes to the same value under the partner group's key, after the same
  normalisation (case, spaces): the same EORI or phone is a strong match, so is the same name
  at the same address; the same name alone is a name match of score 100. Without the group key
  in the key directory de-identified values match nobody.

Each personal field is matched as it came: an entry whose partner hashed some fields and not
others has its hashed fields matched by hash and its clear ones by the screener (a hash is
never fuzzy-matched as a name).

The keyed hash is made in Python (polars has none), once per distinct value of the parties
screened. ``entries`` parses the stored reports once per state of the inbox (kept per open
store, read again when a report arrives or a partner or key is revoked).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import select

from quaywatch.errors import Said, said
from quaywatch.exchange import messages as m, protection
from quaywatch.exchange.mailbox import ParsedInbox, received_rows
from quaywatch.risk.explain import message_of, said_json
from quaywatch.risk.hit_sources import Hit, HitCode
from quaywatch.risk.screening import (
    NAME_EXTRA,
    NAME_WEIGHT,
    ROLES,
    STRONG_WEIGHT,
    THRESHOLD,
    Screener,
    party_roles,
)
from quaywatch.risk.wording import chosen, worded, words
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

#: The watchlist of a partner's seizures, by the partner's code.
WATCHLIST = "partner:{}"
#: The category of every entry: a party to a seizure.
CATEGORY = "seizure"
#: Columns of the matches ``screen`` returns.
MATCHES = pl.Schema({
    "party_key": pl.String(), "entry": pl.Int64(), "score": pl.Float64(), "kind": pl.String(),
    "strong": pl.Boolean(), "how": pl.String(), "how_said": pl.String(),
})  # fmt: skip
#: The words of the sentences' parameters, which translate with them (``errors.said``).
METHODS = {
    m.DetectionMethod.RISK_PROFILE: said("risk profile"),
    m.DetectionMethod.RISK_MODEL: said("risk model"), m.DetectionMethod.NII_SCAN: said("nii scan"),
    m.DetectionMethod.DOG: said("dog"),
    m.DetectionMethod.PHYSICAL_EXAMINATION: said("physical examination"),
    m.DetectionMethod.INTELLIGENCE: said("intelligence"),
    m.DetectionMethod.PARTNER_ALERT: said("partner alert"), m.DetectionMethod.RANDOM: said("random"),
    m.DetectionMethod.OTHER: said("other"),
}  # fmt: skip
#: A role, on a partner's seizure or a local consignment (``risk.screening.ROLES``).
ROLE_WORDS = {
    "consignor": said("consignor"), "consignee": said("consignee"),
    "declarant": said("declarant"), "notify party": said("notify party"),
    "notify_party": said("notify party"), "carrier": said("carrier"),
}  # fmt: skip
_HASHED_BY_NAME = said("name matches the partner's keyed hash (de-identified)")
_HASHED_AT = said("%(match)s, at the same address", match=_HASHED_BY_NAME)
_HASHED_BY_ID = {
    "eori": said("EORI matches the partner's keyed hash (de-identified)"),
    "phone": said("phone matches the partner's keyed hash (de-identified)"),
}


@dataclass(frozen=True, slots=True)
class Entry:
    """A party of a partner's seizure, as a watchlist entry (see the module)."""

    watchlist_id: str
    entry_id: str
    sender: str
    message_id: str
    case_reference: str
    seizure_date: datetime
    place: str
    goods: str
    detection_method: str
    containers: tuple[str, ...]
    role: str
    name: str
    address: str | None
    phone: str | None
    eori: str | None
    country: str
    hashed: frozenset[str]
    received_at: datetime
    until: datetime
    revoked_at: datetime | None

    @property
    def deidentified(self) -> bool:
        """Whether the partner sent any personal field of it as a keyed hash."""
        return bool(self.hashed)

    def clear(self, field: str) -> str | None:
        """The value of personal ``field`` if the partner sent it in clear, else None."""
        value: str | None = getattr(self, field)
        return None if field in self.hashed else value

    def keyed(self, field: str) -> str | None:
        """The keyed hash of personal ``field`` if the partner sent one, else None."""
        value: str | None = getattr(self, field)
        return value if field in self.hashed else None

    def state(self, at: datetime) -> str:
        """``in force`` at ``at``, else ``revoked`` (its sender or key), ``expired`` or
        ``not yet received``."""
        if self.received_at > at:
            return "not yet received"
        if at < self.until:
            return "in force"
        return "revoked" if self.revoked_at is not None and self.revoked_at <= at else "expired"

    @property
    def note(self) -> str:
        """What the entry says of the case, for the officer."""
        boxes = f"; containers {', '.join(self.containers)}" if self.containers else ""
        return (
            f"{self.role} in seizure {self.case_reference} reported by {self.sender} "
            f"({self.seizure_date:%Y-%m-%d}, {self.place}): {self.goods}, found by "
            f"{self.detection_method}{boxes}"
        )


_KINDS = (m.MessageType.SEIZURE_REPORT,)


def _parse(store: Store) -> list[Entry]:
    found: list[Entry] = []
    for row, revoked_at in received_rows(store, _KINDS):
        data = json.loads(row.payload)
        header = m.Header.model_validate(data["header"])
        body = m.SeizureReport.model_validate(data["body"])
        until = header.expires_at if revoked_at is None else min(header.expires_at, revoked_at)
        goods = said("%(quantity)s %(unit)s %(goods)s (HS %(hs)s)", quantity=format(body.quantity, "g"),
                     unit=body.unit.value, goods=body.goods_description, hs=body.hs_code)  # fmt: skip
        for number, party in enumerate(body.parties, start=1):
            hashed = frozenset(
                f for f in m.PERSONAL_FIELDS
                if (v := getattr(party, f)) is not None and protection.PSEUDONYM_RE.match(v)
            )  # fmt: skip
            role = party.role.value.lower().replace("_", " ")
            found.append(Entry(
                WATCHLIST.format(header.sender), f"{header.message_id}#{number}", header.sender,
                header.message_id, body.case_reference, body.seizure_date, body.place, goods,
                METHODS[body.detection_method], tuple(str(c) for c in body.containers),
                ROLE_WORDS.get(role, role), party.name, party.address, party.phone, party.eori,
                party.country, hashed, row.received_at, until, revoked_at,
            ))  # fmt: skip
    return found


def in_force(found: Sequence[Entry], at: datetime) -> list[Entry]:
    """The entries in force at ``at``."""
    return [e for e in found if e.state(at) == "in force"]


def screen(
    found: Sequence[Entry], parties: pl.DataFrame, group_key: bytes | None, *,
    threshold: float = THRESHOLD,
) -> pl.DataFrame:  # fmt: skip
    """Every match of ``parties`` (``party_key``, ``name``, ``country``, and ``address``,
    ``eori``, ``phone``) with ``found``: ``MATCHES``, where ``entry`` is the entry's position in
    ``found``, ``how`` says what matched, best first within a party."""
    if parties.is_empty() or not found:
        return pl.DataFrame(schema=MATCHES)
    parties = parties.with_columns(
        pl.lit(None, pl.String).alias(c)
        for c in ("address", "eori", "phone", "email")
        if c not in parties.columns
    )  # fmt: skip
    # A field sent in clear is screened, a hashed one matched by hash: an entry may have both.
    clear = [(n, e) for n, e in enumerate(found)
             if any(e.clear(f) is not None for f in m.PERSONAL_FIELDS)]  # fmt: skip
    hashed = [(n, e) for n, e in enumerate(found) if e.hashed]
    parts = [pl.DataFrame(schema=MATCHES)]
    if clear:
        parts.append(_screen_clear(clear, parties, threshold))
    if hashed and group_key is not None:
        parts.append(_screen_hashed(hashed, parties, group_key))
    return pl.concat(parts).sort(
        ["party_key", "strong", "score", "entry"], descending=[False, True, True, False]
    )


def _screen_clear(
    clear: list[tuple[int, Entry]], parties: pl.DataFrame, threshold: float
) -> pl.DataFrame:
    listed = pl.DataFrame(
        {"entry_id": [str(n) for n, _ in clear], "name": [e.clear("name") or "" for _, e in clear],
         "address": [e.clear("address") for _, e in clear],
         "country": [e.country for _, e in clear],
         "identifiers": ["|".join(v for v in (e.clear("eori"), e.clear("phone")) if v) or None
                         for _, e in clear],
         "category": CATEGORY, "note": None, "watchlist_id": [e.watchlist_id for _, e in clear]},
        schema={"entry_id": pl.String, "name": pl.String, "address": pl.String,
                "country": pl.String, "identifiers": pl.String, "category": pl.String,
                "note": pl.String, "watchlist_id": pl.String},
    )  # fmt: skip
    found = Screener.build(listed).screen(parties, threshold=threshold)
    labels = {"eori": "EORI", "phone": "phone", "email": "e-mail"}
    by_name = worded("name matches '%(name)s' (score %(score)s)", name="entry_name",
                     score=pl.col("score").round(0).cast(pl.Int64))  # fmt: skip
    by_id = worded(
        "%(what)s %(detail)s is the partner's",
        what=words(pl.col("kind").replace_strict(labels, default=pl.col("kind")),
                   ["phone", "e-mail"]),
        detail="detail",
    )  # fmt: skip
    named = chosen(pl.col("kind") == "name", by_name, by_id)
    how = chosen(pl.col("strong") & (pl.col("kind") == "name"),
                 worded("%(match)s, at the same address", match=by_name), named)  # fmt: skip
    return found.filter(pl.col("kind") != "name").vstack(
        found.filter(pl.col("kind") == "name")
        .join(pl.DataFrame({"entry_id": [str(n) for n, e in clear if e.clear("name")]},
                           schema={"entry_id": pl.String}), on="entry_id")
        .select(found.columns)
    ).select(
        "party_key", pl.col("entry_id").cast(pl.Int64).alias("entry"), "score", "kind", "strong",
        *how.columns("how", "how_said"),
    ).cast(MATCHES)  # fmt: skip


def _screen_hashed(
    hashed: list[tuple[int, Entry]], parties: pl.DataFrame, group_key: bytes
) -> pl.DataFrame:
    fields = ("name", "eori", "phone", "address")
    local = parties.select("party_key", *fields)
    # One HMAC per distinct value (normalised as hashed), not per party.
    distinct = {v for f in fields for v in local.get_column(f).drop_nulls().unique().to_list()}
    keyed = {v: protection.pseudonym(group_key, v) for v in distinct if v.strip()}
    local = local.with_columns(
        pl.col(f).replace_strict(keyed, default=None, return_dtype=pl.String) for f in fields
    )
    by: dict[str, dict[str, list[int]]] = {f: {} for f in fields}
    for n, e in hashed:
        for f in fields:
            if (value := e.keyed(f)) is not None:
                by[f].setdefault(value, []).append(n)
    addresses = {n: e.keyed("address") for n, e in hashed}
    rows: list[tuple[str, int, float, str, bool, Said]] = []
    for party_key, name, eori, phone, address in local.iter_rows():
        strong: set[int] = set()
        for kind, value in (("eori", eori), ("phone", phone)):
            for n in by[kind].get(value, ()) if value is not None else ():
                if n not in strong:
                    strong.add(n)
                    rows.append((party_key, n, 100.0, kind, True, _HASHED_BY_ID[kind]))
        for n in by["name"].get(name, ()) if name is not None else ():
            if n in strong:
                continue
            at = address is not None and address == addresses[n]
            rows.append((party_key, n, 100.0, "name", at, _HASHED_AT if at else _HASHED_BY_NAME))
    return pl.DataFrame(
        [(*r[:5], str(r[5]), json.dumps(said_json(r[5]), ensure_ascii=False)) for r in rows],
        schema=MATCHES, orient="row",
    )  # fmt: skip


# --- as hits: the partner source (``exchange.alerts.PartnerAlertHits``) reports them ---------

_PARTY = (
    "alert from partner {partner}: {role} {party} was {their_role} in seizure {case} of "
    "{goods}; {how}"
)
#: A strong match of a party of the consignment with a party of a partner's seizure: weighed
#: as a strong match on a loaded watchlist (``risk.screening.STRONG_WEIGHT``).
SEIZURE_PARTY = HitCode("partner:seizure_party", STRONG_WEIGHT, _PARTY)
#: A name match alone: as a name match on a loaded watchlist, graded by its score.
SEIZURE_PARTY_NAME = HitCode("partner:seizure_party_name", NAME_WEIGHT + NAME_EXTRA, _PARTY)
CODES = (SEIZURE_PARTY, SEIZURE_PARTY_NAME)
_MOMENT = pl.Datetime("us", "UTC")
_ROLE_COLUMNS = tuple(f"{role}_key" for role in ROLES)


def consignment_matches(
    store: Store, found: Sequence[Entry], group_key: bytes | None,
    consignment_ids: Collection[str] | None,
) -> pl.DataFrame:  # fmt: skip
    """The consignment versions (of these, when given) a party of which matches an entry of
    ``found``: ``consignment_id``, ``version``, ``role``, ``party_key``, ``party_name``,
    ``entry``, ``score``, ``kind``, ``strong``, ``how``, and the entry's ``received_at``,
    ``until`` and ``revoked_at``."""
    c = tables.consignments
    query = select(c.c.consignment_id, c.c.version, *(c.c[name] for name in _ROLE_COLUMNS))
    if consignment_ids is not None:
        ids = sorted(set(consignment_ids))
        frames = [reads.frame(store, query.where(c.c.consignment_id.in_(ids[at : at + 500])))
                  for at in range(0, len(ids), 500)]  # fmt: skip
        named = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    else:
        named = reads.frame(store, query)
    if named.is_empty() or not found:
        return _no_matches()
    roles = party_roles(named.cast({"version": pl.Int64}))
    parties = reads.parties(store, roles.get_column("party_key").unique().to_list())
    matched = screen(found, parties, group_key)
    if matched.is_empty():
        return _no_matches()
    timed = pl.DataFrame(
        {"entry": list(range(len(found))), "received_at": [e.received_at for e in found],
         "until": [e.until for e in found], "revoked_at": [e.revoked_at for e in found]},
        schema={"entry": pl.Int64(), "received_at": _MOMENT, "until": _MOMENT,
                "revoked_at": _MOMENT},
    )  # fmt: skip
    return (
        roles.join(matched, on="party_key")
        .join(parties.select("party_key", pl.col("name").alias("party_name")), on="party_key")
        .join(timed, on="entry")
    )


def _no_matches() -> pl.DataFrame:
    return pl.DataFrame(schema={
        "consignment_id": pl.String(), "version": pl.Int64(), "role": pl.String(),
        "party_key": pl.String(), "party_name": pl.String(), **MATCHES, "received_at": _MOMENT,
        "until": _MOMENT, "revoked_at": _MOMENT,
    })  # fmt: skip


def hits(store: Store, consignments: pl.DataFrame, group_key: bytes | None) -> Iterator[Hit]:
    """A hit per consignment version of ``consignments`` (``CONSIGNMENTS``, with ``as_of``) and
    partner seizure one of its parties matches, in force at its ``as_of``: the best match."""
    found = entries(store)
    if not found or consignments.is_empty():
        return
    ids = consignments.get_column("consignment_id").unique().to_list()
    live = (
        consignment_matches(store, found, group_key, ids)
        .join(
            consignments.select("consignment_id", "version", "as_of"),
            on=["consignment_id", "version"],
        )  # fmt: skip
        .filter((pl.col("received_at") <= pl.col("as_of")) & (pl.col("as_of") < pl.col("until")))
        .join(
            pl.DataFrame(
                {
                    "entry": range(len(found)),
                    "_message": [f"{e.sender}/{e.message_id}" for e in found],
                },
                schema={"entry": pl.Int64(), "_message": pl.String()},
            ),
            on="entry",
        )  # fmt: skip
        .sort(
            ["consignment_id", "version", "_message", "strong", "score", "role", "entry"],
            descending=[False, False, False, True, True, False, False],
        )  # fmt: skip
        .unique(["consignment_id", "version", "_message"], keep="first", maintain_order=True)
    )
    span = 100.0 - THRESHOLD
    for r in live.iter_rows(named=True):
        entry = found[r["entry"]]
        code = SEIZURE_PARTY if r["strong"] else SEIZURE_PARTY_NAME
        strength = 1.0
        if not r["strong"]:
            graded = NAME_WEIGHT + NAME_EXTRA * min(max((r["score"] - THRESHOLD) / span, 0), 1)
            strength = graded / SEIZURE_PARTY_NAME.weight
        params = {"partner": entry.sender, "role": ROLE_WORDS.get(r["role"], r["role"]),
                  "party": r["party_name"], "their_role": entry.role,
                  "case": entry.case_reference, "goods": entry.goods,
                  "how": message_of(r["how"], r["how_said"])}  # fmt: skip
        # The evidence names the sender too: a message id is its sender's to give (the
        # Feedback answering it names the id after the "/").
        yield Hit(r["consignment_id"], r["version"], code.code, params,
                  (f"{entry.sender}/{entry.message_id}",), strength)  # fmt: skip


#: Every party of every seizure report accepted from a partner, oldest report first
#: (parsed again only when the inbox changed: see the module).
entries = ParsedInbox(_KINDS, _parse)
