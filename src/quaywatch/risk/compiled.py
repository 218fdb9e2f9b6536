"""LightGBM models compiled to machine code: the same predictions, three to five times faster.

LightGBM's own ``predict`` spends most of its time on each row before any tree sees it (the
row is copied into a sparse vector, then into a buffer); for the fraud model of the scoring
benchmark, 58 trees, that is 0.95 s per million rows. ``lleaves`` compiles a model's trees with
LLVM into one function over rows: 0.31 s for the same rows, 0.10 s against 0.49 s for the
revenue model (``benchmarks/scoring.py``, ``compiled_predict_s``).

**The same predictions, bit for bit.** Compiled with every tree in one block (``fblocksize`` =
the number of trees), the function adds the trees' outputs one after the other from zero, as
LightGBM does, and applies the same objective function (sigmoid, exp) through the same C
library. lleaves' default blocks of 34 trees add them in another order and differ in the last
bit (a test shows it). The tests check the equality on models with categorical splits and missing
values; each compiled model is checked again, on the first rows of its first batch, before its
predictions are used. Any difference, a missing lleaves (it needs llvmlite, which has no wheel
for every Python) or a failed compilation, and LightGBM predicts, as before.

**Compiled once per machine.** Compiling takes about 0.6 s for 58 trees of 31 leaves and grows
with the number of leaves (11 s for 300 trees of 63). Inlining the trees into the loop would
predict faster still but compiles in time that grows much faster than the model; it is off.
The compiled object is kept in the model's folder, under ``compiled/``, named by a hash of the
model text, the compiler versions and the host CPU (it is machine code for this CPU), so a model
folder copied to another machine compiles again there; deleting ``compiled/`` only costs a
compilation. ``quaywatch train`` compiles both models right away; a model without a compiled
object compiles at its first large batch. Batches of fewer than ``MIN_ROWS`` rows call
LightGBM: on them the compilation would not pay back and a few milliseconds do not matter.

The object is machine code that the scoring process loads: whoever can write a model folder can
run code as quaywatch. Model folders are written by ``quaywatch train``; give them the same
protection as the program itself.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

#: Batches from this many rows predict with the compiled model.
MIN_ROWS = 100_000
#: Rows of the first batch on which the compiled model must equal LightGBM before it is used.
CHECK_ROWS = 2_048
#: The folder, inside a model's folder, of its compiled objects.
FOLDER = "compiled"

Floats = npt.NDArray[np.float64]


def _compiler() -> tuple[Any, Any] | None:
    """lleaves and llvmlite's binding, or None where they are not installed."""
    try:
        import lleaves
        import llvmlite.binding as llvm
    except ImportError:
        return None
    return lleaves, llvm


class Forest:
    """A compiled model: ``predict`` gives what ``lightgbm.Booster.predict`` gives."""

    __slots__ = ("_model",)

    def __init__(self, model: Any) -> None:
        self._model = model

    def predict(self, matrix: Floats) -> Floats:
        """Predictions for the rows of ``matrix`` (any memory layout; read row by row)."""
        rows = np.ascontiguousarray(matrix, dtype=np.float64)
        return np.asarray(self._model.predict(rows, n_jobs=_cores()), dtype=np.float64)


def _cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def key(text: str) -> str | None:
    """The name of the compiled object of the model ``text`` on this machine; None without lleaves."""
    found = _compiler()
    if found is None:
        return None
    _, llvm = found
    try:
        versions = [version("lleaves"), version("llvmlite")]
    except PackageNotFoundError:
        return None
    digest = hashlib.sha256()
    for part in (text, *versions, llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def compile_model(text: str, trees: int, folder: Path | None) -> Forest | None:
    """The model ``text`` (LightGBM's text format, ``trees`` trees) compiled; None if it cannot be.

    With ``folder`` (the model's folder), the object is loaded from ``folder/compiled`` when it
    is there, and saved there after compiling otherwise (written aside, then renamed, so a
    reader never loads half an object). A folder that cannot be written only costs the cache.
    """
    found = _compiler()
    name = key(text)
    if found is None or name is None:
        return None
    lleaves, _ = found
    cache = None if folder is None else folder / FOLDER / f"{name}.o"
    with tempfile.TemporaryDirectory(prefix="quaywatch-compile-") as scratch:
        model_file = Path(scratch) / "model.txt"
        model_file.write_text(text, encoding="utf-8")
        model = lleaves.Model(model_file=str(model_file))
        options = {"fblocksize": max(trees, 1), "finline": False}
        try:
            if cache is not None and cache.is_file():
                model.compile(cache=str(cache), **options)
                return Forest(model)
            written = Path(scratch) / "model.o"
            model.compile(cache=str(written), **options)
        except Exception:  # noqa: BLE001 - any compiler failure falls back to LightGBM
            return None
        if cache is not None:
            _keep(written, cache)
    return Forest(model)


def _keep(written: Path, cache: Path) -> None:
    """Copy the object into the model's folder under its final name, atomically; or not at all."""
    try:
        cache.parent.mkdir(exist_ok=True)
        aside = cache.with_name(f".{cache.name}.{os.getpid()}")
        aside.write_bytes(written.read_bytes())
        os.replace(aside, cache)
    except OSError:
        return
