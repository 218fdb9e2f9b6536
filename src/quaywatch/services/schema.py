"""Use cases of the database schema: apply pending migrations, tell where the schema stands."""

from __future__ import annotations

from dataclasses import dataclass

from quaywatch.store import database
from quaywatch.store.store import Store


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """The migration the database is at (None: empty) and the newest this quaywatch ships."""

    database_revision: str | None
    code_revision: str | None

    @property
    def current(self) -> bool:
        """The database has every migration this quaywatch knows."""
        return self.database_revision == self.code_revision


def status(store: Store) -> SchemaStatus:
    """The schema revision of the database and of this quaywatch."""
    return SchemaStatus(database.current_revision(store.engine), database.head_revision())


def upgrade(store: Store) -> SchemaStatus:
    """Apply every pending migration; return where the schema stands afterwards."""
    store.upgrade()
    return status(store)
