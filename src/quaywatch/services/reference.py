"""Use cases of the reference data: put a site directory in use, list what is in use, check a
directory before putting it in use (``domain.reference`` holds the lists and the checks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from quaywatch.domain import reference
from quaywatch.errors import ReferenceProblem


@dataclass(frozen=True, slots=True)
class Listing:
    """The reference data in use: its version, the site directory, every file, the known ports."""

    version: str
    un_locode_edition: str
    site_dir: str | None
    files: tuple[reference.ReferenceFile, ...]
    known_ports: int


@dataclass(frozen=True, slots=True)
class Check:
    """What checking a site directory found: its problems (none: it may be used), and, when it
    may, the listing it would give."""

    site_dir: str
    problems: tuple[ReferenceProblem, ...]
    listing: Listing | None

    @property
    def ok(self) -> bool:
        """Whether the directory may be used as it is."""
        return not self.problems


def activate(site_dir: Path | None) -> str:
    """Put ``site_dir`` in use for this process (None: the shipped lists alone); its version.

    A directory with a bad file raises ``ReferenceDataError`` naming every problem, and the
    reference data in use does not change.
    """
    return reference.use(site_dir).version


def listing(site_dir: Path | None) -> Listing:
    """What ``site_dir`` with the shipped lists gives (raises ``ReferenceDataError`` if bad)."""
    found = reference.load(site_dir)
    return Listing(
        version=found.version,
        un_locode_edition=reference.UN_LOCODE_EDITION,
        site_dir=None if site_dir is None else str(site_dir),
        files=found.files,
        known_ports=len(found.known_ports),
    )


def check(site_dir: Path) -> Check:
    """Every problem of ``site_dir``'s files, without putting it in use."""
    problems = tuple(reference.check_site_dir(site_dir))
    return Check(str(site_dir), problems, None if problems else listing(site_dir))
