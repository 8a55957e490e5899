"""Reading an interchange file (the declarations file of SPEC §8, the assessment scores file) as a
stream of rows: CSV (UTF-8, with or without BOM) or
XLSX, told apart by content. Memory stays flat however long the file is.

A file of the wrong shape (not UTF-8, not a readable XLSX, empty, missing or unknown columns) is
refused whole before anything is stored; a bad row is the row checker's business, not ours.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter

from core.errors import FileRejected
from .declaration_rows import COLUMNS, cell_text, header_key

SNIFF_BYTES = 64 * 1024
HEADER_SEARCH_ROWS = 10
EXTRA = "__extra__"


@dataclass
class RowStream:
    """rows: (row number in the file, {column key: cell}) for every non-blank data row."""

    kind: str  # "csv" | "xlsx"
    rows: Iterator[tuple[int, dict]]


def _header_positions(row: list, columns, optional) -> dict[str, int] | None:
    """Column positions when this row is the header, else None. Raises on a header of the wrong shape.
    `optional` columns may be present or not (their cells are read but not required)."""
    labels = [header_key(c) for c in row]
    if "机构编码" not in labels:
        return None
    wanted = {h: k for k, h in (*columns, *optional)}
    positions, unknown, duplicated = {}, [], []
    for pos, label in enumerate(labels):
        if not label:
            continue
        key = wanted.get(label)
        if key is None:
            unknown.append(label)
        elif key in positions:
            duplicated.append(label)
        else:
            positions[key] = pos
    missing = [h for k, h in columns if k not in positions]
    problems = []
    if missing:
        problems.append("缺少列：" + "、".join(missing))
    if unknown:
        problems.append("无法识别的列：" + "、".join(unknown))
    if duplicated:
        problems.append("重复的列：" + "、".join(duplicated))
    if problems:
        expected = [h for _, h in columns]
        raise FileRejected(
            "列与文件格式不符：" + "；".join(problems) + "。应为：" + "、".join(expected) + "。",
            code="bad_columns",
            detail={"missing": missing, "unknown": unknown, "duplicated": duplicated, "expected": expected},
        )
    return positions


def _rows(records: Iterator[list], columns, optional, cell=cell_text) -> Iterator[tuple[int, dict]]:
    """cell: how a cell becomes text; None for CSV, whose cells are text already."""
    records = iter(records)  # the fast loop below carries on with the same iterator
    positions = None
    number = 0
    for number, record in enumerate(records, start=1):
        if number > HEADER_SEARCH_ROWS:
            break
        positions = _header_positions(record, columns, optional)
        if positions is not None:
            break
    if positions is None:
        if number == 0:
            raise FileRejected("文件为空。", code="empty_file")
        raise FileRejected(
            "找不到表头：前10行中没有“机构编码”列。文件的列应为：" + "、".join(h for _, h in columns) + "。",
            code="bad_header",
        )
    width = max(positions.values()) + 1
    keys = list(positions)
    pick = itemgetter(*positions.values())
    for number, record in enumerate(records, start=number + 1):
        if cell is None and len(record) == width:
            # The usual CSV row: exactly the header's cells, already text. Same result as below,
            # without a call per cell (a million rows make every call per cell count).
            first = record[0]
            if (not first or first.isspace()) and not any(c.strip() for c in record):
                continue  # blank line
            yield number, dict(zip(keys, pick(record)))
            continue
        text = cell or _plain
        if not any(text(c).strip() for c in record):
            continue  # blank line
        values = {key: (text(record[pos]) if pos < len(record) else "") for key, pos in positions.items()}
        extra = [text(c) for c in record[width:] if text(c).strip()]
        if extra:
            values[EXTRA] = extra
        yield number, values


def _check_utf8(head: bytes) -> None:
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
        return
    except UnicodeDecodeError:
        pass
    try:
        head[: len(head) - 4].decode("gb18030")
    except UnicodeDecodeError:
        raise FileRejected("无法读取文件：不是 UTF-8 编码的 CSV 或 XLSX 文件。", code="bad_encoding") from None
    raise FileRejected(
        "文件编码为 GBK（GB18030），不是 UTF-8：请在 Excel 中“另存为 → CSV UTF-8（逗号分隔）”后重新提交，或直接提交 XLSX 文件。",
        code="bad_encoding",
    )


def _csv_records(fh) -> Iterator[list]:
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        yield from reader  # the reader's own errors surface here, with its line number
    except UnicodeDecodeError:
        raise FileRejected(
            f"文件第{reader.line_num + 1}行附近含有非 UTF-8 字符，整个文件未导入。", code="bad_encoding"
        ) from None
    except csv.Error as exc:
        raise FileRejected(f"CSV 格式错误（第{reader.line_num}行）：{exc}", code="bad_csv") from None


def _xlsx_records(fh) -> Iterator[list]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(fh, read_only=True, data_only=True)
        ws = wb.worksheets[0]
    except Exception:  # openpyxl raises many kinds for a damaged archive
        raise FileRejected("无法读取 XLSX 文件：文件已损坏或不是 Excel 2007 及以上格式。", code="bad_xlsx") from None
    try:
        for row in ws.iter_rows(values_only=True):
            yield list(row)
    finally:
        wb.close()


def open_rows(fh, name: str = "", *, columns=COLUMNS, optional=()) -> RowStream:
    """fh: a binary, seekable file. The header must be within the first ten rows. `columns` are
    (key, header) pairs, all required; the default is the declarations file of SPEC §8."""
    head = fh.read(SNIFF_BYTES)
    fh.seek(0)
    if not head.strip():
        raise FileRejected("文件为空。", code="empty_file")
    if head[:4] == b"PK\x03\x04":
        return RowStream("xlsx", _rows(_xlsx_records(fh), columns, optional))
    if name.lower().endswith((".xlsx", ".xls")):
        raise FileRejected("无法读取 Excel 文件：请使用 .xlsx 格式（Excel 2007 及以上）。", code="bad_xlsx")
    _check_utf8(head)
    return RowStream("csv", _rows(_csv_records(fh), columns, optional, cell=None))


def _plain(value) -> str:
    return value

