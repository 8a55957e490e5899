"""The documents of the month-end settlement (SPEC §4 "Documents", §8 export_settlements):

- the interchange file of a month's results (CSV or XLSX, the eight columns of SPEC §8);
- an institution's settlement statement (结算单, PDF);
- the agency's payment summary (拨付汇总表, XLSX and PDF).

Everything is read through the caller's scope (settlement.selectors); `user=None` is the system
itself (commands), which sees every institution. Amounts stay Decimal from the database to the
file: CSV cells are written from the Decimal's text, XLSX cells are given the Decimal itself,
totals are Sum() in the database. Nothing here calls float().

The file writers (write_csv, write_xlsx_table, write_xlsx_summary), plain() and the PDF layout
(_document_pdf.html) are shared with the annual documents (annual_documents).
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.template.loader import render_to_string
from django.conf import settings
from django.utils import timezone, translation

from core.errors import ApplicationError
from core.money import percent, quantize_money, rmb_upper, yuan
from core.text import mask_card
from core.pdf import html_to_pdf

from ..models import (
    PAYING,
    Category,
    DeclarationLine,
    LineStatus,
    MonthlyBatch,
    MonthlySettlement,
    PaymentHold,
    SettlementAdjustment,
)
from ..selectors import batches_for, settlements_for
from .periods import is_closed, month_code, month_label

ZERO = Decimal("0.00")

EXPORT_COLUMNS = ("机构编码", "机构名称", "结算月份", "审核通过金额", "质量保证金", "应拨付金额", "抵扣金额", "实际拨付金额")
EXPORT_FORMATS = ("csv", "xlsx")
# The money fields behind the amount columns of the export, in their order.
EXPORT_AMOUNTS = ("approved_amount", "deposit", "payable", "deduction_amount", "net_amount")

# The payment summary shows every term of net = payable + shortfall − offset + released − held,
# so that each line adds up on paper; shortfall and released are zero in most months.
SUMMARY_AMOUNTS = (
    ("approved_amount", "审核通过金额"),
    ("deposit", "质量保证金"),
    ("payable", "应拨付金额"),
    ("shortfall", "负数转应收"),
    ("deduction_amount", "抵扣金额"),
    ("released_amount", "解除暂缓拨付"),
    ("held_amount", "暂缓金额"),
    ("net_amount", "实际拨付金额"),
)
SUMMARY_COLUMNS = ("序号", "机构编码", "机构名称") + tuple(label for _, label in SUMMARY_AMOUNTS)

# A statement lists at most this many lines per section; the rest are counted, not printed.
STATEMENT_LIST_LIMIT = 200

STATEMENT_TITLE = "工伤保险医疗费用月度结算单"
SUMMARY_TITLE = "工伤保险医疗费用月度拨付汇总表"


# ---- formatting ---------------------------------------------------------------------------------


def plain(value) -> str:
    """1234.50: how amounts are written in interchange files (no separators, always two places)."""
    return str(quantize_money(value or 0))



def official_language():
    """Settlement documents are official papers: always in Chinese, whatever language the clerk's
    page is shown in (the category and status labels are translatable)."""
    return translation.override(settings.LANGUAGE_CODE)


def local_time(dt) -> str:
    return f"{timezone.localtime(dt):%Y-%m-%d %H:%M}" if dt else ""


def _no_settlement(period: date) -> ApplicationError:
    label = month_label(period)
    if not is_closed(period):
        return ApplicationError(f"{label}尚未结束，尚无结算结果（按月结算，次月结算上月费用）。", code="no_settlement")
    return ApplicationError(
        f"{label}尚无结算结果，请先运行月度结算（run_monthly_settlement {month_code(period)}）。", code="no_settlement"
    )


# ---- the interchange export (SPEC §8) ----------------------------------------------------------------


def settlement_export_rows(*, period: date, user=None) -> QuerySet[MonthlySettlement]:
    """The month's settlement rows in the caller's scope, by institution code."""
    return settlements_for(user).filter(period=period).order_by("institution__code")


def amount_totals(rows: QuerySet, fields) -> dict:
    """How many rows (institutions) and the total of each amount field, summed in the database."""
    totals = rows.order_by().aggregate(institutions=Count("pk"), **{name: Sum(name) for name in fields})
    return {k: (v if k == "institutions" else quantize_money(v or 0)) for k, v in totals.items()}


def check_export_format(fmt: str) -> None:
    if fmt not in EXPORT_FORMATS:
        raise ApplicationError(f"不支持的导出格式“{fmt}”，可选：{'、'.join(EXPORT_FORMATS)}。", code="invalid_format")


def settlement_totals(*, period: date, user=None) -> dict:
    """How many institutions and the totals of the export's amount columns (Sum in the database)."""
    return amount_totals(settlement_export_rows(period=period, user=user), EXPORT_AMOUNTS)


def settlement_export(*, period: date, fmt: str, user=None) -> bytes:
    """export_settlements (SPEC §8): one line per institution with the eight columns, CSV or XLSX."""
    check_export_format(fmt)
    rows = list(settlement_export_rows(period=period, user=user))
    if not rows:
        raise _no_settlement(period)
    code = month_code(period)
    if fmt == "csv":
        return write_csv(
            EXPORT_COLUMNS,
            ([r.institution.code, r.institution.name, code, *(plain(getattr(r, f)) for f in EXPORT_AMOUNTS)] for r in rows),
        )
    return write_xlsx_table(
        sheet_title=code,
        columns=EXPORT_COLUMNS,
        rows=([r.institution.code, r.institution.name, code, *(quantize_money(getattr(r, f)) for f in EXPORT_AMOUNTS)]
              for r in rows),
        widths=(12, 44, 10, 16, 14, 16, 14, 16),
    )


# ---- file writers shared with the annual documents (annual_documents) ---------------------------------


def write_csv(columns, rows) -> bytes:
    """An interchange CSV: a header line, then the rows as given (amounts already plain() text)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    writer.writerows(rows)
    # BOM so that Excel on a clerk's PC opens the Chinese correctly (as export_registry does).
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_xlsx_table(*, sheet_title: str, columns, rows, widths, text_columns: int = 3) -> bytes:
    """An interchange XLSX: a bold header line, then the rows; the cells after the first
    `text_columns` are numbers shown with two decimals."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        # The Decimal itself goes into the cell: openpyxl writes it with 16 significant digits,
        # which is exact for DecimalField(14, 2).
        ws.append(r)
    for row in ws.iter_rows(min_row=2, min_col=text_columns + 1, max_col=len(columns)):
        for cell in row:
            cell.number_format = "0.00"
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"
    return _save(wb)


@dataclass
class SheetBlock:
    """One agency's block of a summary sheet: a heading line, its institutions, its subtotal."""

    heading: str
    rows: list[list]  # the cells after 序号
    subtotal_label: str
    subtotal: list  # the cells after the label columns


def write_xlsx_summary(
    *, sheet_title: str, title: str, meta: str, columns, blocks: list[SheetBlock], total_label: str, total: list,
    widths, orientation: str = "landscape", label_columns: int = 3,
) -> bytes:
    """A summary sheet for the agency: title, a line of facts, the header, a block per agency (its
    lines numbered from 1, then its subtotal), a grand total; amounts as #,##0.00; printable on A4."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    width = len(columns)
    bold = Font(bold=True)
    band = PatternFill("solid", fgColor="E8EEF5")
    line = Side(style="thin", color="888888")
    padding = [None] * (label_columns - 1)

    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([meta])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws.append(columns)
    for cell in ws[3]:
        cell.font = bold
        cell.fill = band
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)

    def merge_last_row(span: int) -> None:
        """The label of an agency, subtotal or total row spans the first columns, in bold."""
        r = ws.max_row
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=span)
        for cell in ws[r]:
            cell.font = bold

    for block in blocks:
        ws.append([block.heading])
        merge_last_row(width)
        for n, cells in enumerate(block.rows, start=1):
            ws.append([n, *cells])
        ws.append([block.subtotal_label, *padding, *block.subtotal])
        merge_last_row(label_columns)
    ws.append([total_label, *padding, *total])
    merge_last_row(label_columns)

    for row in ws.iter_rows(min_row=4, min_col=label_columns + 1, max_col=width):
        for cell in row:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
    for row in ws.iter_rows(min_row=3, max_col=width):
        for cell in row:
            cell.border = Border(left=line, right=line, top=line, bottom=line)
    for col, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = w
    ws.freeze_panes = "A4"
    ws.page_setup.orientation = orientation
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "3:3"
    return _save(wb)


def _save(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---- the statement (结算单) --------------------------------------------------------------------------------


def category_table(row: MonthlySettlement) -> list[dict]:
    """The month's declared lines by category, in ONE aggregate query: lines, declared in-scope
    amount, and what was approved in this month (approved or reduced, not carried to a later one).
    Every category is listed, with zeros, so the form looks the same for every institution."""
    paying = Q(status__in=PAYING, carried=False)
    aggregated = {
        r["category"]: r
        for r in DeclarationLine.objects.filter(
            declaration__institution_id=row.institution_id, declaration__period=row.period
        )
        .values("category")
        .annotate(
            lines=Count("pk"),
            declared=Sum("in_scope"),
            approved_lines=Count("pk", filter=paying),
            approved=Sum("approved_amount", filter=paying),
            reduced=Count("pk", filter=Q(status=LineStatus.REDUCED, carried=False)),
            refused=Count("pk", filter=Q(status=LineStatus.REFUSED, carried=False)),
            held=Count("pk", filter=Q(status=LineStatus.HELD)),
            pending=Count("pk", filter=Q(status=LineStatus.PENDING)),
            carried=Count("pk", filter=Q(carried=True) & ~Q(status=LineStatus.HELD)),
        )
        .order_by()
    }
    out = []
    for category in Category:
        r = aggregated.get(category.value, {})
        out.append({
            "label": category.label,
            "lines": r.get("lines", 0),
            "declared": quantize_money(r.get("declared") or 0),
            "approved_lines": r.get("approved_lines", 0),
            "approved": quantize_money(r.get("approved") or 0),
            "reduced": r.get("reduced", 0),
            "refused": r.get("refused", 0),
            "held": r.get("held", 0),
            "pending": r.get("pending", 0),
            "carried": r.get("carried", 0),
        })
    return out


def _sum_table(categories: list[dict]) -> dict:
    total = {"label": "合计"}
    for key in ("lines", "approved_lines", "reduced", "refused", "held", "pending", "carried"):
        total[key] = sum(c[key] for c in categories)
    for key in ("declared", "approved"):
        total[key] = sum((c[key] for c in categories), ZERO)
    return total


def _line_view(line: DeclarationLine) -> dict:
    cut = line.in_scope - (line.approved_amount or ZERO)
    reason = f"{line.reason.label}（{line.reason.article}）" if line.reason_id else ""
    return {
        "name": line.name,
        "card": mask_card(line.card_no),
        "category": line.get_category_display(),
        "visit": line.visit_date,
        "period": month_label(line.declaration.period),
        "status": line.get_status_display(),
        "declared": yuan(line.in_scope),
        "approved": yuan(line.approved_amount or ZERO),
        "cut": yuan(cut),
        "reason": reason,
        "note": line.review_note,
    }


def _carried_lines(row: MonthlySettlement) -> QuerySet[DeclarationLine]:
    """Lines of earlier months decided after those months were frozen, paid in this row:
    stamped on approval, still open (as month_end counts them) before."""
    if row.frozen:
        qs = DeclarationLine.objects.filter(carried_into=row)
    else:
        qs = DeclarationLine.objects.filter(
            declaration__institution_id=row.institution_id, carried=True, carried_into__isnull=True,
            status__in=PAYING, declaration__period__lt=row.period,
        )
    return qs.select_related("declaration", "reason").order_by("declaration__period", "source_row", "pk")


def _corrections(row: MonthlySettlement) -> QuerySet[SettlementAdjustment]:
    if row.frozen:
        qs = SettlementAdjustment.objects.filter(applied_in=row)
    else:
        qs = SettlementAdjustment.objects.filter(
            institution_id=row.institution_id, applied_in__isnull=True, effective_from__lte=row.period
        )
    return qs.select_related("corrects").order_by("created_at", "pk")


def _released_months(row: MonthlySettlement) -> list[str]:
    if not row.released_amount:
        return []
    if row.frozen:
        held = MonthlySettlement.objects.filter(release__released_in=row)
    else:
        held = MonthlySettlement.objects.filter(
            institution_id=row.institution_id, frozen=True, held=True, period__lt=row.period, release__isnull=True
        )
    return [f"{month_label(h.period)} {yuan(h.held_amount)}" for h in held.order_by("period")]


def _hold_applied(row: MonthlySettlement) -> PaymentHold | None:
    """The deferral in force when the row was computed (it may have been lifted since)."""
    if not row.held:
        return None
    computed_on = timezone.localtime(row.computed_at).date()
    return (
        PaymentHold.objects.filter(institution_id=row.institution_id, started_on__lte=computed_on)
        .filter(Q(lifted_on__isnull=True) | Q(lifted_on__gte=computed_on))
        .order_by("-started_on", "-pk")
        .first()
    )


def statement_context(row: MonthlySettlement) -> dict:
    """Everything the statement shows; also usable by an HTML page of the same statement."""
    row = (
        MonthlySettlement.objects.select_related("institution", "batch__agency", "batch__approved_by")
        .get(pk=row.pk)
    )
    batch = row.batch
    categories = category_table(row)
    total = _sum_table(categories)
    for c in [*categories, total]:
        c["declared_display"], c["approved_display"] = yuan(c["declared"]), yuan(c["approved"])

    decided = (
        DeclarationLine.objects.filter(
            declaration__institution_id=row.institution_id, declaration__period=row.period,
            status__in=(LineStatus.REDUCED, LineStatus.REFUSED), carried=False,
        )
        .select_related("declaration", "reason")
        .order_by("batch", "source_row", "pk")  # the order in which they were declared
    )
    cut_lines = [_line_view(line) for line in decided[:STATEMENT_LIST_LIMIT]]
    cut_count = total["reduced"] + total["refused"]

    carried_qs = _carried_lines(row)
    carried_lines = [_line_view(line) for line in carried_qs[:STATEMENT_LIST_LIMIT]]
    carried_count = carried_qs.count() if len(carried_lines) == STATEMENT_LIST_LIMIT else len(carried_lines)
    carried_sum = carried_qs.aggregate(s=Sum("approved_amount"))["s"] if carried_lines else ZERO
    corrections = [
        {
            "corrects": month_label(c.corrects.period) if c.corrects_id else "",
            "reason": c.reason,
            "registered": local_time(c.created_at),
            "amount": yuan(c.amount),
        }
        for c in _corrections(row)
    ]
    offsets = [
        {
            "kind": o.deduction.get_kind_display(),
            "reason": o.deduction.reason,
            "source": o.deduction.source_label,
            "amount": yuan(o.amount),
        }
        for o in row.offsets.select_related("deduction").order_by("deduction__effective_from", "deduction__pk")
    ]
    hold = _hold_applied(row)
    current_approved = row.approved_amount - row.adjustment_amount
    # The row is what the last run computed; reviews changed since then show up in the live
    # category table. A frozen month cannot change, an open one should be run again.
    stale = not row.frozen and total["approved"] != current_approved

    return {
        "title": STATEMENT_TITLE,
        "row": row,
        "institution": row.institution,
        "agency": batch.agency,
        "month": month_label(row.period),
        "computed_at": local_time(row.computed_at),
        "rate": percent(row.deposit_rate),
        "rule_version": row.rule_version,
        "frozen": row.frozen,
        "stale": stale,
        "approved_by": str(batch.approved_by) if batch.approved_by_id else "",
        "approved_at": local_time(batch.approved_at),
        "categories": categories,
        "category_total": total,
        "cut_lines": cut_lines,
        "cut_count": cut_count,
        "cut_more": max(cut_count - len(cut_lines), 0),
        "carried_lines": carried_lines,
        "carried_more": max(carried_count - len(carried_lines), 0),
        "carried_total": yuan(carried_sum or ZERO),
        "corrections": corrections,
        "offsets": offsets,
        "hold": hold,
        "released_months": _released_months(row),
        "limit": STATEMENT_LIST_LIMIT,
        "money": {
            "current": yuan(current_approved),
            "adjustment": yuan(row.adjustment_amount),
            "approved": yuan(row.approved_amount),
            "deposit": yuan(row.deposit),
            "payable": yuan(row.payable),
            "shortfall": yuan(row.shortfall),
            "deduction": yuan(row.deduction_amount),
            "carried_forward": yuan(row.carried_forward),
            "released": yuan(row.released_amount),
            "held": yuan(row.held_amount),
            "net": yuan(row.net_amount),
            "net_upper": rmb_upper(row.net_amount),
        },
        "generated_at": local_time(timezone.now()),
    }


def statement_pdf(row: MonthlySettlement) -> bytes:
    """The institution's 结算单 for the month (A4): what was declared and approved by category,
    the reduced and refused lines with their reasons, what was carried in from earlier months,
    and how the approved amount became the amount paid."""
    with official_language():
        return html_to_pdf(render_to_string("settlement/statement_pdf.html", statement_context(row)))


def statement_filename(row: MonthlySettlement) -> str:
    return f"结算单_{row.institution.code}_{month_code(row.period)}.pdf"


# ---- the payment summary (拨付汇总表) ----------------------------------------------------------------------


@dataclass
class SummaryGroup:
    """An agency's batch (monthly, or annual for annual_documents) with its rows and subtotal."""

    batch: MonthlyBatch
    rows: list[MonthlySettlement] = field(default_factory=list)
    subtotal: dict[str, Decimal] = field(default_factory=dict)

    not_approved = "尚未审批拨付"

    @property
    def status_label(self) -> str:
        return self.batch.get_status_display()

    @property
    def approval(self) -> str:
        if not self.batch.frozen:
            return self.not_approved
        return f"审批人：{self.batch.approved_by}　审批时间：{local_time(self.batch.approved_at)}"


@dataclass
class Summary:
    period: date
    groups: list[SummaryGroup]
    total: dict[str, Decimal]

    @property
    def institutions(self) -> int:
        return sum(len(g.rows) for g in self.groups)

    @property
    def title(self) -> str:
        return f"{SUMMARY_TITLE}（{month_label(self.period)}）"


def _sums() -> dict:
    return {name: Sum(name) for name, _ in SUMMARY_AMOUNTS}


def settlement_summary(*, period: date, user=None) -> Summary:
    """The month's rows grouped by agency batch, with subtotals and a grand total from the database."""
    batches = MonthlyBatch.objects.select_related("agency", "approved_by") if user is None else batches_for(user)
    batches = batches.filter(period=period)
    rows_qs = settlements_for(user).filter(period=period, batch__in=batches)
    rows = list(rows_qs.order_by("batch__agency__division_code", "batch__agency__pk", "institution__code"))
    if not rows:
        raise _no_settlement(period)
    groups: dict[int, SummaryGroup] = {}
    for r in rows:
        groups.setdefault(r.batch_id, SummaryGroup(batch=r.batch)).rows.append(r)
    for sub in rows_qs.order_by().values("batch").annotate(**_sums()):
        groups[sub["batch"]].subtotal = {name: quantize_money(sub[name]) for name, _ in SUMMARY_AMOUNTS}
    total = rows_qs.order_by().aggregate(**_sums())
    return Summary(
        period=period,
        groups=list(groups.values()),
        total={name: quantize_money(total[name]) for name, _ in SUMMARY_AMOUNTS},
    )


def summary_xlsx(*, period: date, user=None) -> bytes:
    """The agency's payment summary as one sheet: a block per agency with its subtotal, a grand total."""
    with official_language():
        return _summary_xlsx(settlement_summary(period=period, user=user))


def _summary_xlsx(summary: Summary) -> bytes:
    period = summary.period

    def amounts(values: dict) -> list[Decimal]:
        return [values[name] for name, _ in SUMMARY_AMOUNTS]

    blocks = [
        SheetBlock(
            heading=f"{group.batch.agency.name}（{group.status_label}；{group.approval}）",
            rows=[
                [r.institution.code, r.institution.name, *(quantize_money(getattr(r, f)) for f, _ in SUMMARY_AMOUNTS)]
                for r in group.rows
            ],
            subtotal_label=f"小计：{group.batch.agency.name}（{len(group.rows)} 家）",
            subtotal=amounts(group.subtotal),
        )
        for group in summary.groups
    ]
    return write_xlsx_summary(
        sheet_title=f"拨付汇总 {month_code(period)}",
        title=summary.title,
        meta=f"结算月份：{month_label(period)}　制表时间：{local_time(timezone.now())}　金额单位：元",
        columns=SUMMARY_COLUMNS,
        blocks=blocks,
        total_label=f"合计（{len(summary.groups)} 个经办机构，{summary.institutions} 家协议机构）",
        total=amounts(summary.total),
        widths=(6, 11, 40) + (15,) * len(SUMMARY_AMOUNTS),
    )


def summary_pdf(*, period: date, user=None) -> bytes:
    """The agency's payment summary (landscape A4), one table with a block per agency."""
    with official_language():
        return _summary_pdf(settlement_summary(period=period, user=user))


def _summary_pdf(summary: Summary) -> bytes:
    period = summary.period

    def cells(values: dict) -> list[str]:
        return [yuan(values[name]) for name, _ in SUMMARY_AMOUNTS]

    groups = [
        {
            "agency": g.batch.agency.name,
            "status": g.status_label,
            "approval": g.approval,
            "frozen": g.batch.frozen,
            "rows": [
                {"code": r.institution.code, "name": r.institution.name, "held": r.held,
                 "amounts": [yuan(getattr(r, f)) for f, _ in SUMMARY_AMOUNTS]}
                for r in g.rows
            ],
            "subtotal": cells(g.subtotal),
        }
        for g in summary.groups
    ]
    html = render_to_string(
        "settlement/summary_pdf.html",
        {
            "title": SUMMARY_TITLE,
            "month": month_label(period),
            "columns": SUMMARY_COLUMNS,
            "amount_count": len(SUMMARY_AMOUNTS),
            "groups": groups,
            "total": cells(summary.total),
            "agency_count": len(summary.groups),
            "institution_count": summary.institutions,
            "all_frozen": all(g.batch.frozen for g in summary.groups),
            "generated_at": local_time(timezone.now()),
        },
    )
    return html_to_pdf(html)


def summary_filename(period: date, fmt: str) -> str:
    return f"拨付汇总表_{month_code(period)}.{fmt}"
