"""What an operator sees when data is hostile or a command goes wrong, on both stores.

Data printed is never markup (a party name ``[link=https://x]...[/]`` prints as those
characters), several files import one by one, and a corrected quarantine record keeps its id.
Each case runs end to end through the command line.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.cli.context import console

EXAMPLES = Path(__file__).parents[2] / "examples"
HOSTILE = "[link=https://x]Evil[/] [bold red]Co[/] [/]"

runner = CliRunner()


def run(url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["--database", url, *args], env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def hostile_consignments(folder: Path) -> Path:
    """The example consignments with hostile party names and descriptions, in a file whose name
    is hostile too."""
    with (EXAMPLES / "consignments.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        row["declarant_name"] = row["consignee_name"] = HOSTILE
        row["description"] = f"goods {HOSTILE}"
    path = folder / "[bold red]feed[link=mailto:x].csv"
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_hostile_data_prints_as_it_is_everywhere(store_url: str, tmp_path: Path) -> None:
    feed = hostile_consignments(tmp_path)
    actor = {"QUAYWATCH_ACTOR": "[bold red]mallory[/]"}
    code, out = run(store_url, "ingest", str(feed), env=actor)
    assert code == 0, out
    assert "[bold red]feed[link=mailto:x].csv" in out  # the summary after the commit
    assert re.search(r"│\s*4\s*│\s*3\s*│", out), out  # read 4, new 3: the example's bad row

    code, out = run(store_url, "quarantine", "list")
    assert code == 0 and "[bold red]feed[link=mailto:x].csv" in out, out
    entry = re.search(r"│\s*(\d+)\s*│\s*open", out).group(1)
    code, out = run(store_url, "quarantine", "show", entry)
    assert code == 0 and json.dumps(HOSTILE) in out, out  # the record as read, as JSON
    assert "[bold red]feed[link=mailto:x].csv" in out

    code, out = run(store_url, "audit", "log")
    assert code == 0 and "[bold red]mallory[/]" in out, out

    watchlist = tmp_path / "list.csv"
    watchlist.write_text(
        "entry_id,name,address,country,identifiers,category,note\n"
        f'"[/]X-1","{HOSTILE}","1 Quay [/]",BE,,drugs,"[link=https://x]n[/]"\n'
    )
    code, out = run(store_url, "watchlists", "load", str(watchlist), "--id", "[/]L",
                    "--source", "[bold]s[/]", "--date", "2026-12-01")  # fmt: skip
    assert code == 0, out
    code, out = run(store_url, "screen", HOSTILE)
    assert code == 0, out
    assert HOSTILE in out and "[/]X-1" in out and "[/]L" in out


def test_control_characters_are_written_out_not_sent_to_the_terminal() -> None:
    with console.capture() as captured:
        console.print("a\x1b]8;;https://x\x1b\\b\x9bc", highlight=False)
    assert captured.get() == "a\\x1b]8;;https://x\\x1b\\b\\x9bc\n"


def test_several_files_import_one_by_one_and_each_is_reported(
    store_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("consignment_id,item_sequence,shoe_size\n")
    missing = tmp_path / "missing.csv"
    events = EXAMPLES / "events.json"
    code, out = run(store_url, "ingest", str(EXAMPLES / "consignments.csv"), str(bad),
                    str(events), str(missing))  # fmt: skip
    assert code == 2, out
    rows = re.findall(r"│ (\S+)\s*│ (\S+)\s*│", out)
    assert rows == [("consignments.csv", "consignments"), ("bad.csv", "FAILED"),
                        ("events.json", "events"), ("missing.csv", "FAILED")], out  # fmt: skip
    assert "unknown columns shoe_size" in out and "no such file" in out
    assert "2 of 4 files not imported" in out
    # The good files are stored: importing them again finds every record unchanged.
    code, out = run(store_url, "ingest", str(EXAMPLES / "consignments.csv"), str(events))
    assert code == 0 and re.search(r"events\s*│\s*11\s*│\s*0\s*│\s*11\s*│", out), out


def test_retry_with_an_unusable_or_foreign_record_is_refused(
    store_url: str, tmp_path: Path
) -> None:
    code, out = run(store_url, "ingest", str(EXAMPLES / "consignments.csv"))
    assert code == 0, out
    code, out = run(store_url, "quarantine", "list")
    entry = re.search(r"│\s*(\d+)\s*│\s*open", out).group(1)

    code, out = run(store_url, "quarantine", "retry", entry, "--record", str(tmp_path / "no"))
    assert code == 2 and "cannot read the corrected record" in out, out
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"declarant_name": "Société"}'.encode("latin-1"))
    code, out = run(store_url, "quarantine", "retry", entry, "--record", str(latin))
    assert code == 2 and "cannot read the corrected record" in out and "utf-8" in out, out

    code, out = run(store_url, "quarantine", "show", entry)
    rows = json.loads(out[out.index("[") :])
    other = [row | {"consignment_id": "261102-BEANR-0000777"} for row in rows]
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps(other))
    code, out = run(store_url, "quarantine", "retry", entry, "--record", str(foreign))
    assert code == 2 and "a correction keeps the record's id" in out, out
    code, out = run(store_url, "quarantine", "list")
    assert re.search(rf"│\s*{entry}\s*│\s*open", out), out  # still open, nothing stored


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_an_in_memory_store_is_refused_not_filled_and_forgotten(url: str) -> None:
    code, out = run(url, "ingest", str(EXAMPLES / "consignments.csv"))
    assert code == 2 and "names no file" in out and "sqlite:///PATH" in out, out
    assert "Import" not in out
