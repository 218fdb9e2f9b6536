"""What a Spark job needs before it starts: pyspark and a Java runtime of 17 or later.

Spark 4 runs on Java 17 or 21; without one, pyspark fails deep inside its launcher with a
message about a gateway. ``check_java`` finds the Java that Spark's launcher would run (the one
under ``JAVA_HOME``, else ``java`` on the path) and says, before anything starts, what is
missing and how to install it. Nothing here imports pyspark (``quaywatch --help`` stays fast).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from quaywatch.errors import ConfigurationError

MIN_JAVA = 17
INSTALL_JAVA = (
    "Install Java 17 or later (Debian/Ubuntu: sudo apt install openjdk-17-jre-headless; "
    "elsewhere a Temurin 17 or 21 JRE) and put it on the PATH or set JAVA_HOME."
)
INSTALL_PYSPARK = "Install the Spark extra: pip install 'quaywatch[spark]' (make install does)."
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?[^"]*"')


@dataclass(frozen=True, slots=True)
class StateUpdate:
    """What an update of a lake's kept entity state did (``scale.spark.update_state``): the
    exports it folded (``first`` to ``last``; none when ``first`` > ``last``: it was current),
    the buckets it rewrote out of ``buckets``, the state's rows after it, and its seconds."""

    first: int
    last: int
    touched: int
    buckets: int
    rows: int
    seconds: float

    @property
    def folded(self) -> bool:
        """Whether anything was folded (the state was behind the lake)."""
        return self.first <= self.last


@dataclass(frozen=True, slots=True)
class SparkScoreResult:
    """What a Spark scoring job did: the period, the consignments assessed, the files written,
    the master it ran on and the seconds it took (the session start included), and what it
    folded into the lake's kept entity state first."""

    out: Path
    assessed: int
    master: str
    partitions: int
    seconds: float
    rows_per_s: float
    state: StateUpdate | None = None


def java_major(version_output: str) -> int | None:
    """The major version in ``java -version``'s output (``1.8`` is 8); None if there is none.

    >>> java_major('openjdk version "17.0.15" 2025-04-15')
    17
    >>> java_major('java version "1.8.0_392"')
    8
    """
    found = _VERSION.search(version_output)
    if found is None:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def java_command() -> str | None:
    """The Java that Spark's launcher runs: ``$JAVA_HOME/bin/java``, else ``java`` on the path."""
    # JAVA_HOME is Spark's own setting, read by its launcher, not one of quaywatch's.
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.exists() else None
    return shutil.which("java")


def check_java(java: str | None = None) -> int:
    """The major version of the Java Spark would run; a ``ConfigurationError`` saying how to
    install one when there is none or it is older than ``MIN_JAVA``."""
    command = java or java_command()
    if command is None:
        raise ConfigurationError(
            f"Spark needs Java {MIN_JAVA}+, and none was found. {INSTALL_JAVA}"
        )
    try:
        done = subprocess.run([command, "-version"], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise ConfigurationError(f"cannot run {command}: {exc}. {INSTALL_JAVA}") from exc
    major = java_major(done.stderr + done.stdout)
    if major is None:
        raise ConfigurationError(f"cannot tell the version of {command}. {INSTALL_JAVA}")
    if major < MIN_JAVA:
        raise ConfigurationError(
            f"Spark needs Java {MIN_JAVA}+, and {command} is Java {major}. {INSTALL_JAVA}"
        )
    return major


def check_pyspark() -> None:
    """A ``ConfigurationError`` saying how to install pyspark when it is not installed."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        raise ConfigurationError(f"pyspark is not installed. {INSTALL_PYSPARK}")
