"""Watchlist screening: the normaliser, loading lists into the store, matching, hits, CLI."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.errors import RecordError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk import hits, screening
from quaywatch.risk.screening import normalise as nz
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import portday

EXAMPLE = Path(__file__).parents[2] / "examples" / "watchlist.csv"
WORDS = ["zenith", "atlas", "korvanex", "meridian", "pelican", "quorra", "tamsin", "vostok",
         "halcyon", "brisa", "nordlicht", "orchid", "sable", "tundra", "ulmar", "wexford"]  # fmt: skip
ACCENTED = {"e": "é", "a": "á", "o": "ö", "u": "ü", "i": "í"}
FORMS = ["Ltd", "LLC", "GmbH", "B.V.", "NV", "S.A.", "SARL", "SL", "SpA", "Co.", "Limited",
         "Company", "Trading", "Import Export"]  # fmt: skip

words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True)


@given(words, st.sampled_from(FORMS), st.sampled_from(FORMS), st.randoms(use_true_random=False),
       st.booleans(), st.booleans())  # fmt: skip
@settings(max_examples=150, deadline=None)
def test_variants_of_a_name_have_the_same_key(
    name: list[str], form: str, other_form: str, rnd: object, accents: bool, upper: bool
) -> None:
    listed = " ".join(w.capitalize() for w in name) + " " + form
    shuffled = list(name)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    variant = " ".join(shuffled) + ", " + other_form
    if accents:
        variant = "".join(ACCENTED.get(c, c) for c in variant)
    if upper:
        variant = variant.upper()
    assert nz.name_key(variant) == nz.name_key(listed)


@given(words, words)
@settings(max_examples=150, deadline=None)
def test_unrelated_names_do_not_match(one: list[str], two: list[str]) -> None:
    if set(one) & set(two):
        return
    entries = _entries([" ".join(one) + " Ltd"])
    assert screening.Screener.build(entries).screen_name(" ".join(two) + " GmbH").is_empty()


def test_transliteration_of_other_scripts_and_signs() -> None:
    assert nz.name_key("Лесной Терминал ООО") == "lesnoy terminal"
    assert nz.name_key("Ζενίθ") == "zenith"
    assert nz.name_key("Straße & Söhne GmbH") == "sohne strasse"
    assert nz.name_key("Trading Co Ltd") == "co ltd trading"  # nothing but legal forms: kept
    assert nz.phone_key("+32 (0)3 555 01 23") == nz.phone_key("0032 3 5550123") == "3235550123"
    assert nz.identifier_kind("be 0412.345.675") == ("eori", "BE0412345675")
    assert nz.identifier_kind("Info@Zenith.example ") == ("email", "info@zenith.example")


def _entries(names: list[str], identifiers: list[str | None] | None = None) -> pl.DataFrame:
    n = len(names)
    return pl.DataFrame(
        {"watchlist_id": ["W"] * n, "entry_id": [f"E{i}" for i in range(n)], "name": names,
         "address": [None] * n, "country": [None] * n,
         "identifiers": identifiers or [None] * n, "category": ["drugs"] * n, "note": [None] * n},
        schema_overrides={"address": pl.String, "country": pl.String, "identifiers": pl.String,
                          "note": pl.String},
    )  # fmt: skip


def test_fuzzy_names_score_and_identifiers_are_strong() -> None:
    screener = screening.Screener.build(
        _entries(["Zenith Trading Ltd", "Korvanex Foods NV"], [None, "+32 3 555 01 23"])
    )
    typo = screener.screen_name("ZENITH TRADNG CO")
    assert typo["entry_id"].to_list() == ["E0"] and typo["score"][0] == 100
    assert screener.screen_name("Zenth Trading Ltd")["score"][0] >= 88  # one letter dropped
    foreign = screening.Screener.build(_entries(["Zenith Trading Ltd"]).with_columns(
        pl.lit("BE").alias("country")))  # fmt: skip
    assert foreign.screen_name("Zenith Trading", country="NL")["score"].to_list() == [92.0]
    assert foreign.screen_name("Zenith Trading", country="NL", threshold=95).is_empty()
    parties = pl.DataFrame({"party_key": ["p1"], "name": ["Totally Other BV"],
                            "country": ["BE"], "phone": ["0032 3 5550123"]})  # fmt: skip
    found = screening.best(screener.screen(parties))
    assert found["kind"].to_list() == ["phone"] and found["strong"].to_list() == [True]
    assert found["reason"][0] == (
        "phone 0032 3 5550123 is listed for 'Korvanex Foods NV' on watchlist W"
    )


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("entry_id,name,address,country,identifiers,category,note\n"
                    + "\n".join(rows) + "\n", "utf-8")  # fmt: skip
    return path


def test_loading_is_idempotent_replaces_and_is_audited(store: Store, tmp_path: Path) -> None:
    first = screening.load_watchlist(store, EXAMPLE, watchlist_id="EX", source="example",
                                     list_date=date(2026, 1, 1), actor="tester")  # fmt: skip
    again = screening.load_watchlist(store, EXAMPLE, watchlist_id="EX", source="example",
                                     list_date=date(2026, 1, 1), actor="tester")  # fmt: skip
    assert (first.entries, first.changed, again.changed) == (6, True, False)
    newer = _write(tmp_path / "new.csv", ["N1,Korvanex Foods NV,,BE,,drugs,"])
    result = screening.load_watchlist(store, newer, watchlist_id="EX", source="example",
                                      list_date=date(2026, 2, 1), actor="tester")  # fmt: skip
    assert (result.entries, result.replaced) == (1, 6)
    assert screening.watchlist_entries(store)["entry_id"].to_list() == ["N1"]
    assert screening.watchlist_entries(store, as_of=date(2026, 1, 15)).is_empty()
    listed = screening.list_watchlists(store)
    assert listed["list_date"].to_list() == [date(2026, 2, 1)]
    with store.reading() as conn:
        actions = conn.execute(select(tables.audit_events.c.action)).scalars().all()
    assert actions == ["watchlist.load", "watchlist.load"]


def test_a_bad_file_names_line_and_field_and_changes_nothing(store: Store, tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.csv", ["A1,Zenith Ltd,,BE,,drugs,", "A1,Other Ltd,,BE,,drugs,"])
    with pytest.raises(RecordError, match="line 3.*record A1.*field entry_id"):
        screening.load_watchlist(store, bad, watchlist_id="X", source="s",
                                 list_date=date(2026, 1, 1), actor="t")  # fmt: skip
    empty = _write(tmp_path / "empty.csv", ["A1,,,BE,,drugs,"])
    with pytest.raises(RecordError, match="line 2.*field name"):
        screening.read_watchlist(empty)
    assert screening.list_watchlists(store).is_empty()


def test_screen_store_gives_hits_for_consignments_of_a_listed_party(
    store: Store, tmp_path: Path
) -> None:
    day = portday.generate(tmp_path / "day", count=60, seed=4, noise=0.0, with_events=False)
    ingest_file(store, day.consignments, actor="tester")
    parties = reads.parties(store)
    target = parties.filter(pl.col("phone").is_not_null()).row(0, named=True)
    listed = _write(tmp_path / "list.csv", [
        f"L1,\"{target['name'].upper()}\",,{target['country']},,fraud,",
        f"L2,Nobody Known Anywhere Ltd,,BE,\"{target['phone']}\",drugs,",
    ])  # fmt: skip
    screening.load_watchlist(store, listed, watchlist_id="EU-TEST", source="test",
                             list_date=date(2026, 1, 1), actor="t")  # fmt: skip
    consignments = pl.read_database(select(tables.consignments), store.engine)
    found = screening.screen_store(store, consignments, at=datetime(2026, 12, 1, tzinfo=UTC))
    assert found.columns == hits.empty().columns
    mine = consignments.filter(
        pl.any_horizontal(pl.col(f"{r}_key") == target["party_key"]
                          for r in ("consignee", "consignor", "declarant", "notify_party"))
    )  # fmt: skip
    assert set(mine["consignment_id"]) <= set(found["consignment_id"])
    row = found.filter(pl.col("consignment_id") == mine["consignment_id"][0]).row(0, named=True)
    assert row["code"] == "screening:EU-TEST" and row["source"] == "screening"
    assert row["lane"] == "red" and row["weight"] == screening.STRONG_WEIGHT
    assert target["name"] in row["text"]
    early = screening.screen_store(store, consignments, at=datetime(2025, 12, 1, tzinfo=UTC))
    assert early.is_empty()  # the list was not published yet


def test_cli_load_list_and_screen(tmp_path: Path) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    copy = shutil.copy(EXAMPLE, tmp_path / "watchlist.csv")
    load = ["--database", url, "watchlists", "load", str(copy), "--id", "EXAMPLE",
            "--source", "fictional", "--date", "2026-01-01"]  # fmt: skip
    result = runner.invoke(app, load)
    assert result.exit_code == 0 and "6 entries" in result.output
    assert "nothing changed" in runner.invoke(app, load).output
    listed = runner.invoke(app, ["--database", url, "watchlists", "list"])
    assert "EXAMPLE" in listed.output and "fictional" in listed.output
    screened = runner.invoke(app, ["--database", url, "screen", "Trading Zénith Co."])
    assert screened.exit_code == 0 and "EX-001" in screened.output
    none = runner.invoke(app, ["--database", url, "screen", "Completely Unrelated Name"])
    assert "No match" in none.output
    bad = runner.invoke(app, [*load[:-1], "yesterday"])
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_cli_prints_names_and_ids_with_markup_literally(tmp_path: Path) -> None:
    """A listed name, a watchlist id or a source holding console markup is data: printed as
    written, never rendered as a link or style, and "[/]" does not crash the command."""
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    evil = "[link=https://evil.example]Crown[/link] Shipping"
    listed = _write(tmp_path / "evil.csv", [f'E1,"{evil}",,BE,,drugs,"[/]"'])
    load = runner.invoke(app, ["--database", url, "watchlists", "load", str(listed), "--id",
                               "EVIL[/]", "--source", "[bold]x[/]", "--date", "2026-01-01"])  # fmt: skip
    assert load.exit_code == 0, load.output
    assert "Loaded watchlist EVIL[/]: 1 entries." in load.output
    shown = runner.invoke(app, ["--database", url, "watchlists", "list"])
    assert shown.exit_code == 0, shown.output
    assert all(text in shown.output for text in ("EVIL[/]", "[bold]x[/]", "evil.csv"))
    screened = runner.invoke(app, ["--database", url, "screen", evil])
    assert screened.exit_code == 0, screened.output
    assert f"Matches for '{evil}'" in screened.output
    assert screened.output.count(evil) == 3  # the title, the listed name, the reason
    odd = runner.invoke(app, ["--database", url, "screen", "[/]"])
    assert odd.exit_code == 0, odd.output
    assert "No match for '[/]' on 1 watchlist(s)" in odd.output
