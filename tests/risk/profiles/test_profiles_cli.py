"""``quaywatch profiles ...`` as an analyst runs it, on a copy of generated traffic."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.synth import traffic

runner = CliRunner()
STARTER = resources.files("quaywatch.risk.profiles") / "starter"


def run(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database", url, "profiles", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_validate_test_load_activate_retire(
    traffic_store: tuple[str, traffic.Traffic], tmp_path: Path,
    write: Callable[[str, str], Path],
) -> None:  # fmt: skip
    source = Path(traffic_store[0].removeprefix("sqlite:///"))
    shutil.copy(source, tmp_path / "copy.db")
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    files = [str(STARTER / name) for name in ("wildlife.yaml", "counterfeits.yaml")]
    bad = write("id: BAD\nversion: 1\ndescription: x\nowner: y\ncondition: reefer and\n"
                "action: {weight: 1}\n", "bad.yaml")  # fmt: skip

    code, out = run(url, "validate", *files, str(bad))
    assert code == 2
    assert "ok " in out and "STARTER-WILDLIFE v1" in out
    assert re.search(r"bad\.yaml: line 5, record BAD, field condition: expected a value", out)

    code, out = run(url, "test", *files, "--since", "2026-10-03")
    assert code == 0, out
    assert "STARTER-WILDLIFE v1" in out and "lift" in out
    assert re.search(r"STARTER-WILDLIFE: \S+ v1: .* from [A-Z]{5}: wildlife", out)
    assert "value reference fitted on" in out

    code, out = run(url, "load", *files)
    assert code == 0 and out.count("loaded as draft") == 2
    code, out = run(url, "load", files[0])
    assert code == 0 and "already stored (draft)" in out
    code, out = run(url, "activate", "STARTER-WILDLIFE")
    assert code == 0 and "STARTER-WILDLIFE v1 is active" in out
    code, out = run(url, "list")
    assert code == 0 and re.search(r"STARTER-WILDLIFE\s*│\s*1\s*│\s*active", out)
    assert re.search(r"STARTER-COUNTERFEIT\s*│\s*1\s*│\s*draft", out)
    code, out = run(url, "retire", "STARTER-WILDLIFE")
    assert code == 0 and "retired" in out
    code, out = run(url, "retire", "STARTER-WILDLIFE")
    assert code == 3 and "no active version" in out
    code, out = run(url, "test", *files, "--since", "2030-01-01")
    assert code == 2 and "no consignment lodged" in out
