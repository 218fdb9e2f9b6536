"""Settings, read once from the environment (prefix ``QUAYWATCH_``) or a ``.env`` file.

Nothing else in quaywatch reads ``os.environ``: pass a ``Settings`` object down instead.
"""

from __future__ import annotations

import typing
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import annotated_types
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from quaywatch.audit.signing import AuditKey, load_key
from quaywatch.errors import ConfigurationError
from quaywatch.intake.decode import Limits, time_zone
from quaywatch.learning.options import MIN_HITS

if TYPE_CHECKING:
    from quaywatch.intake.fields import Plausible
    from quaywatch.intake.options import IntakeOptions

#: Addresses that only this machine reaches: ``quaywatch serve``'s default, and where the API
#: may set its session cookie without ``Secure`` (plain HTTP never leaves the machine).
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class Settings(BaseSettings):
    """quaywatch settings with safe defaults for one analyst on one machine."""

    model_config = SettingsConfigDict(
        env_prefix="QUAYWATCH_", env_file=".env", extra="ignore", allow_inf_nan=False
    )

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
    lock_timeout_s: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        description=(
            "Seconds a command or request waits for a lock another connection holds on the "
            "store before it gives up with a message to try again (HTTP 503 with Retry-After; "
            "exit code 75), nothing written. Unset: 30 on SQLite (another process's import); "
            "on PostgreSQL the server's lock_timeout, by default none, so that writers queue "
            "behind each other (two imports at once both complete)."
        ),
    )
    batch_size: int = Field(
        default=50_000,
        ge=1,
        le=5_000_000,
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
    edifact_time_zone: str | None = Field(
        default=None,
        description=(
            "Time zone (IANA name, e.g. Europe/Brussels) in which an EDIFACT time written "
            "without a UTC offset (DTM formats 203 and 204) is read. Unset: such a time is "
            "refused, and its consignment quarantined, since when it was known must be exact."
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
        le=1_000_000,
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
        le=1_000_000,
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
    reference_dir: Path | None = Field(
        default=None,
        description=(
            "Site reference directory: CSV files that add to or replace the reference data "
            "shipped with quaywatch (ports.csv, harmonized-system.csv, tariff.csv, "
            "exchange-rates.csv, with the shipped columns; docs/reference-data.md). Checked when "
            "a command or the server starts: a bad file stops it, naming file, line and field. "
            "`quaywatch reference list` shows what is in use, `quaywatch reference check` checks "
            "a directory."
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
    audit_key_file: Path | None = Field(
        default=None,
        description=(
            "File holding the audit key (at least 32 bytes; `quaywatch audit keygen --to FILE` "
            "makes one). When set, every audit event is signed with it (HMAC-SHA256), "
            "`quaywatch audit anchor --to FILE` exports a signed anchor, and `quaywatch audit "
            "verify` checks the signatures: keep the file outside the database and its backups "
            "(docs/reliability.md). Every process that writes to the store needs it once set."
        ),
    )
    key_dir: Path = Field(
        default=Path("keys"),
        description=(
            "Folder of this administration's private exchange keys (Ed25519, one PEM file per "
            "key, mode 0600): `quaywatch keys generate` and `keys rotate` write them there, "
            "`quaywatch exchange send` signs with them. Never in the database; keep it off "
            "shared disks and back it up apart (docs/exchange.md)."
        ),
    )
    exchange_push_interval_s: float = Field(
        default=0.0,
        ge=0.0,
        le=3600.0,
        description=(
            "Seconds between two passes of the exchange outbox's HTTP push inside `quaywatch "
            "serve` (and the API server): 0, the default, leaves the push to `quaywatch exchange "
            "push`, run as its own service; set it (e.g. 5) on one server to push from there. "
            "The state of every message is in the store, so both may run (docs/exchange.md)."
        ),
    )
    exchange_push_base_s: float = Field(
        default=30.0,
        gt=0.0,
        le=86400.0,
        description=(
            "Seconds before the first retry of a push that failed; each further retry waits "
            "twice as long, up to exchange_push_max_s."
        ),
    )
    exchange_push_max_s: float = Field(
        default=3600.0,
        gt=0.0,
        le=86400.0,
        description="Longest wait, in seconds, between two retries of a push.",
    )
    exchange_push_timeout_s: float = Field(
        default=10.0,
        gt=0.0,
        le=300.0,
        description="Seconds a push waits for a partner's inbox to answer.",
    )
    actor: str = Field(
        default="system",
        min_length=1,
        max_length=128,
        description=(
            "Name recorded in the audit trail for changes made by this process (1 to 128 "
            "printable characters, as the audit trail stores it)."
        ),
    )
    earliest_date: date = Field(
        default=date(1990, 1, 1),
        description=(
            "Earliest day a time in an imported record may fall on (lodging, arrival, container "
            "event, control); a record with an earlier one is quarantined naming the field "
            "(docs/formats.md, plausible ranges)."
        ),
    )
    years_ahead: int = Field(
        default=2,
        ge=0,
        le=50,
        description=(
            "How many years after now a time in an imported record may lie (estimated arrivals "
            "and planned events are ahead); a later one is quarantined naming the field."
        ),
    )
    max_item_mass_kg: float = Field(
        default=250_000_000.0,
        gt=0,
        allow_inf_nan=False,
        description=(
            "Largest gross mass of one goods item, in kg: by default a large container ship's "
            "deadweight (250,000 t). A heavier item is quarantined naming the field."
        ),
    )
    max_value_eur: float = Field(
        default=1e10,
        gt=0,
        allow_inf_nan=False,
        description=(
            "Largest value of one goods item (at the reference exchange rate; in a currency "
            "without one, this many times 100,000 of its units) and largest revenue recovered "
            "by one control, in EUR. A larger one is quarantined naming the field."
        ),
    )
    max_seizure_quantity: float = Field(
        default=1e10,
        gt=0,
        allow_inf_nan=False,
        description="Largest quantity one seizure may record, in its unit (pieces, kg, litres).",
    )

    @field_validator("earliest_date")
    @classmethod
    def _earliest_date_passed(cls, value: date) -> date:
        if value >= datetime.now(UTC).date():
            raise ValueError("must be a day before today")
        return value

    def plausible(self) -> Plausible:
        """The ranges intake holds imported times and amounts to."""
        from quaywatch.intake.fields import Plausible

        return Plausible(
            earliest_date=self.earliest_date,
            years_ahead=self.years_ahead,
            max_item_mass_kg=self.max_item_mass_kg,
            max_value_eur=self.max_value_eur,
            max_seizure_quantity=self.max_seizure_quantity,
        )

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        if not url.startswith(_BACKENDS):
            # The value is not repeated: a URL may hold a password.
            raise ValueError("must start with sqlite:/// or postgresql://")
        return url

    @field_validator("model_dir", mode="before")
    @classmethod
    def _named(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():  # "" would be the working directory
            raise ValueError("must name a folder")
        return value

    @field_validator("model_dir")
    @classmethod
    def _a_folder(cls, path: Path) -> Path:
        if path.exists() and not path.is_dir():
            raise ValueError(f"{path} is a file, not a folder")
        return path

    @field_validator("capacity_file")
    @classmethod
    def _an_existing_file(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"{path} is not a file")
        return path

    @field_validator("edifact_time_zone")
    @classmethod
    def _a_time_zone(cls, name: str | None) -> str | None:
        if name is not None:
            time_zone(name)
        return name

    @field_validator("reference_dir")
    @classmethod
    def _a_directory(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_dir():
            raise ValueError(f"{path} is not a directory")
        return path

    @field_validator("actor")
    @classmethod
    def _printable(cls, actor: str) -> str:
        if not actor.strip() or any(unicodedata.category(c).startswith("C") for c in actor):
            raise ValueError("must hold printable characters only, not only spaces")
        return actor

    @field_validator("audit_key_file")
    @classmethod
    def _audit_key_readable(cls, path: Path | None) -> Path | None:
        if path is not None:
            try:
                load_key(path)
            except ConfigurationError as exc:
                raise ValueError(exc.message.removeprefix("QUAYWATCH_AUDIT_KEY_FILE ")) from None
        return path

    def audit_key(self) -> AuditKey | None:
        """The audit key the settings name, read from its file (None if none is set)."""
        return None if self.audit_key_file is None else load_key(self.audit_key_file)


#: The store URLs quaywatch opens (``store.database.make_engine`` checks the rest).
_BACKENDS = ("sqlite:", "postgresql:", "postgresql+psycopg:")


def allowed(name: str) -> str:
    """What setting ``name`` accepts, in words, from its type and bounds.

    >>> allowed("control_capacity_pct")
    'a number above 0 and at most 100'
    """
    field = Settings.model_fields[name]
    bounds: list[str] = []
    for limit in field.metadata:
        for kind, words in _BOUND_WORDS.items():
            value = getattr(limit, kind, None)
            if isinstance(limit, annotated_types.BaseMetadata) and value is not None:
                shown = f"{value:,}" if isinstance(value, int) else f"{value:g}"
                bounds.append(words.format(shown))
    args = typing.get_args(field.annotation) or (field.annotation,)
    types = [t for t in args if t is not type(None)]
    optional = type(None) in typing.get_args(field.annotation)
    kind = {int: "a whole number", float: "a number", bool: "true or false"}.get(
        types[0] if types and isinstance(types[0], type) else object, ""
    )
    if name in _TEXT_RULES or not kind:
        return _TEXT_RULES.get(name, "text")
    unset = ", or unset" if optional else ""
    return f"{kind} {' and '.join(bounds)}{unset}" if bounds else f"{kind}{unset}"


_BOUND_WORDS = {
    "ge": "of at least {}",
    "gt": "above {}",
    "le": "at most {}",
    "lt": "below {}",
    "min_length": "of at least {} characters",
    "max_length": "of at most {} characters",
}
_TEXT_RULES = {
    "database_url": "a store URL: sqlite:///PATH or postgresql://USER@HOST:PORT/NAME",
    "model_dir": "a folder (created when the first model is trained)",
    "key_dir": "a folder (created with mode 0700 when the first key is generated)",
    "capacity_file": "an existing capacity file (YAML), or unset",
    "reference_dir": "an existing site reference directory (docs/reference-data.md), or unset",
    "actor": "a name of 1 to 128 printable characters",
    "earliest_date": "a date (YYYY-MM-DD) before today",
    "audit_key_file": "a readable key file of at least 32 bytes (quaywatch audit keygen), or unset",
    "edifact_time_zone": "an IANA time zone name (e.g. Europe/Brussels), or unset",
}


def _problem(error: Any) -> str:
    """One failed setting as ``QUAYWATCH_NAME: what is wrong (allowed: ...)``."""
    name = str(error["loc"][0]) if error["loc"] else ""
    variable = f"QUAYWATCH_{name.upper()}"
    if name not in Settings.model_fields:
        return f"{variable}: {error['msg']}"
    message = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    # Numbers are shown as given (they hold no secret); text never is (a URL's password).
    shown = (
        f" (got {given!r})"
        if name != "database_url" and isinstance(given, str) and len(given) <= 40
        else ""
    )
    return f"{variable}: {message}{shown}; allowed: {allowed(name)}"


def read_intake_options(settings: Settings) -> IntakeOptions:
    """How intake reads and checks records, as the settings say: the plausible ranges
    (``QUAYWATCH_EARLIEST_DATE`` ...), what one record may hold (``QUAYWATCH_MAX_*``) and the
    zone of EDIFACT times without an offset (``QUAYWATCH_EDIFACT_TIME_ZONE``)."""
    from quaywatch.intake.options import IntakeOptions

    limits = Limits(
        max_depth=settings.max_nesting_depth,
        max_field_chars=settings.max_field_chars,
        max_record_bytes=settings.max_record_bytes,
        local_time_zone=settings.edifact_time_zone,
    )
    return IntakeOptions(plausible=settings.plausible(), limits=limits)


def load_settings() -> Settings:
    """Read settings from the environment and ``.env``.

    A value that cannot be used raises ``ConfigurationError`` naming each variable at fault
    and what it accepts, never a traceback (and never echoing a database URL: it may hold a
    password).
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise ConfigurationError(f"invalid setting: {problems}") from None
