"""Control capacity: what each terminal can control per shift, and what each control costs.

A capacity file (YAML, see ``capacity.yaml`` shipped next to this module) declares

- ``resources``: the things controls use up, each counted ``per: hour`` (NII scanner slots an
  hour: multiplied by the shift's length) or ``per: shift`` (officer hours, documentary slots);
- ``controls``: ``documentary``, ``scan`` and ``physical``, each with the resources one control
  uses and its ``detection_rate`` (the share of irregular consignments it finds). A stronger
  lane must find more: documentary < scan < physical;
- ``shifts``: whole hours in the file's ``timezone`` that tile the day (06-14, 14-22, 22-06);
- ``terminals``: per terminal and shift, how much of every resource customs has;
- ``carriers`` and ``default_terminal``: consignments name their carrier (SCAC), not a terminal;
  a port assigns carriers to terminals, so the file does too, with a default for the others;
- ``policy`` (optional): AEO facilitation, the weight of critical threats, the control a random
  sample gets, and the blue lane (post-clearance audit) thresholds.

``load`` reports the first problem as a ``RecordError`` naming the file, the line and the field
(``terminals.MPET.capacity.night.officer_hours``), never a traceback.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from dataclasses import dataclass
from importlib import resources as package_files
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from quaywatch.errors import RecordError

#: Control types from the weakest to the strongest, and the lane each puts a consignment in.
CONTROLS = ("documentary", "scan", "physical")
CONTROL_LANES = {"documentary": "yellow", "scan": "orange", "physical": "red"}
DEFAULT_FILE = "capacity.yaml"


@dataclass(frozen=True, slots=True)
class Shift:
    """A shift: its name and its start and end hour (local); ``end < start`` crosses midnight."""

    name: str
    start: int
    end: int

    @property
    def hours(self) -> int:
        return (self.end - self.start) % 24 or 24


@dataclass(frozen=True, slots=True)
class Policy:
    """Selection policy settings a programme manager tunes (documented in docs/selection.md)."""

    aeo_factor: float = 0.5
    critical_weight_eur: float = 50_000.0
    random_control: str = "scan"
    blue_min_revenue_eur: float = 20_000.0
    blue_max_probability: float = 0.2


@dataclass(frozen=True, slots=True)
class Capacity:
    """A validated capacity file. Arrays are indexed in the order of the tuples beside them."""

    source: str
    sha256: str
    timezone: str
    resources: tuple[str, ...]
    per_hour: tuple[bool, ...]
    shifts: tuple[Shift, ...]
    terminals: tuple[str, ...]
    #: (control, resource): what one control of each type in ``CONTROLS`` uses.
    use: np.ndarray
    #: (control,): detection rate of each type in ``CONTROLS``.
    detection: np.ndarray
    #: (terminal, shift, resource): what a whole shift offers (per-hour resources multiplied).
    amount: np.ndarray
    carriers: dict[str, str]
    default_terminal: str
    policy: Policy

    def assign(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` (``carrier_scac``, ``eta``) with ``terminal``, ``shift`` and ``shift_start``.

        The terminal is the carrier's, else the default one; the shift is the one whose hours
        contain the ETA in the file's time zone; ``shift_start`` is that shift's start in UTC
        (a 02:00 arrival belongs to the night shift that began at 22:00 the day before).
        """
        carriers = pl.DataFrame(
            {"carrier_scac": list(self.carriers), "terminal": list(self.carriers.values())},
            schema={"carrier_scac": pl.String, "terminal": pl.String},
        )
        hour_shift = [
            next(s for s in self.shifts if (h - s.start) % 24 < s.hours) for h in range(24)
        ]
        local = pl.col("eta").dt.convert_time_zone(self.timezone)
        hour = local.dt.hour()
        back = hour.replace_strict(
            range(24), [(h - s.start) % 24 for h, s in enumerate(hour_shift)]
        )
        # Wall-clock arithmetic, then the zone: on the nights the clocks change, a shift must
        # keep one start (subtracting elapsed hours would split it in two, capacity doubled).
        wall = local.dt.replace_time_zone(None).dt.truncate("1h") - pl.duration(hours=back)
        start = wall.dt.replace_time_zone(self.timezone, ambiguous="earliest").dt.convert_time_zone(
            "UTC"
        )
        return frame.join(
            carriers, on="carrier_scac", how="left", maintain_order="left"
        ).with_columns(
            pl.col("terminal").fill_null(self.default_terminal),
            hour.replace_strict(range(24), [s.name for s in hour_shift]).alias("shift"),
            start.alias("shift_start"),
        )


class _Reader:
    """Walks the YAML node tree so that every value can be reported with its line."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        try:
            self.root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f"line {mark.line + 1}" if mark else None
            raise RecordError(
                f"not valid YAML: {exc.problem}", source=source, location=line
            ) from None

    def fail(self, node: yaml.Node | None, field: str, reason: str) -> RecordError:
        line = f"line {node.start_mark.line + 1}" if node is not None else None
        return RecordError(reason, source=self.source, location=line, field=field or None)

    def mapping(self, node: yaml.Node | None, field: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """Keys of a mapping node with (key node, value node), refusing duplicates."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, field, "expected a mapping (key: value lines)")
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else ""
            if not name or name in found:
                raise self.fail(key, _join(field, name), "duplicate or empty key")
            found[name] = (key, value)
        return found

    def section(
        self,
        node: yaml.Node | None,
        field: str,
        required: set[str],
        optional: set[str] | None = None,
    ) -> dict[str, yaml.Node]:
        """A mapping with exactly ``required`` keys, and maybe some of ``optional``."""
        items = self.mapping(node, field)
        optional = optional or set()
        for name, (key, _) in items.items():
            if name not in required | optional:
                allowed = ", ".join(sorted(required | optional))
                raise self.fail(key, _join(field, name), f"unknown key (expected one of {allowed})")
        for name in sorted(required - set(items)):
            raise self.fail(node, _join(field, name), "missing")
        return {name: value for name, (_, value) in items.items()}

    def scalar(self, node: yaml.Node, field: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, field, "expected a single value")
        return yaml.SafeLoader("").construct_object(node)

    def number(
        self, node: yaml.Node, field: str, *, low: float = 0.0, high: float = float("inf")
    ) -> float:
        value = self.scalar(node, field)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise self.fail(
                node, field, f"expected a number from {low:g} to {high:g}, got {value!r}"
            )
        return float(value)

    def text(self, node: yaml.Node, field: str, choices: tuple[str, ...] | None = None) -> str:
        value = self.scalar(node, field)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(node, field, f"expected text, got {value!r}")
        if choices is not None and value not in choices:
            raise self.fail(node, field, f"{value!r} is not one of {', '.join(choices)}")
        return value


def _join(field: str, name: str | int) -> str:
    return f"{field}.{name}" if field else str(name)


def loads(text: str, source: str = "<capacity>") -> Capacity:
    """Validate the capacity YAML ``text``; ``source`` names it in error messages."""
    r = _Reader(source, text)
    top = r.section(
        r.root, "", {"resources", "controls", "shifts", "terminals", "default_terminal"},
        {"version", "timezone", "carriers", "policy"},
    )  # fmt: skip
    timezone = r.text(top["timezone"], "timezone") if "timezone" in top else "UTC"
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise r.fail(top["timezone"], "timezone", f"unknown time zone {timezone!r}") from None

    kinds = r.mapping(top["resources"], "resources")
    if not kinds:
        raise r.fail(top["resources"], "resources", "declare at least one resource")
    names = tuple(kinds)
    per_hour = []
    for name, (_, node) in kinds.items():
        spec = r.section(node, f"resources.{name}", {"per"}, {"description", "unit"})
        per_hour.append(r.text(spec["per"], f"resources.{name}.per", ("hour", "shift")) == "hour")

    controls = r.section(top["controls"], "controls", set(CONTROLS))
    use = np.zeros((len(CONTROLS), len(names)))
    detection = np.zeros(len(CONTROLS))
    for k, control in enumerate(CONTROLS):
        field = f"controls.{control}"
        spec = r.section(controls[control], field, {"uses", "detection_rate"}, {"description"})
        detection[k] = r.number(spec["detection_rate"], f"{field}.detection_rate", high=1.0)
        if k and detection[k] <= detection[k - 1]:
            raise r.fail(spec["detection_rate"], f"{field}.detection_rate",
                         f"must exceed {CONTROLS[k - 1]}'s ({detection[k - 1]:g}): a stronger "
                         "control finds more")  # fmt: skip
        for name, (key, node) in r.mapping(spec["uses"], f"{field}.uses").items():
            if name not in names:
                raise r.fail(key, f"{field}.uses.{name}", "not a declared resource")
            use[k, names.index(name)] = r.number(node, f"{field}.uses.{name}")
        if not use[k].any():
            raise r.fail(spec["uses"], f"{field}.uses", "a control must use some resource")

    shifts = _shifts(r, top["shifts"])
    terminal_specs = r.mapping(top["terminals"], "terminals")
    if not terminal_specs:
        raise r.fail(top["terminals"], "terminals", "declare at least one terminal")
    amount = np.zeros((len(terminal_specs), len(shifts), len(names)))
    for t, (terminal, (_, node)) in enumerate(terminal_specs.items()):
        field = f"terminals.{terminal}"
        spec = r.section(node, field, {"capacity"}, {"name", "description"})
        per_shift = r.section(spec["capacity"], f"{field}.capacity", {s.name for s in shifts})
        for s, shift in enumerate(shifts):
            at = f"{field}.capacity.{shift.name}"
            values = r.section(per_shift[shift.name], at, set(names))
            for q, name in enumerate(names):
                scale = shift.hours if per_hour[q] else 1
                amount[t, s, q] = r.number(values[name], f"{at}.{name}") * scale

    terminals = tuple(terminal_specs)
    default = r.text(top["default_terminal"], "default_terminal", terminals)
    carriers: dict[str, str] = {}
    for scac, (_, node) in r.mapping(top.get("carriers") or _empty(), "carriers").items():
        carriers[scac] = r.text(node, f"carriers.{scac}", terminals)
    policy = _policy(r, top["policy"]) if "policy" in top else Policy()
    return Capacity(
        source, hashlib.sha256(text.encode("utf-8")).hexdigest(), timezone, names,
        tuple(per_hour), shifts, terminals, use, detection, amount, carriers, default, policy,
    )  # fmt: skip


def _empty() -> yaml.Node:
    return yaml.MappingNode("tag:yaml.org,2002:map", [])


def _shifts(r: _Reader, node: yaml.Node) -> tuple[Shift, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise r.fail(node, "shifts", "expected a list of shifts (- name: ..., start: 6, end: 14)")
    shifts: list[Shift] = []
    covered: dict[int, str] = {}
    for i, item in enumerate(node.value):
        field = f"shifts.{i}"
        spec = r.section(item, field, {"name", "start", "end"})
        name = r.text(spec["name"], f"{field}.name")
        hours = [r.number(spec[k], f"{field}.{k}", high=23) for k in ("start", "end")]
        if any(h != int(h) for h in hours):
            raise r.fail(item, field, "shifts start and end on whole hours (0-23)")
        shift = Shift(name, int(hours[0]), int(hours[1]))
        if any(s.name == name for s in shifts):
            raise r.fail(spec["name"], f"{field}.name", f"shift {name!r} declared twice")
        for h in range(shift.start, shift.start + shift.hours):
            if h % 24 in covered:
                raise r.fail(item, field, f"overlaps shift {covered[h % 24]!r} at {h % 24:02d}:00")
            covered[h % 24] = name
        shifts.append(shift)
    if len(covered) < 24:
        missing = min(set(range(24)) - set(covered))
        raise r.fail(
            node, "shifts", f"shifts must cover the whole day; {missing:02d}:00 is in none"
        )
    return tuple(shifts)


def _policy(r: _Reader, node: yaml.Node) -> Policy:
    fields = {"aeo_factor", "critical_weight_eur", "random_control", "blue_min_revenue_eur",
              "blue_max_probability"}  # fmt: skip
    spec = r.section(node, "policy", set(), fields)
    values: dict[str, Any] = {}
    for name, value in spec.items():
        at = f"policy.{name}"
        if name == "random_control":
            values[name] = r.text(value, at, CONTROLS)
        else:
            high = 1.0 if name in ("aeo_factor", "blue_max_probability") else float("inf")
            values[name] = r.number(value, at, high=high)
    return Policy(**values)


def load(path: Path | None = None) -> Capacity:
    """Read and validate a capacity file; without ``path``, the default one shipped with quaywatch."""
    if path is None:
        text = package_files.files("quaywatch.selection").joinpath(DEFAULT_FILE).read_text("utf-8")
        return loads(text, DEFAULT_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"cannot read the capacity file: {exc}", source=str(path)) from None
    return loads(text, str(path))
