"""Settings, read once from the environment (prefix ``QUAYWATCH_``) or a ``.env`` file.

Nothing else in quaywatch reads ``os.environ``: pass a ``Settings`` object down instead.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from quaywatch.errors import ConfigurationError
from quaywatch.intake.decode import Limits
from quaywatch.learning.options import MIN_HITS

#: Addresses that only this machine reaches: ``quaywatch serve``'s default, and where the API
#: may set its session cookie without ``Secure`` (plain HTTP never leaves the machine).
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class Settings(BaseSettings):
    """quaywatch settings with safe defaults for one analyst on one machine."""

    model_config = SettingsConfigDict(env_prefix="QUAYWATCH_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./quaywatch.db",
        description=(
            "SQLAlchemy URL of the store. The default is an embedded SQLite file in the working "
            "directory (WAL mode); production uses PostgreSQL, e.g. "
            "postgresql+psycopg://user@host:5432/quaywatch."
        ),
    )
    auto_migrate: bool = Field(
        default=True,
        description=(
            "Bring the database schema to the newest migration when a command opens the store. "
            "Operators of a shared PostgreSQL store set this to false and run "
            "`quaywatch db upgrade` as a deliberate step."
        ),
    )
    batch_size: int = Field(
        default=50_000,
        ge=1,
        description=(
            "Records read, validated and written together during an import. Memory use grows "
            "with this number, never with the file size."
        ),
    )
    max_record_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description=(
            "Largest record an import reads, in bytes (a CSV record, a JSON line, an item of a "
            "JSON array): 16 MiB by default. A larger one is quarantined with the limit named "
            "(only its first KiB kept); docs/formats.md says when a CSV file is refused instead."
        ),
    )
    max_field_chars: int = Field(
        default=65_536,
        ge=1,
        description=(
            "Longest field an import reads, in characters: 65,536 by default. A record with a "
            "longer field is quarantined with the field and the limit named."
        ),
    )
    max_nesting_depth: int = Field(
        default=32,
        ge=2,
        le=500,
        description=(
            "Deepest nesting of objects and lists in a JSON record an import reads: 32 by "
            "default (a consignment needs 5). A deeper record is quarantined with the limit "
            "named."
        ),
    )
    control_capacity_pct: float = Field(
        default=3.0,
        gt=0,
        le=100,
        description=(
            "Share of consignments the control capacity can cover, in percent (scanners and "
            "officers available for the traffic). Evaluation reports precision, recall and "
            "revenue caught at this capacity; `quaywatch evaluate --capacity-pct` overrides it."
        ),
    )
    hit_saturation_pct: float = Field(
        default=20.0,
        gt=0,
        le=100,
        description=(
            "Share of consignments, in percent, above which a hit code (a profile rule, an "
            "anomaly detector, a screening or graph hit) saturates: `quaywatch weights fit` damps "
            "its weight in the set it fits (scoring then applies that set) and every scoring run "
            "reports a code firing on more than this share of its batch, so that a code firing on "
            "most of the traffic cannot push it all above the review line unnoticed "
            "(docs/risk-engine.md)."
        ),
    )
    hit_prior_strength: float = Field(
        default=30.0,
        gt=0,
        description=(
            "How many controls the shipped weight of a hit code is worth when `quaywatch weights "
            "fit` and `quaywatch retrain` fit it on the port's own outcomes: a code controlled "
            "this many times moves half way from its shipped weight to what the port saw "
            "(docs/learning-loop.md)."
        ),
    )
    train_min_hits: int = Field(
        default=MIN_HITS,
        ge=1,
        description=(
            "Fewest hits (controls that found something) `quaywatch train` and `quaywatch "
            "retrain` learn a model from. Below it they refuse and say what to do instead "
            "(random controls, risk profiles, the label-free component, fitted hit weights): "
            "a model from a few dozen hits ranks at about random. `--allow-few-hits` trains "
            "anyway, with a warning in the output and in the model."
        ),
    )
    model_dir: Path = Field(
        default=Path("models"),
        description=(
            "Folder of trained risk models: `quaywatch train` adds a version there and makes it "
            "current (the `CURRENT` file); `quaywatch score` uses the current one."
        ),
    )
    capacity_file: Path | None = Field(
        default=None,
        description=(
            "Capacity file (YAML: scanners and officers per terminal and shift) that selection "
            "runs started through the API use; unset: the one shipped with quaywatch. "
            "`quaywatch select --capacity` names one per run."
        ),
    )
    attachment_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1,
        le=100 * 1024 * 1024,
        description=(
            "Largest file, in bytes, that may be attached to an inspection order (a photo of the "
            "findings, a scanned document): 10 MiB by default, at most 100 MiB, since the "
            "content is kept in the database itself. A larger upload is refused with the limit "
            "named."
        ),
    )
    actor: str = Field(
        default="system",
        description="Name recorded in the audit trail for changes made by this process.",
    )


def read_limits(settings: Settings) -> Limits:
    """What one record of an import may hold, as the settings say (``QUAYWATCH_MAX_*``)."""
    return Limits(
        max_depth=settings.max_nesting_depth,
        max_field_chars=settings.max_field_chars,
        max_record_bytes=settings.max_record_bytes,
    )


def load_settings() -> Settings:
    """Read settings from the environment and ``.env``.

    A value that cannot be used raises ``ConfigurationError`` naming the variable, never a
    traceback (and never echoing the value: it may be a database password).
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"QUAYWATCH_{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigurationError(f"invalid setting: {problems}") from None
