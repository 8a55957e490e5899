"""The official registry tables (attachments 4–6): their columns, per type, and how to read them.

Reading is separate from importing so that a file is refused whole (bad encoding, wrong
columns, duplicate 序号, too big) before anything is stored.
"""

import csv
import io
from dataclasses import dataclass, field

from django.conf import settings

from core.errors import FileRejected
from core.text import squash

from .models import DesignationType


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as printed in the official table
    aliases: tuple[str, ...] = ()
    required: bool = True


_SEQ = Column("seq_no", "序号")
_CITY = Column("city_name", "地市名称")
_DIVISION = Column("division_code", "行政区划代码")
_GRADE = Column("grade", "医疗等级")
_USCC = Column("uscc", "统一社会信用代码")
_ADDRESS = Column("address", "地址")
_PHONE = Column("phone", "联系电话")
_OWNERSHIP = Column("ownership", "医院属性")
_AGENCY_PHONE = Column("agency_phone", "经办机构联系电话")
# The portal's own code, written by export_registry; optional on import so an export re-imports.
CODE_COLUMN = Column("code", "机构编码", required=False)

COLUMNS: dict[str, list[Column]] = {
    DesignationType.MEDICAL: [
        _SEQ, _CITY, _DIVISION,
        Column("name", "协议医疗机构名称", ("协议机构名称", "机构名称")),
        _GRADE, _USCC, _ADDRESS, _PHONE, _OWNERSHIP,
        Column("agency", "属地经办机构", ("签约经办机构", "经办机构")),
        _AGENCY_PHONE,
    ],
    DesignationType.REHABILITATION: [
        _SEQ, _CITY, _DIVISION,
        Column("name", "协议机构名称", ("协议康复机构名称", "机构名称")),
        _GRADE, _USCC, _ADDRESS, _PHONE, _OWNERSHIP,
        Column("agency", "签约经办机构", ("属地经办机构", "经办机构")),
        _AGENCY_PHONE,
    ],
    DesignationType.DEVICES: [
        _SEQ, _CITY, _DIVISION,
        Column("name", "协议机构名称", ("协议辅助器具机构名称", "机构名称")),
        _USCC, _PHONE, _ADDRESS,
    ],
}

TITLES = {
    DesignationType.MEDICAL: "宁夏工伤保险协议医疗机构基础信息情况表",
    DesignationType.REHABILITATION: "宁夏工伤保险协议康复机构基础信息情况表",
    DesignationType.DEVICES: "宁夏工伤保险协议辅助器具机构基础信息情况表",
}


@dataclass
class Table:
    """A file read and checked for shape: rows are (row number in the file, {key: cell text})."""

    columns: list[Column]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def _max_bytes() -> int:
    return settings.PORTAL_MAX_TABLE_UPLOAD_BYTES


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def read_bytes(fh, name: str = "") -> bytes:
    """Read at most the limit plus one byte, so a 50 MB upload is refused without holding it all."""
    limit = _max_bytes()
    data = fh.read(limit + 1)
    if len(data) > limit:
        raise FileRejected(f"文件过大：超过上限 {_mb(limit)}，请拆分后再导入。", code="file_too_large")
    return data


def _decode_csv(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileRejected("无法读取文件：不是 UTF-8 编码的 CSV 或 XLSX 文件。", code="bad_encoding") from None
    raise FileRejected(
        "文件编码为 GBK（GB18030），不是 UTF-8：请在 Excel 中“另存为 → CSV UTF-8（逗号分隔）”后重新导入，"
        "或直接导入 XLSX 文件。",
        code="bad_encoding",
    )


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged archive
        raise FileRejected("无法读取 XLSX 文件：文件已损坏或不是 Excel 2007 及以上格式。", code="bad_xlsx") from None
    try:
        ws = wb.worksheets[0]
        return [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def raw_rows(data: bytes, name: str = "") -> list[list[str]]:
    """CSV (UTF-8, with or without BOM) or XLSX, told apart by content, not by the file name."""
    if not data.strip():
        raise FileRejected("文件为空。", code="empty_file")
    if data[:4] == b"PK\x03\x04":
        return _xlsx_rows(data)
    if name.lower().endswith((".xlsx", ".xls")):
        raise FileRejected("无法读取 Excel 文件：请使用 .xlsx 格式（Excel 2007 及以上）。", code="bad_xlsx")
    text = _decode_csv(data)
    try:
        return list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise FileRejected(f"CSV 格式错误：{exc}", code="bad_csv") from None


def _header_index(rows: list[list[str]]) -> int:
    """The header is the first row whose first non-empty cell is 序号 (a title line may precede it)."""
    for i, row in enumerate(rows[:15]):
        cells = [squash(c) for c in row if squash(c)]
        if cells and cells[0] == "序号":
            return i
    raise FileRejected("找不到表头：第一列应为“序号”。请使用官方名单的列。", code="bad_header")


def parse_table(data: bytes, type_: str, name: str = "") -> Table:
    columns = COLUMNS[type_]
    rows = raw_rows(data, name)
    h = _header_index(rows)
    headers = [squash(c) for c in rows[h]]
    known: dict[str, Column] = {}
    for col in [*columns, CODE_COLUMN]:
        for label in (col.header, *col.aliases):
            known[label] = col
    positions: dict[str, int] = {}
    unknown, duplicated = [], []
    for pos, label in enumerate(headers):
        if not label:
            continue
        col = known.get(label)
        if col is None:
            unknown.append(label)
        elif col.key in positions:
            duplicated.append(label)
        else:
            positions[col.key] = pos
    missing = [c.header for c in columns if c.required and c.key not in positions]
    problems = []
    if missing:
        problems.append("缺少列：" + "、".join(missing))
    if unknown:
        problems.append("无法识别的列：" + "、".join(unknown))
    if duplicated:
        problems.append("重复的列：" + "、".join(duplicated))
    if problems:
        label = DesignationType(type_).label
        raise FileRejected(
            f"列与{label}名单（{TITLES[type_]}）不符：" + "；".join(problems) + "。",
            code="bad_columns",
            detail={"missing": missing, "unknown": unknown, "duplicated": duplicated},
        )
    table = Table(columns=columns)
    for offset, row in enumerate(rows[h + 1 :], start=h + 2):
        if not any(squash(c) for c in row):
            continue  # blank lines between the PDF's pages
        values = {key: (row[pos] if pos < len(row) else "") for key, pos in positions.items()}
        table.rows.append((offset, values))
    if not table.rows:
        raise FileRejected("文件只有表头，没有数据行。", code="empty_file")
    _check_unique_seq(table)
    return table


def _check_unique_seq(table: Table) -> None:
    seen: dict[str, list[int]] = {}
    for line, values in table.rows:
        seq = squash(values.get("seq_no"))
        if seq:
            seen.setdefault(seq, []).append(line)
    dups = {s: lines for s, lines in seen.items() if len(lines) > 1}
    if dups:
        parts = [f"序号 {s}（第{'、'.join(map(str, lines))}行）" for s, lines in dups.items()]
        raise FileRejected("序号重复：" + "；".join(parts) + "。每个序号只能出现一次。", code="duplicate_seq", detail={"duplicates": dups})
