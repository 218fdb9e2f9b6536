"""The quarantine by cause: counted by reason, and every entry of one cause retried in one
command once the cause is fixed (issue 18, part 6), on both stores."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from quaywatch.cli import app

EXAMPLES = Path(__file__).parents[2] / "examples"
runner = CliRunner()


def run(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database", url, *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _causes(out: str) -> dict[str, int]:
    """The by-cause table: reason pattern -> entries."""
    return {
        m.group(3).strip(): int(m.group(1).replace(",", ""))
        for m in re.finditer(r"│\s*([\d,]+)\s*│\s*(\w+)\s*│[^│]*│\s*([^│]+?)\s*│\s*\d+\s*│", out)
    }


def test_outcomes_held_back_by_their_consignments_are_stored_by_cause(store_url: str) -> None:
    # Outcomes before their consignments: four wait for a consignment, one is wrong in itself.
    code, out = run(store_url, "ingest", str(EXAMPLES / "outcomes.csv"))
    assert code == 0, out
    code, out = run(store_url, "quarantine", "list")
    assert code == 0, out
    assert _causes(out) == {
        "unknown consignment N-BEANR-N v1 (import the consignment first)": 4,
        "is before controlled_at: a result is known after the control": 1,
    }
    code, out = run(store_url, "quarantine", "list", "--reason", "KNOWN AFTER")
    assert list(_causes(out).values()) == [1] and "ANR-2026-000104" in out
    assert "ANR-2026-000101" not in out

    # The wrong kind matches nothing; a retry before the fix stores nothing and says why.
    code, out = run(store_url, "quarantine", "retry", "--reason", "unknown consignment",
                    "--kind", "events")  # fmt: skip
    assert code == 0 and "0 open entries matched: 0 stored, 0 still invalid" in out, out
    code, out = run(store_url, "quarantine", "retry", "--reason", "unknown consignment")
    assert code == 1 and "4 open entries matched: 0 stored, 4 still invalid" in out, out

    # The cause fixed (the consignments imported; one of them is itself invalid in the file):
    # one command stores the three whose consignment arrived.
    code, out = run(store_url, "ingest", str(EXAMPLES / "consignments.csv"))
    assert code == 0, out
    code, out = run(store_url, "quarantine", "retry", "--reason", "unknown consignment",
                    "--limit", "3")  # fmt: skip
    assert code == 0 and "3 open entries matched: 3 stored, 0 still invalid" in out, out
    code, out = run(store_url, "quarantine", "retry", "--reason", "unknown consignment")
    assert code == 1 and "1 open entries matched: 0 stored, 1 still invalid" in out, out
    assert "261102-BEANR-0000003" in out  # the one whose consignment was quarantined too
    code, out = run(store_url, "quarantine", "list", "--status", "resolved")
    assert sum(_causes(out).values()) == 3

    # Each retry is in the audit trail, which still verifies.
    code, out = run(store_url, "audit", "verify")
    assert code == 0, out


def test_retry_by_reason_refuses_what_it_cannot_use(store_url: str) -> None:
    code, out = run(store_url, "quarantine", "retry", "1", "--reason", "x")
    assert code == 2 and "not both" in out
    code, out = run(store_url, "quarantine", "retry", "--reason", "   ")
    assert code == 2 and "reason must hold some text" in out
    code, out = run(store_url, "quarantine", "retry", "--reason", "x", "--kind", "ships")
    assert code == 2 and "kind must be one of consignments, events, outcomes" in out
    code, out = run(store_url, "quarantine", "retry", "1", "--limit", "3")
    assert code == 2 and "--kind and --limit go with --reason" in out
    code, out = run(store_url, "quarantine", "retry")
    assert code == 2 and "--reason TEXT" in out
    code, out = run(store_url, "quarantine", "list", "--reason", "[bold]x")
    assert code == 0 and "no open quarantine entries with that reason" in out


def test_a_port_added_by_the_site_frees_its_quarantined_records_in_one_command(
    store_url: str, tmp_path: Path
) -> None:
    # Issue 18: records refused for a port the reference data lacked are stored by one retry
    # once the site's reference directory adds the port.
    lines = (EXAMPLES / "consignments.jsonl").read_text().splitlines()[:2]
    records = []
    for line in lines:
        record = json.loads(line)
        record["route"]["port_of_loading"] = "NLQWX"
        records.append(json.dumps(record))
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(records) + "\n")
    code, out = run(store_url, "ingest", str(path))
    assert code == 0 and "UN/LOCODE NLQWX is not a known port" in out, out
    code, out = run(store_url, "quarantine", "list", "--reason", "NLQWX")
    assert _causes(out) == {"UN/LOCODE NLQWX is not a known port": 2}, out

    site = tmp_path / "site"
    site.mkdir()
    (site / "ports.csv").write_text("locode,name,country,region\nNLQWX,Quaywatch Harbour,NL,\n")
    result = runner.invoke(
        app, ["--database", store_url, "quarantine", "retry", "--reason", "NLQWX is not a known"],
        env={"QUAYWATCH_REFERENCE_DIR": str(site)},
    )  # fmt: skip
    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output
    assert "2 open entries matched: 2 stored, 0 still invalid" in result.output
