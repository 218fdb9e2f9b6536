"""LightGBM models compiled to machine code: the same predictions, three to five times faster.

LightGBM's own ``predict`` spends most of its time on each row before any tree sees it (the
row is copied into a sparse vector, then into a buffer); for the fraud model of the scoring
benchmark, 58 trees, that is 0.95 s per million rows. ``lleaves`` compiles a model's trees with
LLVM into one function over rows: 0.31 s for the same rows, 0.10 s against 0.49 s for the
revenue model (``benchmarks/scoring.py``, ``compiled_predict_s``). lleaves and llvmlite are the
optional extra ``quaywatch[compiled]`` (llvmlite has no wheel for every Python); without them
LightGBM predicts every batch, and nothing else changes.

**The same predictions, bit for bit.** Compiled with every tree in one block (``fblocksize`` =
the number of trees), the function adds the trees' outputs one after the other from zero, as
LightGBM does, and applies the same objective function (sigmoid, exp) through the same C
library. lleaves' default blocks of 34 trees add them in another order and differ in the last
bit (a test shows it). A compiled model is used only once it gave LightGBM's predictions on a
probe (``probe``: rows at, just above and just below every threshold of every split, every
category a split names, missing, zero, infinite values) when it is compiled or loaded, and
again on the first ``CHECK_ROWS`` rows of each large batch, before that batch's predictions
are used. One difference is known and left out of the probe: LightGBM reads a value within
1e-35 of zero as zero, the compiled model as it is; no feature holds such values. Any other
difference, a missing lleaves or a failed compilation, and LightGBM predicts.

**Compiled explicitly, once per machine.** Compiling takes about 0.6 s for 58 trees of 31
leaves and grows with the number of leaves (6-11 s for 300 trees of 63). Inlining the trees
into the loop would predict faster still but compiles in time that grows much faster than the
model; it is off. ``compile_model`` is a step of its own: ``quaywatch train``, the promotion of
a retrained model and ``quaywatch model compile`` (for a model folder copied to another
machine) run it, through ``RiskModel.compile``. It keeps the object in the model's folder,
under ``compiled/``, written under a temporary name and renamed (a reader finds it whole or not
at all). Its name holds a hash of the model text, the compiler versions, the host CPU and the
options (it is machine code for this CPU: on another machine it is not used, and LightGBM
predicts until the model is compiled there) and a hash of its own bytes, checked before
loading (an object cut short is never handed to LLVM). ``load`` (what loading a model runs)
only loads a sound object for this machine: it never compiles and never writes in the folder,
so a loaded model is a value that any number of threads can predict with. Deleting
``compiled/`` only costs a compilation. Batches of fewer than ``MIN_ROWS`` rows call LightGBM:
on them the compiled model would not pay back and a few milliseconds do not matter.

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

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from quaywatch.errors import ModelError

#: Batches from this many rows predict with the compiled model.
MIN_ROWS = 100_000
#: Rows of the probe, and first rows of each large batch, on which the compiled model must
#: give LightGBM's predictions before its own are used.
CHECK_ROWS = 2_048
#: The folder, inside a model's folder, of its compiled objects.
FOLDER = "compiled"
#: LightGBM's ``kZeroThreshold``: it reads a value at most this far from zero as zero.
_ZERO = 1.0000000180025095e-35

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
    """Whether models can be compiled here (the extra ``quaywatch[compiled]`` is installed)."""
    return _compiler() is not None


class Forest:
    """A compiled model: ``predict`` gives what ``lightgbm.Booster.predict`` gives.

    Immutable once built; ``predict`` may run on any number of threads at once (the compiled
    function only reads the model and writes into a fresh array).
    """

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


def compile_model(booster: lgb.Booster, folder: Path | None) -> Forest | None:
    """``booster`` compiled for this machine and checked; None where it cannot be used.

    The explicit step (``RiskModel.compile``). With ``folder`` (the model's folder) the object
    is kept in ``folder/compiled``, written atomically; a sound object already there is loaded
    instead of compiled again. None, and nothing kept, where lleaves is not installed, the
    compiler fails or the compiled model differs from LightGBM on the probe. A ``ModelError``
    when the object cannot be written into ``folder``.
    """
    found = _compiler()
    text = booster.model_to_string()
    name = key(text, booster.num_trees())
    if found is None or name is None:
        return None
    cache = None if folder is None else folder / FOLDER
    kept = None if cache is None else _sound(cache, name)
    built = _build(found[0], text, booster.num_trees(), kept)
    if built is None or not _agrees(built[0], booster, probe(booster)):
        return None
    forest, content = built
    if cache is not None and kept is None:
        _keep(content, cache, name)
    return forest


def load(booster: lgb.Booster, folder: Path) -> Forest | None:
    """The object kept in ``folder/compiled`` for ``booster`` on this machine, checked; or None.

    What loading a model runs: it never compiles and never writes in ``folder``. A folder
    without compiled objects answers without importing the compiler.
    """
    cache = folder / FOLDER
    if not any(cache.glob("*.o")):
        return None
    found = _compiler()
    text = booster.model_to_string()
    name = key(text, booster.num_trees())
    if found is None or name is None:
        return None
    kept = _sound(cache, name)
    if kept is None:
        return None
    built = _build(found[0], text, booster.num_trees(), kept)
    if built is None or not _agrees(built[0], booster, probe(booster)):
        return None
    return built[0]


def _build(lleaves: Any, text: str, trees: int, kept: bytes | None) -> tuple[Forest, bytes] | None:
    """The model ``text`` compiled, or loaded from the object bytes ``kept``, and its object.

    Everything lleaves reads and writes is in a private scratch folder: a kept object is
    handed over as the bytes whose hash was checked, never read again from the model's folder.
    """
    with tempfile.TemporaryDirectory(prefix="quaywatch-compile-") as scratch:
        model_file = Path(scratch) / "model.txt"
        model_file.write_text(text, encoding="utf-8")
        obj = Path(scratch) / "model.o"
        if kept is not None:
            obj.write_bytes(kept)
        try:
            model = lleaves.Model(model_file=str(model_file))
            # lleaves loads ``cache`` where it exists, else compiles and writes it there.
            model.compile(cache=str(obj), **_options(trees))
            content = obj.read_bytes()
        except Exception:  # noqa: BLE001 - any compiler failure falls back to LightGBM
            return None
    return Forest(model), content


def _agrees(forest: Forest, booster: lgb.Booster, rows: Floats) -> bool:
    """Whether ``forest`` gives LightGBM's predictions on ``rows``, to the last bit."""
    return bool(np.array_equal(forest.predict(rows), booster.predict(rows)))


def checked_predict(forest: Forest, booster: lgb.Booster, matrix: Floats) -> Floats | None:
    """``forest``'s predictions of ``matrix``; None where its first ``CHECK_ROWS`` rows differ
    from LightGBM's (the caller then predicts with LightGBM).

    Reads, never writes, its arguments, so the check keeps no state and runs for every batch:
    4-9 ms per model (measured on two shared cores), against 0.1-0.2 s to predict the
    100,000 rows or more of a batch that reaches it.
    """
    if not _agrees(forest, booster, matrix[:CHECK_ROWS]):
        return None
    return forest.predict(matrix)


def probe(booster: lgb.Booster) -> Floats:
    """``CHECK_ROWS`` rows that walk every branch of ``booster`` at its edges, seeded.

    Each column draws from the values a split decides on: each threshold and the floats just
    above and below it, the categories a split names and the one after the last, missing
    (NaN), zero and infinite values. Values within 1e-35 of zero other than zero are left out
    (LightGBM reads them as zero, the compiled model does not; see the module docstring).
    """
    numbers: list[set[float]] = [set() for _ in range(booster.num_feature())]
    categories: list[set[int]] = [set() for _ in range(booster.num_feature())]
    for tree in booster.dump_model()["tree_info"]:
        nodes = [tree["tree_structure"]]
        while nodes:
            node = nodes.pop()
            if "split_feature" not in node:
                continue
            feature = int(node["split_feature"])
            if node["decision_type"] == "==":
                categories[feature].update(int(c) for c in str(node["threshold"]).split("||"))
            else:
                numbers[feature].add(float(node["threshold"]))
            nodes += [node["left_child"], node["right_child"]]
    rng = np.random.default_rng(0)
    rows = np.empty((CHECK_ROWS, booster.num_feature()), dtype=np.float64)
    for column, (cuts, codes) in enumerate(zip(numbers, categories, strict=True)):
        at = np.array(sorted(cuts), dtype=np.float64)
        edges = np.concatenate([at, np.nextafter(at, np.inf), np.nextafter(at, -np.inf)])
        values = np.concatenate([
            [np.nan, 0.0, -0.0, np.inf, -np.inf],
            edges[(edges == 0) | (np.abs(edges) > _ZERO)],
            np.arange(max(codes) + 2 if codes else 0, dtype=np.float64),
        ])  # fmt: skip
        rows[:, column] = rng.choice(values, size=CHECK_ROWS)
    return rows


def _sound(cache: Path, name: str) -> bytes | None:
    """The bytes of the saved object ``name`` whose hash matches its file name, if any."""
    for candidate in sorted(cache.glob(f"{name}-*.o")):
        try:
            content = candidate.read_bytes()
        except OSError:
            continue
        if candidate.stem == f"{name}-{_digest(content)}":
            return content
    return None


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


def _keep(content: bytes, cache: Path, name: str) -> None:
    """Save the object in the model's folder under its final name: whole, or not at all."""
    try:
        cache.mkdir(exist_ok=True)
        handle, aside = tempfile.mkstemp(dir=cache, prefix=f".{name}-", suffix=".part")
    except OSError as exc:
        raise ModelError(f"cannot write the compiled model into {cache}: {exc}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(aside, cache / f"{name}-{_digest(content)}.o")
    except OSError as exc:
        Path(aside).unlink(missing_ok=True)
        raise ModelError(f"cannot write the compiled model into {cache}: {exc}") from None
