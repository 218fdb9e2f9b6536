"""Data protection in the exchange: personal data leave only for a partner allowed to receive
them (per message type, with the legal basis); every other partner gets keyed hashes that still
match across messages. The property test searches the whole transport record (and the payload
it signs) for every personal value the message held.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from exchange_support import NOW, SEIZURE
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from quaywatch.cli.app import app
from quaywatch.errors import ConfigurationError, InputError
from quaywatch.exchange import protection
from quaywatch.services import exchange as ex
from quaywatch.store import tables
from quaywatch.store.store import Store

PARTY = {"role": "CONSIGNEE", "name": "Jan Peeters", "address": "Kaai 12, 2000 Antwerpen",
         "phone": "+32 3 555 01 23", "country": "BE", "eori": "BE0412345678"}  # fmt: skip


class Pair:
    """BEANR (the sender under test) and NLRTM, trusting each other, each with a store."""

    def __init__(self, folder: Path, beanr_url: str | None = None) -> None:
        self.folder = folder
        self.url = beanr_url or f"sqlite:///{folder / 'beanr.db'}"
        self.beanr = Store.open(self.url)
        self.nlrtm = Store.open(f"sqlite:///{folder / 'nlrtm.db'}")
        self.keys = folder / "BEANR"
        for code, node in (("BEANR", self.beanr), ("NLRTM", self.nlrtm)):
            ex.generate_keys(node, folder / code, code, actor="liaison", now=NOW)
            ex.export_root(node, folder / f"{code}.root")
        ex.add_partner(self.beanr, folder / "NLRTM.root", actor="liaison", now=NOW)
        ex.add_partner(self.nlrtm, folder / "BEANR.root", actor="liaison", now=NOW)

    def send(self, parties: list[dict[str, str]]) -> tuple[str, str]:
        """Queue a seizure report naming ``parties`` to NLRTM: its payload and its record."""
        path = self.folder / "body.json"
        path.write_text(json.dumps(SEIZURE | {"parties": parties}), encoding="utf-8")
        sent = ex.send(self.beanr, self.keys, "NLRTM", "seizure-report", path, actor="ana",
                       now=NOW)  # fmt: skip
        o = tables.exchange_outbox
        with self.beanr.reading() as conn:
            row = conn.execute(select(o.c.payload, o.c.record).where(
                o.c.message_id == sent.message_id)).one()  # fmt: skip
        return row.payload, row.record

    def close(self) -> None:
        self.beanr.close()
        self.nlrtm.close()


@pytest.fixture
def pair(store_url: str, tmp_path: Path) -> Iterator[Pair]:
    made = Pair(tmp_path, store_url)
    yield made
    made.close()


def _bodies(record: str) -> str:
    """The record as sent, with its base64 payload decoded alongside: all a partner reads."""
    envelope = json.loads(record)["envelope"]
    return record + base64.b64decode(envelope["payload"]).decode("utf-8")


def test_without_permission_personal_data_leave_as_keyed_hashes_that_match(pair: Pair) -> None:
    protection.write_group_key(pair.keys)
    payload, record = pair.send([PARTY])
    sent = _bodies(record)
    for field in ("name", "address", "phone", "eori"):
        assert PARTY[field] not in sent
    [party] = json.loads(payload)["body"]["parties"]
    assert all(
        protection.PSEUDONYM_RE.match(party[f]) for f in ("name", "address", "phone", "eori")
    )
    assert (party["country"], party["role"]) == ("BE", "CONSIGNEE")
    # the same person written otherwise matches: repeat offenders still match without names
    again, _ = pair.send([PARTY | {"name": "  JAN   peeters "}])
    assert json.loads(again)["body"]["parties"][0]["name"] == party["name"]
    # and the partner accepts the de-identified message
    out = pair.folder / "out.jsonl"
    ex.export(pair.beanr, pair.keys, out, actor="ana", now=NOW)
    received = ex.import_file(pair.nlrtm, out, actor="ben", now=NOW + timedelta(minutes=1))
    assert [o.status for o in received.outcomes] == ["accepted", "accepted"]


def test_a_partner_allowed_with_a_legal_basis_receives_the_names_of_that_type_only(
    pair: Pair,
) -> None:
    with pytest.raises(InputError, match="legal basis"):
        ex.allow_partner(pair.beanr, "NLRTM", "seizure-report", personal=True, basis=" ",
                         actor="dpo")  # fmt: skip
    basis = "Regulation (EC) 515/97, art. 4; MoU BE-NL 2024"
    ex.allow_partner(pair.beanr, "NLRTM", "seizure-report", personal=True, basis=basis,
                     actor="dpo")  # fmt: skip
    payload, _ = pair.send([PARTY])
    assert json.loads(payload)["body"]["parties"][0]["name"] == "Jan Peeters"
    [p] = ex.permissions(pair.beanr, "NLRTM")
    assert (p.message_type, p.personal, p.legal_basis, p.granted_by) == (
        "seizure-report", True, basis, "dpo")  # fmt: skip
    a = tables.audit_events
    with pair.beanr.reading() as conn:
        [details] = conn.execute(
            select(a.c.details).where(a.c.action == "exchange_permission")
        ).scalars()
    assert json.loads(details)["legal_basis"] == basis
    # withdrawn: de-identified again, and without a group key nothing leaves at all
    ex.allow_partner(pair.beanr, "NLRTM", "seizure-report", personal=False, basis=None,
                     actor="dpo")  # fmt: skip
    with pytest.raises(ConfigurationError, match="no group key"):
        pair.send([PARTY])
    protection.write_group_key(pair.keys)
    payload, _ = pair.send([PARTY])
    assert "Jan Peeters" not in payload


_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]),
    min_size=5, max_size=80,
).map(str.strip).filter(lambda v: len(v) >= 5 and not re.fullmatch(r"[0-9a-f]+", v))  # fmt: skip
_PARTY = st.fixed_dictionaries(
    {"role": st.sampled_from(["CONSIGNOR", "CONSIGNEE", "NOTIFY_PARTY"]), "name": _TEXT,
     "country": st.sampled_from(["BE", "NL", "EC", "CO"])},
    optional={"address": _TEXT, "phone": _TEXT.map(lambda v: v[:64].strip()).filter(
        lambda v: len(v) >= 5), "eori": st.from_regex(r"(BE|NL|GB)[0-9]{9,12}", fullmatch=True)},
)  # fmt: skip


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    made = Pair(tmp_path_factory.mktemp("protection"))
    protection.write_group_key(made.keys)
    yield made
    made.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parties=st.lists(_PARTY, min_size=1, max_size=4))
def test_no_personal_value_leaves_in_a_de_identified_message(
    grouped: Pair, parties: list[dict[str, str]]
) -> None:
    _, record = grouped.send(parties)
    sent = _bodies(record)
    # the words every such record holds whatever the parties (a value may happen to be one)
    skeleton = " ".join(
        [
            json.dumps(SEIZURE),
            "application/vnd.quaywatch.seizure-report.v1+json",
            "message_id message_type recipient issued_at expires_at in_reply_to",
            "sender BEANR NLRTM keyid sig payloadType envelope parties role country",
        ]
    )
    for party in parties:
        for field in ("name", "address", "phone", "eori"):
            value = party.get(field)
            if (
                value is None
                or value in skeleton
                or value in json.dumps({k: v for k, v in party.items() if k in ("role", "country")})
            ):
                continue  # a value that is also a word of the message itself, e.g. "BEANR"
            assert value not in sent
            assert json.dumps(value, ensure_ascii=False)[1:-1] not in sent
            assert json.dumps(value)[1:-1] not in sent


def test_the_commands_record_permissions_and_group_keys(pair: Pair, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"QUAYWATCH_DATABASE_URL": pair.url, "QUAYWATCH_KEY_DIR": str(pair.keys),
           "QUAYWATCH_ACTOR": "dpo"}  # fmt: skip
    made = runner.invoke(app, ["keys", "group-generate"], env=env)
    assert made.exit_code == 0, made.output
    other = tmp_path / "other-keys"
    env_other = env | {"QUAYWATCH_KEY_DIR": str(other)}
    taken = runner.invoke(app, ["keys", "group-import", str(pair.keys / "group.key")],
                          env=env_other)  # fmt: skip
    assert taken.exit_code == 0, taken.output
    assert protection.load_group_key(other) == protection.load_group_key(pair.keys)
    refused = runner.invoke(app, ["partners", "allow", "NLRTM", "--type", "seizure-report",
                                  "--personal"], env=env)  # fmt: skip
    assert refused.exit_code != 0 and "legal basis" in refused.output
    allowed = runner.invoke(app, ["partners", "allow", "NLRTM", "--type", "seizure-report",
                                  "--personal", "--basis", "MoU BE-NL art. 3"], env=env)  # fmt: skip
    assert allowed.exit_code == 0, allowed.output
    assert "may receive personal data (MoU BE-NL art. 3)" in allowed.output
    listed = runner.invoke(app, ["partners", "permissions"], env=env)
    assert "MoU BE-NL art. 3" in listed.output and "seizure-report" in listed.output
