"""`quaywatch --help` (and any group's help) loads no heavy library: it answers at once.

Checked by what a fresh interpreter has imported, not by timing it (a test must not depend on
the machine's speed); `farm-bench 'quaywatch --help'` gives the time.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# pydantic is not in the list: typer itself coerces parameters with it.
HEAVY = ["polars", "numpy", "pyarrow", "sqlalchemy", "alembic", "lightgbm", "scipy", "rapidfuzz"]

PROBE = """
import json, sys
from quaywatch.cli import app
try:
    app(sys.argv[1:], prog_name="quaywatch")
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {heavy})))
"""


@pytest.mark.parametrize(
    "args", [["--help"], ["control", "--help"], ["profiles", "--help"], ["users", "--help"]]
)
def test_help_imports_no_heavy_library(args: list[str]) -> None:
    probe = PROBE.format(heavy=set(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
    )
    assert "Usage: quaywatch" in done.stdout
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == []
