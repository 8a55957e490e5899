"""export_registry (SPEC §2, §8): the official table of one type, plus 机构编码, as CSV, XLSX or PDF."""

import csv
import io
from datetime import date

from django.template.loader import render_to_string

from core.pdf import html_to_pdf

from ..models import Designation, DesignationStatus, DesignationType, Ownership
from ..tables import CODE_COLUMN, COLUMNS, TITLES

FORMATS = ("csv", "xlsx", "pdf")
_OWNERSHIP = {o.value: o.label for o in Ownership}
NOWRAP_HEADERS = {"序号", "行政区划代码", "统一社会信用代码", "联系电话", "经办机构联系电话", "机构编码", "医疗等级", "医院属性"}


def registry_rows(*, type_: str, institutions=None) -> tuple[list[str], list[list[str]]]:
    """Header and rows, numbered 1..n in the order of the last imported table."""
    columns = COLUMNS[type_]
    header = [c.header for c in columns] + [CODE_COLUMN.header]
    qs = (
        Designation.objects.filter(type=type_, status=DesignationStatus.ACTIVE)
        .select_related("institution__legal_entity", "agency")
        .order_by("seq_no", "institution__code")
    )
    if institutions is not None:
        qs = qs.filter(institution__in=institutions)
    rows = []
    for n, d in enumerate(qs, start=1):
        inst = d.institution
        values = {
            "seq_no": str(n),
            "city_name": inst.city_name,
            "division_code": inst.division_code,
            "name": inst.name,
            "grade": inst.grade,
            "uscc": inst.legal_entity.uscc,
            "address": inst.address,
            "phone": "/".join(inst.phones),
            "ownership": _OWNERSHIP.get(inst.ownership, ""),
            "agency": d.agency.name,
            "agency_phone": d.agency_phone or d.agency.phone,
        }
        rows.append([values[c.key] for c in columns] + [inst.code])
    return header, rows


def title_for(type_: str, as_of: date) -> str:
    return f"{TITLES[type_]}（{as_of.year}年{as_of.month}月）"


def registry_export(*, type_: str, fmt: str, institutions=None, as_of: date | None = None) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(fmt)
    as_of = as_of or date.today()
    header, rows = registry_rows(type_=type_, institutions=institutions)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(rows)
        # BOM so that Excel on a clerk's PC opens the Chinese correctly; import_registry accepts it.
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    if fmt == "xlsx":
        return _xlsx(type_, as_of, header, rows)
    # Codes and phone numbers must not break inside: a clerk reads them digit by digit.
    nowrap = [h in NOWRAP_HEADERS for h in header]
    html = render_to_string(
        "institutions/registry_table_pdf.html",
        {"title": title_for(type_, as_of), "header": header, "as_of": as_of,
         "rows": [[(_pdf_cell(h, c), w) for h, c, w in zip(header, row, nowrap)] for row in rows], "type_label": DesignationType(type_).label},
    )
    return html_to_pdf(html)


def _pdf_cell(header: str, cell: str) -> str:
    """Several phone numbers go one per line in the printed table."""
    return cell.replace("/", "\n") if header.endswith("联系电话") else cell


def _xlsx(type_: str, as_of: date, header: list[str], rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = DesignationType(type_).label[:31]
    ws.append([title_for(type_, as_of)])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    # Codes stay text so Excel never turns an 18-digit credit code into 1.26E+17.
    for col in range(1, len(header) + 1):
        letter = get_column_letter(col)
        ws.column_dimensions[letter].width = 14 if col > 3 else 8
        for cell in ws[letter][2:]:
            cell.number_format = "@"
    ws.freeze_panes = "A3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
