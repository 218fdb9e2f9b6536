"""JSON the CLI prints is strict JSON: a non-finite number is ``null``, never ``Infinity``."""

from __future__ import annotations

import json
import math

from quaywatch.cli.context import json_text


def test_non_finite_numbers_are_written_null() -> None:
    value = {"rate": math.inf, "rows": [1.5, -math.inf, (math.nan, 2)], "name": "x"}
    text = json_text(value, indent=2)
    assert "Infinity" not in text and "NaN" not in text
    assert json.loads(text) == {"rate": None, "rows": [1.5, None, [None, 2]], "name": "x"}
