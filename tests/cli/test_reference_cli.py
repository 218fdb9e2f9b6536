"""``quaywatch reference list|check`` and QUAYWATCH_REFERENCE_DIR through the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from quaywatch.cli import app

runner = CliRunner()
EXAMPLE = Path(__file__).parents[2] / "examples" / "consignments.jsonl"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def site(tmp_path: Path, ports: str) -> Path:
    folder = tmp_path / "site"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ports.csv").write_text("locode,name,country,region\n" + ports)
    return folder


def test_list_shows_the_shipped_files_then_the_site_files_in_use(tmp_path: Path) -> None:
    code, shipped = run("reference", "list")
    assert code == 0, shipped
    assert "site directory: (none)" in shipped and "un-locode.csv.gz" in shipped
    assert "115,880" in shipped and "known ports" in shipped
    folder = site(tmp_path, "NLQWX,Quaywatch Harbour,NL,North Europe\n")
    code, out = run("reference", "list", env={"QUAYWATCH_REFERENCE_DIR": str(folder)})
    assert code == 0, out
    assert f"site directory: {folder}" in out and "│ site" in out
    version = [line for line in out.splitlines() if line.startswith("reference version")]
    assert version and version[0] not in shipped


def test_check_lists_every_problem_and_exits_non_zero(tmp_path: Path) -> None:
    folder = site(tmp_path, "NL1,Harbour,NL,\nNLQWX,Harbour,BE,\n")
    (folder / "tariff.csv").write_text("hs6,duty_pct,description\n080390,-1,Bananas\n")
    code, out = run("reference", "check", str(folder))
    assert code == 2
    assert "ports.csv line 2, field locode: not a UN/LOCODE" in out
    assert "ports.csv line 3, field country: not the country of NLQWX (NL)" in out
    assert "tariff.csv line 2, field duty_pct: not a number from 0 to 10000" in out
    assert "3 problem(s)" in out
    good = site(tmp_path / "good", "NLQWX,Quaywatch Harbour,NL,\n")
    code, out = run("reference", "check", env={"QUAYWATCH_REFERENCE_DIR": str(good)})
    assert code == 0 and "every file can be used" in out, out


def test_a_bad_site_directory_stops_a_command_naming_file_line_and_field(tmp_path: Path) -> None:
    folder = site(tmp_path, "NLQWX,Harbour,NL,Atlantis\n")
    records = tmp_path / "in.jsonl"
    records.write_text(EXAMPLE.read_text().splitlines()[0] + "\n")
    url = f"sqlite:///{tmp_path / 'q.db'}"
    env = {"QUAYWATCH_REFERENCE_DIR": str(folder)}
    code, out = run("--database", url, "ingest", str(records), env=env)
    assert code == 2
    assert "ports.csv line 2, field region: not a trade region" in out
    assert not (tmp_path / "q.db").exists()  # stopped before opening the store
    code, out = run("--database", url, "ingest", str(records),
                    env={"QUAYWATCH_REFERENCE_DIR": str(tmp_path / "none")})  # fmt: skip
    assert code == 2 and "QUAYWATCH_REFERENCE_DIR" in out and "not a directory" in out


def test_a_consignment_from_a_site_port_imports_through_the_cli(tmp_path: Path) -> None:
    record = json.loads(EXAMPLE.read_text().splitlines()[0])
    record["route"]["port_of_loading"] = "NLQWX"
    records = tmp_path / "in.jsonl"
    records.write_text(json.dumps(record) + "\n")
    url = f"sqlite:///{tmp_path / 'q.db'}"
    code, out = run("--database", url, "ingest", str(records))
    assert code == 0 and "port_of_loading: UN/LOCODE NLQWX is not a known port" in out
    assert re.search(r"│ in.jsonl │ consignments │ +1 │ +0 │ +0 │ +1 │", out), out
    folder = site(tmp_path, "NLQWX,Quaywatch Harbour,NL,\n")
    code, out = run("--database", url, "ingest", str(records),
                    env={"QUAYWATCH_REFERENCE_DIR": str(folder)})  # fmt: skip
    assert code == 0, out
    assert re.search(r"│ in.jsonl │ consignments │ +1 │ +1 │ +0 │ +0 │ +1 │", out), out
