"""Checks of the values a caller hands a service, shared by every service module.

A value a person or a client chose (a period, a share of capacity, a limit) that cannot be
used is an ``InputError`` naming the argument: the CLI exits with code 2, the API answers 422.
``ConfigurationError`` stays for the deployment's own settings.
"""

from __future__ import annotations

from datetime import UTC, datetime

from quaywatch.errors import InputError


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC time; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def require_aware(name: str, moment: datetime | None) -> None:
    """Refuse a naive time where the caller must say which zone it means."""
    if moment is not None and moment.tzinfo is None:
        raise InputError(f"{name} must be a timezone-aware time, got {moment.isoformat()}")


def check_interval(what: str, start: tuple[str, datetime], end: tuple[str, datetime]) -> None:
    """Refuse an interval ``[start, end)`` with a naive bound or that ends before it starts.

    ``start`` and ``end`` are (argument name, moment), so the message names both arguments.
    """
    (start_name, start_at), (end_name, end_at) = start, end
    require_aware(start_name, start_at)
    require_aware(end_name, end_at)
    if end_at <= start_at:
        raise InputError(
            f"the {what} ends before it starts: {end_name} {end_at.isoformat()} is not after "
            f"{start_name} {start_at.isoformat()}"
        )


def check_capacity_pct(capacity_pct: float) -> None:
    """Refuse a share of consignments controlled outside (0, 100] percent."""
    if not 0 < capacity_pct <= 100:
        raise InputError(f"capacity_pct must be above 0 and at most 100, got {capacity_pct:g}")


def check_at_least(name: str, value: int, minimum: int = 1) -> None:
    """Refuse a count below ``minimum``."""
    if value < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {value}")


def check_identifier(name: str, value: str, *, max_length: int = 35) -> None:
    """An id as the store keeps them: 1 to ``max_length`` characters, no control character."""
    if not value or len(value) > max_length:
        raise InputError(f"{name} must have 1 to {max_length} characters, got {len(value)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InputError(f"{name} {value!r} contains a control character")
