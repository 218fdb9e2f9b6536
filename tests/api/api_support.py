"""Helpers of the HTTP API tests (the fixtures are in conftest.py).

- ``consignment(n)``: a valid consignment record, different for each n;
- ``Api``: the application under test through Starlette's test client, with users made on
  demand (``as_roles``);
- ``make_api``: that ``Api`` over a store, with a models folder;
- ``kept_state_is_rebuilt``: whether the entity state kept as data arrived equals the one
  computed afresh from the stored history (and is not empty).
"""

from __future__ import annotations

import copy
import functools
import itertools
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from stdnum import iso6346

from quaywatch.api.app import create_app
from quaywatch.api.schemas import EXAMPLE_CONSIGNMENT
from quaywatch.config import Settings
from quaywatch.domain.access import Role
from quaywatch.intake import entity_state
from quaywatch.services import accounts, exchange as ex
from quaywatch.store import tables
from quaywatch.store.store import Store

_users = itertools.count(1)


def container(n: int) -> str:
    prefix = f"MSCU{n % 1_000_000:06d}"
    return prefix + iso6346.calc_check_digit(prefix)


def consignment(n: int, **changes: Any) -> dict[str, Any]:
    """A valid consignment record, different for each ``n``."""
    record = copy.deepcopy(EXAMPLE_CONSIGNMENT)
    box = container(n)
    record["consignment_id"] = f"261206-BEANR-{n:07d}"
    record["transport_document"] = f"MSCU{n:010d}"
    record["goods_items"][0]["container_number"] = box
    record["goods_items"][0]["value"] = 1000.0 + n
    record["containers"][0]["number"] = box
    record["containers"][0]["seals"][0]["number"] = f"SL{n:08d}"
    record.update(changes)
    return record


@dataclass
class Api:
    """The application under test, its store and settings, and users made on demand."""

    client: TestClient
    store: Store
    settings: Settings
    made: dict[tuple[frozenset[Role], frozenset[str]], dict[str, str]] = field(default_factory=dict)

    def as_roles(self, *roles: Role, terminals: tuple[str, ...] = ()) -> dict[str, str]:
        """Authorization headers of a user holding ``roles`` (made once per set of roles); a
        token carrying ``partner_node`` is bound to the partner BEANR."""
        key = (frozenset(roles), frozenset(terminals))
        if key not in self.made:
            name = f"user{next(_users)}"
            accounts.add_user(self.store, name, roles=list(roles), terminals=terminals,
                              actor="admin")  # fmt: skip
            partner = "BEANR" if Role.PARTNER_NODE in roles else None
            if partner is not None and not any(
                p.administration == partner for p in ex.list_partners(self.store)
            ):
                ex.add_partner(self.store, beanr_root(), actor="admin")
            issued = accounts.create_token(self.store, name, name="tests", partner=partner,
                                           actor="admin")  # fmt: skip
            self.made[key] = {"Authorization": f"Bearer {issued.token}"}
        return self.made[key]

    def get(self, path: str, *roles: Role, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.as_roles(*roles), **kwargs)

    def post(self, path: str, *roles: Role, **kwargs: Any) -> Any:
        return self.client.post(path, headers=self.as_roles(*roles), **kwargs)


def make_api(store: Store, store_url: str, model_dir: Path) -> Iterator[Api]:
    settings = Settings(database_url=store_url, model_dir=model_dir)
    with TestClient(create_app(settings, store=store), base_url="https://testserver") as client:
        yield Api(client, store, settings)


def _state_rows(store: Store) -> list[tuple[object, ...]]:
    s = tables.entity_states
    with store.reading() as conn:
        return [tuple(r) for r in conn.execute(select(s).order_by(s.c.entity, s.c.entity_key,
                                                                  s.c.at))]  # fmt: skip


def kept_state_is_rebuilt(store: Store) -> bool:
    """Whether the kept entity state equals a rebuild from the history (and holds rows)."""
    kept = _state_rows(store)
    with store.transaction() as conn:
        entity_state.rebuild(store, conn)
    return bool(kept) and _state_rows(store) == kept


@functools.cache
def beanr_root() -> Path:
    """The root file of a partner BEANR (made once per test process): a partner_node token is
    bound to a registered partner."""
    folder = Path(tempfile.mkdtemp(prefix="beanr-root-"))
    beanr = Store.open(f"sqlite:///{folder / 'beanr.db'}")
    try:
        ex.generate_keys(beanr, folder / "keys", "BEANR", actor="admin")
        ex.export_root(beanr, folder / "BEANR.root")
    finally:
        beanr.close()
    return folder / "BEANR.root"
