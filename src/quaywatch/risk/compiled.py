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
with the number of leaves (6-11 s for 300 trees of 63). Inlining the trees into the loop would
predict faster still but compiles in time that grows much faster than the model; it is off.
The compiled object is kept in the model's folder, under ``compiled/``. Its name holds a hash
of the model text, the compiler versions, the host CPU and the options (it is machine code for
this CPU: a model folder copied to another machine compiles again there) and a hash of its own
bytes, checked before loading (an object cut short is compiled again, never handed to LLVM).
Deleting ``compiled/`` only costs a compilation. ``quaywatch train`` compiles both models right
away; a model without a compiled object compiles at its first large batch. Batches of fewer than ``MIN_ROWS`` rows call
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


def available() -> bool:
    """Whether models can be compiled here (lleaves and llvmlite are installed)."""
    return _compiler() is not None


class Forest:
    """A compiled model: ``predict`` gives what ``lightgbm.Booster.predict`` gives."""

    __slots__ = ("_model",)

    def __init__(self, model: Any) -> None:
        self._model = model

    def predict(self, matrix: Floats) -> Floats:
        """Predictions for the rows of ``matrix`` (any memory layout; read row by row)."""
        # Keep this copy: lleaves hands the compiled code a pointer into its argument, and into
        # a temporary copy it does not keep alive when the layout or type has to change.
        rows = np.ascontiguousarray(matrix, dtype=np.float64)
        return np.asarray(self._model.predict(rows, n_jobs=_cores()), dtype=np.float64)


def _cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def key(text: str, trees: int) -> str | None:
    """The name of the compiled object of the model ``text`` (``trees`` trees) on this machine.

    A hash of everything the object depends on: the model, the compiler versions, the host CPU
    and the compile options. None where lleaves is not installed.
    """
    found = _compiler()
    if found is None:
        return None
    _, llvm = found
    try:
        versions = [version("lleaves"), version("llvmlite")]
    except PackageNotFoundError:
        return None
    try:
        features = llvm.get_host_cpu_features().flatten()
    except RuntimeError:  # LLVM cannot read them on some hosts; lleaves then compiles without
        features = ""
    digest = hashlib.sha256()
    for part in (text, *versions, llvm.get_host_cpu_name(), features, repr(_options(trees))):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def _options(trees: int) -> dict[str, Any]:
    """lleaves' compile options: every tree in one block (LightGBM's order of addition, so the
    same predictions), no inlining (compile time that grows with the model, not faster)."""
    return {"fblocksize": max(trees, 1), "finline": False}


def compile_model(text: str, trees: int, folder: Path | None) -> Forest | None:
    """The model ``text`` (LightGBM's text format, ``trees`` trees) compiled; None if it cannot be.

    With ``folder`` (the model's folder), the object is loaded from ``folder/compiled`` when a
    sound one is there, and saved there after compiling otherwise. A saved object's name ends
    with a hash of its bytes, checked before it is loaded: an object cut short (a folder copied
    halfway) is compiled again, never handed to LLVM. A folder that cannot be written only
    costs the cache.
    """
    found = _compiler()
    name = key(text, trees)
    if found is None or name is None:
        return None
    lleaves, _ = found
    kept = None if folder is None else _sound(folder / FOLDER, name)
    with tempfile.TemporaryDirectory(prefix="quaywatch-compile-") as scratch:
        model_file = Path(scratch) / "model.txt"
        model_file.write_text(text, encoding="utf-8")
        written = Path(scratch) / "model.o"
        try:
            model = lleaves.Model(model_file=str(model_file))
            model.compile(cache=str(kept or written), **_options(trees))
        except Exception:  # noqa: BLE001 - any compiler failure falls back to LightGBM
            return None
        if kept is None and folder is not None:
            _keep(written, folder / FOLDER, name)
    return Forest(model)


def _sound(cache: Path, name: str) -> Path | None:
    """The saved object ``name`` whose bytes match the hash in its file name, if any."""
    for candidate in sorted(cache.glob(f"{name}-*.o")):
        try:
            content = candidate.read_bytes()
        except OSError:
            continue
        if candidate.stem == f"{name}-{hashlib.sha256(content).hexdigest()[:16]}":
            return candidate
    return None


def _keep(written: Path, cache: Path, name: str) -> None:
    """Save the object in the model's folder under its final name, atomically; or not at all."""
    try:
        content = written.read_bytes()
        cache.mkdir(exist_ok=True)
        handle, aside = tempfile.mkstemp(dir=cache, prefix=f".{name}-", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
            os.replace(aside, cache / f"{name}-{hashlib.sha256(content).hexdigest()[:16]}.o")
        except OSError:
            Path(aside).unlink(missing_ok=True)
    except OSError:
        return
