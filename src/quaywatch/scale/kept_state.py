"""The entity state a lake keeps: what Spark folds new exports into instead of rebuilding it.

A scoring run needs each entity's track record as of every lodging (``intake.entity_state``).
Built from the lake's whole history on every run, that costs in proportion to years of history;
kept, it costs in proportion to what is new. The lake holds it beside its tables::

    DIR/entity_state/_state.json                         what it holds (below)
    DIR/entity_state/g000003/bucket=7/part-....parquet   one bucket's rows, as one update wrote them

Rows: the ``entity_states`` layout (entity, entity_key, at, records, controls, hits), every row
of every key, cumulated as the store keeps them; a key lives in bucket ``pmod(hash(entity,
entity_key), buckets)`` (Spark's Murmur3 hash, the same from run to run). An update
(``scale.spark.update_state``) folds the lake exports not folded yet into the buckets their
deltas touch and writes those buckets as a new generation; the others stay where they are.

``_state.json`` says which exports the state holds (``export``: every one up to that number;
a lake file's export is the number in its name, ``part-<export>.parquet``), the number of
buckets, and where each bucket's rows are. It is written last, atomically: an update that
fails half-way leaves a generation nobody points to (removed by the next update) and the state
as it was. An update, and a scoring job from its start to its end, hold the state's lock
(``locked``): another waits for none of them, it is refused with what is running.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from quaywatch.errors import ConflictError, InputError

FOLDER = "entity_state"
MANIFEST = "_state.json"
LOCK = ".lock"
FORMAT = 1
#: Buckets of a new kept state: a bucket is one Python task of an update (its keys' rows read,
#: folded and written together), so a national state wants hundreds; chosen when the state is
#: first built (``--buckets``), kept after.
DEFAULT_BUCKETS = 16


@dataclass(frozen=True, slots=True)
class KeptState:
    """What a lake's kept state holds: the exports folded (all up to ``export``; 0: none),
    its buckets, the folder of each bucket's rows (relative to ``FOLDER``), its rows, when it
    was last updated."""

    export: int
    buckets: int
    parts: dict[int, str] = field(default_factory=dict)
    rows: int = 0
    generation: int = 0
    updated_at: str | None = None

    def folders(self, lake: Path) -> dict[int, Path]:
        """Each bucket's folder."""
        return {bucket: lake / FOLDER / part for bucket, part in sorted(self.parts.items())}

    def generations(self) -> dict[str, list[int]]:
        """The buckets of each generation folder (``gNNNNNN``) the state reads."""
        found: dict[str, list[int]] = {}
        for bucket, part in sorted(self.parts.items()):
            found.setdefault(part.split("/", 1)[0], []).append(bucket)
        return found


def empty(buckets: int = DEFAULT_BUCKETS) -> KeptState:
    """The state of a lake with nothing folded yet."""
    if buckets < 1:
        raise ValueError(f"the kept state needs at least one bucket, got {buckets}")
    return KeptState(export=0, buckets=buckets)


def read(lake: Path) -> KeptState | None:
    """The lake's kept state, or None where it has none yet; a ``ValueError`` naming the file
    when it is not one this version wrote."""
    path = lake / FOLDER / MANIFEST
    if not path.exists():
        return None
    try:
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if found.get("format") != FORMAT:
            raise ValueError(f"format {found.get('format')!r}, expected {FORMAT}")
        return KeptState(
            export=int(found["export"]),
            buckets=int(found["buckets"]),
            parts={int(b): str(p) for b, p in found["parts"].items()},
            rows=int(found["rows"]),
            generation=int(found["generation"]),
            updated_at=found.get("updated_at"),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a kept entity state ({exc})") from exc


def check_buckets(lake: Path, state: KeptState, buckets: int | None) -> None:
    """An ``InputError`` when ``buckets`` is asked of a kept ``state`` that has others: they
    change only with a rebuild."""
    if buckets is not None and buckets != state.buckets:
        raise InputError(
            f"the kept entity state of {lake} has {state.buckets} buckets, not {buckets}: "
            "add --rebuild to build it afresh with them"
        )


def generation_folder(lake: Path, state: KeptState) -> tuple[str, Path]:
    """The name and folder of the next generation of ``state`` (where an update writes)."""
    name = f"g{state.generation + 1:06d}"
    return name, lake / FOLDER / name


def written(lake: Path, state: KeptState, *, export: int, touched: set[int],
            rows: int, now: datetime, replace_all: bool = False) -> KeptState:  # fmt: skip
    """``state`` once the next generation's folder holds the buckets an update rewrote:
    the ``touched`` buckets point there (or are gone, where folding left a bucket empty),
    ``replace_all``: every bucket does (a rebuild); the others stay."""
    name, folder = generation_folder(lake, state)
    present = {
        int(p.name.removeprefix("bucket="))
        for p in (folder.iterdir() if folder.exists() else ())
        if p.is_dir() and p.name.startswith("bucket=")
    }
    parts = {} if replace_all else {b: p for b, p in state.parts.items() if b not in touched}
    parts.update({b: f"{name}/bucket={b}" for b in present if replace_all or b in touched})
    return replace(state, export=export, parts=parts, rows=rows, generation=state.generation + 1,
                   updated_at=now.isoformat())  # fmt: skip


def last_generation(lake: Path) -> int:
    """The highest generation number of the folders the state's folder holds (0: none): a
    rebuild of a state whose manifest is unreadable writes above it."""
    root = lake / FOLDER
    found = [
        int(p.name[1:]) for p in (root.iterdir() if root.exists() else ())
        if p.is_dir() and p.name[:1] == "g" and p.name[1:].isdigit()
    ]  # fmt: skip
    return max(found, default=0)


@contextmanager
def locked(lake: Path) -> Iterator[None]:
    """Hold the lock of ``lake``'s kept state (an exclusive ``flock`` on ``entity_state/.lock``,
    released when the block ends or the process dies); a ``ConflictError`` saying so when
    another process holds it."""
    root = lake / FOLDER
    root.mkdir(parents=True, exist_ok=True)
    handle = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConflictError(
                f"{root / LOCK}: another update of this lake's kept entity state, or a Spark "
                "scoring job reading it, is running; try again when it has ended"
            ) from None
        yield
    finally:
        os.close(handle)


def save(lake: Path, state: KeptState) -> None:
    """Write ``state``'s manifest atomically, then remove the generation folders it no
    longer reads (an earlier update's, or one left by an update that failed)."""
    root = lake / FOLDER
    root.mkdir(parents=True, exist_ok=True)
    body = {
        "format": FORMAT, "export": state.export, "buckets": state.buckets,
        "parts": {str(b): p for b, p in sorted(state.parts.items())}, "rows": state.rows,
        "generation": state.generation, "updated_at": state.updated_at,
    }  # fmt: skip
    temporary = root / f"{MANIFEST}.tmp"
    temporary.write_text(json.dumps(body, indent=1, sort_keys=True), encoding="utf-8")
    temporary.replace(root / MANIFEST)
    kept = set(state.generations())
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.startswith("g") and folder.name not in kept:
            shutil.rmtree(folder)
