"""How intake reads and checks records: one value every reader, check and retry takes.

``IntakeOptions`` holds what an administration may set for intake (``config``): the plausible
ranges of times and amounts (``fields.Plausible``) and what one record may hold, with the zone
of times written without an offset (``decode.Limits``). A file import, a submission of records
and a quarantine retry all take the one value, so none can be checked with one part of the
settings and read with another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from quaywatch.intake.decode import Limits
from quaywatch.intake.fields import PLAUSIBLE, Plausible


@dataclass(frozen=True, slots=True)
class IntakeOptions:
    """The settings of intake: ``plausible`` ranges and record ``limits`` (module docstring)."""

    plausible: Plausible = PLAUSIBLE
    limits: Limits = field(default_factory=Limits)


#: The defaults: every range and limit as ``Plausible`` and ``Limits`` set them.
DEFAULT_OPTIONS = IntakeOptions()
