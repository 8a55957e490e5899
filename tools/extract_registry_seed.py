"""Derive the clean registry CSVs (attachments 4-6) from the seed text extracted from the PDF.

The seed text holds one table cell per tab-indented line; a line without the leading tab
continues the cell above it (a cell wrapped in the PDF).  We join wrapped cells, keep every
cell's text otherwise as printed (stray spaces, dashes, odd codes: the importer is the one
that normalises and reports), and write one UTF-8 CSV per table.

    python tools/extract_registry_seed.py ../shared/seeds/000_6c7349c0953d4533.txt institutions/data/
"""

import csv
import sys
from pathlib import Path

TABLES = {
    # type: (first line of the attachment, header as printed, file name)
    "medical": ("附件4", 11, "registry_medical_2026-03.csv"),
    "rehabilitation": ("附件5", 11, "registry_rehabilitation_2026-03.csv"),
    "devices": ("附件6", 7, "registry_devices_2026-03.csv"),
}
# Cells that wrap inside a phone column hold several numbers: keep them apart with "/".
PHONE_HEADERS = {"联系电话"}


def _cells(lines):
    cells = []
    for line in lines:
        if line.startswith("\t"):
            cells.append(line[1:].rstrip("\n"))
        elif line.strip() and cells:
            cells[-1] += "\n" + line.rstrip("\n")
    return cells


def extract(text: str):
    lines = text.splitlines()
    starts = {}
    for i, line in enumerate(lines):
        for kind, (marker, _, _) in TABLES.items():
            if line.strip() == marker:
                starts[kind] = i
    order = sorted(starts, key=starts.get)
    out = {}
    for n, kind in enumerate(order):
        end = starts[order[n + 1]] if n + 1 < len(order) else len(lines)
        ncols = TABLES[kind][1]
        body = lines[starts[kind] + 1 : end]
        # The title line is not tab-indented; cells start at the header.
        first = next(i for i, l in enumerate(body) if l.startswith("\t序号"))
        cells = _cells(body[first:])
        header = ["".join(c.split()) for c in cells[:ncols]]
        rows = []
        for k in range(ncols, len(cells), ncols):
            raw = cells[k : k + ncols]
            if len(raw) < ncols:
                raise SystemExit(f"{kind}: short row at cell {k}: {raw}")
            row = []
            for h, c in zip(header, raw):
                if h in PHONE_HEADERS:
                    c = "/".join(p.strip() for p in c.split("\n") if p.strip())
                elif "经办机构" in h and "电话" not in h:
                    c = "".join(p.strip() for p in c.split("\n"))  # wrapped agency name
                else:
                    c = c.replace("\n", "")
                row.append(c)
            rows.append(row)
        out[kind] = (header, rows)
    return out


def main(seed, target):
    target = Path(target)
    for kind, (header, rows) in extract(Path(seed).read_text(encoding="utf-8")).items():
        with open(target / TABLES[kind][2], "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
        print(kind, len(rows))


if __name__ == "__main__":
    main(*sys.argv[1:3])
