"""What every ``quaywatch`` command module shares: how a moment is typed and read.

A moment on the command line is a date (``2026-12-10``), a UTC time (``2026-12-10T06:00:00``)
or a time with its offset (``2026-12-10T06:00:00+01:00``); a moment without a zone is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC time; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
