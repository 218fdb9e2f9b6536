"""Route and event anomalies: what a container's journey says that its declaration does not.

Container events (DCSA track and trace) show where a box went, how long it waited and which
seals it carried. Rip-on/rip-off smuggling and other interference with boxes in transit leave
marks there: a seal number that changes, a box opened at a hub, an abnormal wait, a call at a
port not on the route, a box handled before its declaration existed, and routes that nobody
used before. Each detector is a module of its own; ``detect`` runs them all and returns hits
(``risk.hits``) for the engine. ``reads.stale`` says which consignments have received events
since they were last assessed, so a scoring run can look at them again; a live run's
baselines are those of the start of its day (``daily``). ``docs/anomalies.md``
explains every detector to analysts.
"""

from quaywatch.risk.anomaly.detect import DETECTORS, Detector, detect, detect_store, findings
from quaywatch.risk.anomaly.reads import stale

__all__ = ["DETECTORS", "Detector", "detect", "detect_store", "findings", "stale"]
