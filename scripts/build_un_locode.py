"""Build ``src/quaywatch/domain/data/un-locode.csv.gz`` from the per-country files of
geoapify/un-locode (``src/data/XX.csv``, MIT; the facts are UNECE's UN/LOCODE code list).

Usage: ``python scripts/build_un_locode.py SOURCE_DIR OUTPUT`` where SOURCE_DIR holds the
``XX.csv`` files. The source writes a name that holds a comma as broken quoting (three quotes
around each part: ``Bau, Sarawak`` comes out split over four fields) and then loses that row's status;
it writes diacritics in ``name`` as U+FFFD.
This keeps what is sure: the code, the ASCII name (``nameWoDiacritics``, repaired), the
subdivision, the status (empty where lost) and the function classifier, and drops the
coordinates (many were geocoded by Geoapify, not published by UNECE). A row whose code or
function classifier cannot be read is left out and counted.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
from pathlib import Path

FUNCTION = re.compile(r",([01-][2-][3-][4-][5-][6-][7-][B-]),")
CODE = re.compile(r"^[A-Z]{2},[A-Z2-9]{3},")
#: UN/LOCODE status indicators (the source puts a subdivision where it lost a row's status).
STATUSES = frozenset(
    ["AA", "AC", "AF", "AI", "AM", "AQ", "AS", "RL", "RN", "RQ", "RR", "QQ", "UR", "XX"]
)
SUBDIVISION = re.compile(r"^[A-Z0-9]{1,3}$")


def _names(segment: str) -> str:
    fields = next(csv.reader([segment]))
    if len(fields) == 2 and '"' not in "".join(fields):
        return fields[1].strip()
    tokens = segment.replace('"', "").split(",")
    half = len(tokens) // 2
    return ",".join(tokens[half:]).strip()


def convert(line: str) -> tuple[str, str, str, str, str] | None:
    if not CODE.match(line):
        return None
    found = FUNCTION.search(line, 9)
    if found is None:
        return None
    locode = line[0:2] + line[3:6]
    middle = line[7 : found.start()].split(",")
    status = middle.pop() if middle and middle[-1] in STATUSES else ""
    subdivision = ""
    if len(middle) > 2 and SUBDIVISION.match(middle[-1]) or len(middle) > 2 and middle[-1] == "":
        subdivision = middle.pop()
    name = _names(",".join(middle)).replace("\ufffd", "?")
    return locode, name, subdivision, found.group(1), status


def main(source: Path, output: Path) -> None:
    rows: dict[str, tuple[str, str, str, str, str]] = {}
    skipped = 0
    for path in sorted(source.glob("*.csv")):
        for line in path.read_text("utf-8").splitlines()[1:]:
            if not line.strip():
                continue
            row = convert(line)
            if row is None:
                skipped += 1
                continue
            # A code listed twice (a few are, with another name) keeps its first entry, but a
            # port function on either entry counts.
            first = rows.get(row[0])
            if first is None:
                rows[row[0]] = row
            elif row[3][0] == "1" and first[3][0] != "1":
                rows[row[0]] = (*first[:3], row[3], first[4])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["locode", "name", "subdivision", "function", "status"])
    writer.writerows(sorted(rows.values()))
    output.write_bytes(gzip.compress(buffer.getvalue().encode("utf-8"), 9, mtime=0))
    print(f"{len(rows)} codes written, {skipped} rows unreadable", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
