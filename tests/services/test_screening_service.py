"""The screening services on SQLite and PostgreSQL: load and list watchlists, screen a name."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from quaywatch.errors import InputError, RecordError
from quaywatch.services.screening import list_watchlists, load_watchlist, screen_name
from quaywatch.store import tables
from quaywatch.store.store import Store

EXAMPLE = Path(__file__).parents[2] / "examples" / "watchlist.csv"
HEADER = "entry_id,name,address,country,identifiers,category,note\n"


def _write(path: Path, *rows: str) -> Path:
    path.write_text(HEADER + "\n".join(rows) + "\n", "utf-8")
    return path


def _audit(store: Store) -> list[tuple[str, str, str]]:
    a = tables.audit_events
    query = select(a.c.action, a.c.object_id, a.c.actor).order_by(a.c.seq)
    with store.reading() as conn:
        return [tuple(r) for r in conn.execute(query).all()]


def test_load_list_and_replace_a_watchlist(store: Store, tmp_path: Path) -> None:
    first = load_watchlist(store, EXAMPLE, watchlist_id="EX", source="fictional",
                           list_date="2026-01-01", actor="analyst")  # fmt: skip
    assert (first.watchlist_id, first.entries, first.changed, first.replaced) == ("EX", 6, True, 0)
    again = load_watchlist(store, EXAMPLE, watchlist_id="EX", source="fictional",
                           list_date=date(2026, 1, 1), actor="analyst")  # fmt: skip
    assert (again.entries, again.changed) == (6, False)
    (listed,) = list_watchlists(store)
    assert (listed.watchlist_id, listed.source, listed.list_date, listed.entries) == (
        "EX", "fictional", date(2026, 1, 1), 6
    )  # fmt: skip
    assert listed.file == str(EXAMPLE) and listed.loaded_by == "analyst"
    assert listed.loaded_at.tzinfo is not None and len(listed.content_sha256) == 64

    newer = _write(tmp_path / "new.csv", "N1,Korvanex Foods NV,,BE,,drugs,")
    replaced = load_watchlist(store, newer, watchlist_id="EX", source="fictional",
                              list_date="2026-02-01", actor="chief")  # fmt: skip
    assert (replaced.entries, replaced.changed, replaced.replaced) == (1, True, 6)
    assert [(w.entries, w.list_date) for w in list_watchlists(store)] == [(1, date(2026, 2, 1))]
    assert _audit(store) == [("watchlist.load", "EX", "analyst"), ("watchlist.load", "EX", "chief")]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"list_date": "yesterday"}, InputError, "list_date 'yesterday' is not a date"),
        ({"watchlist_id": " "}, InputError, "watchlist_id must have 1 to 64 characters"),
        ({"watchlist_id": "X" * 65}, InputError, "watchlist_id must have 1 to 64 characters"),
        ({"source": ""}, InputError, "source must say who publishes the list"),
        ({"path": Path("missing.csv")}, InputError, "missing.csv: cannot read the watchlist"),
    ],
)
def test_a_watchlist_load_refuses_bad_arguments(
    store: Store, arguments: dict[str, object], error: type[Exception], message: str
) -> None:
    given: dict[str, object] = {"path": EXAMPLE, "watchlist_id": "EX", "source": "s",
                                "list_date": "2026-01-01", **arguments}  # fmt: skip
    with pytest.raises(error, match=message):
        load_watchlist(store, actor="t", **given)  # type: ignore[arg-type]
    assert list_watchlists(store) == () and _audit(store) == []


def test_a_bad_file_names_its_line_and_field(store: Store, tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.csv", "A1,Zenith Ltd,,BE,,drugs,", "A1,Other Ltd,,BE,,drugs,")
    with pytest.raises(RecordError, match="line 3, record A1, field entry_id"):
        load_watchlist(store, bad, watchlist_id="X", source="s", list_date=date(2026, 1, 1),
                       actor="t")  # fmt: skip
    assert list_watchlists(store) == ()


def test_screen_a_name(store: Store, tmp_path: Path) -> None:
    empty = screen_name(store, "Zenith Trading")
    assert (empty.watchlists, empty.entries, empty.matches) == (0, 0, ())
    load_watchlist(store, EXAMPLE, watchlist_id="EX", source="fictional",
                   list_date=date(2026, 1, 1), actor="t")  # fmt: skip
    other = _write(tmp_path / "other.csv", "O1,Zenith Trading Limited,,BE,,fraud,")
    load_watchlist(store, other, watchlist_id="OTHER", source="s", list_date=date(2026, 3, 1),
                   actor="t")  # fmt: skip

    found = screen_name(store, "Trading Zénith Co.", country="be")
    assert (found.name, found.country, found.threshold) == ("Trading Zénith Co.", "BE", 88.0)
    assert (found.watchlists, found.entries) == (2, 7)
    assert {(m.watchlist_id, m.entry_id) for m in found.matches} == {
        ("EX", "EX-001"), ("OTHER", "O1")
    }  # fmt: skip
    best = found.matches[0]
    assert best.kind == "name" and not best.strong and best.score >= 88
    assert best.reason.startswith(f"name matches '{best.entry_name}' on watchlist")
    assert [m.score for m in found.matches] == sorted(
        (m.score for m in found.matches), reverse=True
    )

    assert len(screen_name(store, "Trading Zénith Co.", limit=1).matches) == 1
    before = screen_name(store, "Trading Zénith Co.", at=datetime(2026, 2, 1))
    assert before.watchlists == 1 and [m.entry_id for m in before.matches] == ["EX-001"]
    assert screen_name(store, "Zenith", at=datetime(2025, 1, 1, tzinfo=UTC)).watchlists == 0
    assert screen_name(store, "Completely Unrelated Name").matches == ()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "  "}, "name must not be empty"),
        ({"country": "Belgium"}, "country must be a two-letter ISO 3166 code, got 'Belgium'"),
        ({"threshold": 40.0}, "threshold must be from 50 to 100, got 40"),
        ({"threshold": 101.0}, "threshold must be from 50 to 100, got 101"),
        ({"limit": 0}, "limit must be at least 1, got 0"),
    ],
)
def test_screening_refuses_bad_arguments(
    store: Store, arguments: dict[str, object], message: str
) -> None:
    given: dict[str, object] = {"name": "Zenith", **arguments}
    with pytest.raises(InputError, match=message):
        screen_name(store, **given)  # type: ignore[arg-type]
