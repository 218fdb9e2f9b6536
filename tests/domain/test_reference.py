"""Reference data: the shipped lists (tariff, exchange rates, the UN/LOCODE ports) and a site
reference directory that adds to them, checked naming file, line and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from quaywatch.domain import identifiers as ids, reference
from quaywatch.errors import ReferenceDataError


def test_every_tariff_line_is_a_real_subheading_with_a_plausible_duty() -> None:
    rates = reference.duty_rates()
    assert len(rates) >= 60
    for hs6, pct in rates.items():
        assert ids.validate_hs6(hs6) == hs6
        assert 0 <= pct < 100


def test_duty_falls_back_to_the_chapter_median_then_the_default() -> None:
    footwear = sorted(r for c, r in reference.duty_rates().items() if c.startswith("64"))
    assert reference.duty_pct("080390") == 10.0  # listed: bananas
    assert "640220" not in reference.duty_rates()
    assert reference.duty_pct("640220") == footwear[len(footwear) // 2]
    assert reference.duty_pct("271012") == reference.DEFAULT_DUTY_PCT  # no chapter 27 line


def test_exchange_rates_are_for_known_currencies_and_euro_is_one() -> None:
    rates = reference.exchange_rates()
    assert rates["EUR"] == 1.0
    assert set(rates) <= set(reference.currencies())
    assert all(rate > 0 for rate in rates.values())


# --- ports: the full UN/LOCODE list, and a site reference directory --------------------------

PORTS_HEADER = "locode,name,country,region\n"


def site(tmp_path: Path, **files: str) -> Path:
    """A site reference directory holding ``files`` (``ports_csv="..."`` → ``ports.csv``)."""
    folder = tmp_path / "site"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_csv", ".csv").replace("_", "-")).write_text(text)
    return folder


@pytest.mark.parametrize("code", ["PEPAI", "COTRB", "GHTKD", "NLRTM", "CNSHA", "USOAK"])
def test_seaports_of_un_locode_and_of_the_curated_list_are_known(code: str) -> None:
    assert code in reference.known_ports()
    assert ids.validate_port(code.lower()) == code


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("NLZZZ", "UN/LOCODE NLZZZ is not a known port"),  # not in UN/LOCODE
        ("DEMUC", "UN/LOCODE DEMUC is not a known port"),  # Munich: no port function
        ("QQAAA", "UN/LOCODE QQAAA has an unknown country"),
    ],
)
def test_a_code_that_is_not_a_port_is_refused_with_its_reason(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        ids.validate_port(code)


def test_the_un_locode_list_holds_the_seaports_of_every_region() -> None:
    known = reference.un_locode_ports()
    assert len(known) > 15_000
    assert {p.locode[:2] for p in reference.shipped_ports().values()} <= {c[:2] for c in known}


def test_a_site_ports_file_adds_a_port_and_changes_the_version(tmp_path: Path) -> None:
    shipped = reference.load(None)
    folder = site(tmp_path, ports_csv=PORTS_HEADER + "NLQWX,Quaywatch Harbour,NL,North Europe\n")
    assert "NLQWX" not in shipped.known_ports
    used = reference.use(folder)
    assert "NLQWX" in reference.known_ports() and ids.validate_port("NLQWX") == "NLQWX"
    assert reference.ports()["NLQWX"].region == "North Europe"
    assert used.version != shipped.version and used.version.startswith("2024-")
    assert [f.origin for f in used.files].count("site") == 1
    # Edited: read again, another version; the same files elsewhere: the same version.
    (folder / "ports.csv").write_text(PORTS_HEADER + "NLQWY,Second Harbour,NL,\n")
    edited = reference.active()
    assert "NLQWY" in edited.known_ports and "NLQWX" not in edited.known_ports
    assert edited.version not in (used.version, shipped.version)
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "ports.csv").write_bytes((folder / "ports.csv").read_bytes())
    assert reference.load(other).version == edited.version
    reference.use(None)
    assert "NLQWY" not in reference.known_ports()


def test_site_files_replace_tariff_lines_rates_and_hs_descriptions(tmp_path: Path) -> None:
    folder = site(
        tmp_path,
        tariff_csv="hs6,duty_pct,description\n080390,12.5,Bananas\n999901,3,National line\n",
        exchange_rates_csv="currency,eur_per_unit\nUSD,0.9\nNOK,0.085\n",
        harmonized_system_csv="section,hscode,description,parent,level\n"
        "II,080390,Bananas (site wording),0803,6\n",
    )
    reference.use(folder)
    assert reference.duty_pct("080390") == 12.5 and reference.duty_pct("999901") == 3.0
    assert reference.exchange_rates()["USD"] == 0.9 and reference.exchange_rates()["EUR"] == 1.0
    assert reference.exchange_rates()["NOK"] == 0.085
    assert reference.hs_nomenclature()["080390"] == "Bananas (site wording)"
    assert len(reference.hs6_codes()) == len(reference.load(None).hs6_codes)


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"ports_csv": PORTS_HEADER + "NLQWX,Harbour,NL,North Europe\nNL QW,Bad,NL,\n"},
         "ports.csv line 3, field locode: not a UN/LOCODE"),
        ({"ports_csv": PORTS_HEADER + "NLQWX,Harbour,BE,\n"},
         "ports.csv line 2, field country: not the country of NLQWX (NL)"),
        ({"ports_csv": PORTS_HEADER + "NLQWX,Harbour,NL,Atlantis\n"},
         "ports.csv line 2, field region: not a trade region"),
        ({"ports_csv": PORTS_HEADER + "NLQWX,,NL,\n"}, "ports.csv line 2, field name: empty"),
        ({"ports_csv": "code,name\nNLQWX,Harbour\n"},
         "ports.csv line 1, field locode: column missing"),
        ({"ports_csv": PORTS_HEADER + "NLQWX,Harbour,NL,\nNLQWX,Again,NL,\n"},
         "ports.csv line 3, field locode: NLQWX is already on line 2"),
        ({"tariff_csv": "hs6,duty_pct,description\n0803,5,Too short\n"},
         "tariff.csv line 2, field hs6: not an HS subheading (six digits)"),
        ({"tariff_csv": "hs6,duty_pct,description\n080390,nan,Bananas\n"},
         "tariff.csv line 2, field duty_pct: not a number from 0 to 10000"),
        ({"exchange_rates_csv": "currency,eur_per_unit\nXYZ,1\n"},
         "exchange-rates.csv line 2, field currency: not an active ISO 4217 currency code"),
        ({"exchange_rates_csv": "currency,eur_per_unit\nUSD,0\n"},
         "exchange-rates.csv line 2, field eur_per_unit: not a number above 0"),
        ({"harmonized_system_csv": "section,hscode,description,parent,level\nI,0101,Horses,01,6\n"},
         "harmonized-system.csv line 2, field level: HS code 0101 is not of level 6"),
        ({"port_csv": PORTS_HEADER}, "port.csv: is not a reference file quaywatch reads"),
        ({"ports_csv": PORTS_HEADER + "NLQWX,Harbour,NL\n"},
         "ports.csv line 2: has 3 fields, the header 4"),
    ],
)  # fmt: skip
def test_a_bad_site_file_is_refused_naming_file_line_and_field(
    tmp_path: Path, files: dict[str, str], problem: str
) -> None:
    folder = site(tmp_path, **files)
    before = reference.active().version
    with pytest.raises(ReferenceDataError) as raised:
        reference.use(folder)
    assert problem in raised.value.message, raised.value.message
    assert str(folder) in raised.value.message
    assert reference.active().version == before  # nothing of a bad directory is used
    assert any(problem in str(p) for p in reference.check_site_dir(folder))


def test_every_problem_of_a_directory_is_listed(tmp_path: Path) -> None:
    folder = site(
        tmp_path,
        ports_csv=PORTS_HEADER + "NL1,A,NL,\nNLQWX,B,XX,\n",
        tariff_csv="hs6,duty_pct,description\nabc,1,x\n",
    )
    found = [str(p) for p in reference.check_site_dir(folder)]
    assert len(found) == 3, found
    assert [p.split(",")[0] for p in found] == ["ports.csv line 2", "ports.csv line 3",
                                                 "tariff.csv line 2"]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=120))
def test_any_ports_file_is_read_or_refused_with_a_named_problem(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("any") / "ports.csv"
    path.write_text(PORTS_HEADER + text, encoding="utf-8")
    rows, problems = reference.read_site_file(path)
    for problem in problems:
        assert problem.file == "ports.csv" and problem.line >= 1 and problem.reason
    for row in rows:
        assert ids.validate_locode(row["locode"]) == row["locode"]
        assert row["country"] == row["locode"][:2]
