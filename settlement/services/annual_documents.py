"""The documents of the year-end deposit settlement (SPEC §5, §8 export_annual_settlements):

- the interchange file of a year's results (CSV or XLSX, the seven columns of SPEC §8);
- an institution's annual settlement statement (质量保证金年度结算单, PDF);
- the agency's annual summary (年度结算汇总表, XLSX).

They are the annual counterparts of the monthly documents (documents.py) and share their file
writers, their plain() amounts and their PDF layout (_document_pdf.html). Everything is read through
the caller's scope; `user=None` is the system itself (commands), which sees every institution.
Amounts stay Decimal from the database to the file; totals are Sum() in the database.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.template.loader import render_to_string
from django.utils import timezone

from core.errors import ApplicationError
from core.money import quantize_money, rmb_upper, yuan
from core.pdf import html_to_pdf

from ..models import AnnualSettlement, AssessmentScore, ComponentKind, MonthlySettlement
from ..selectors import annual_batches_for, annual_settlements_for
from .documents import (
    amount_totals,
    check_export_format,
    SheetBlock,
    SummaryGroup,
    local_time,
    official_language,
    plain,
    write_csv,
    write_xlsx_summary,
    write_xlsx_table,
)
from .periods import month_label

ZERO = Decimal("0.00")
SCORE_PLACES = Decimal("0.01")

ANNUAL_EXPORT_COLUMNS = ("机构编码", "机构名称", "年度", "保证金总额", "考核得分", "返还金额", "扣留金额")
# The money fields of a year's row, in the order of the export and the summary (the score sits
# between the deposit total and the released amount).
ANNUAL_AMOUNTS = ("deposit_total", "released", "forfeited")
ANNUAL_SUMMARY_COLUMNS = ("序号", "机构编码", "机构名称", "保证金总额", "考核得分", "返还金额", "扣留金额")

ANNUAL_STATEMENT_TITLE = "工伤保险质量保证金年度结算单"
ANNUAL_SUMMARY_TITLE = "工伤保险质量保证金年度结算汇总表"
FORMULA = "返还金额＝保证金总额×考核得分÷100（四舍五入到分）；扣留金额＝保证金总额－返还金额"


# ---- formatting ---------------------------------------------------------------------------------


def score_value(score) -> Decimal:
    """A score as stored (0–100, two decimals); 85.5 → Decimal("85.50")."""
    return Decimal(score).quantize(SCORE_PLACES)


def score_plain(score) -> str:
    """85.50: how a score is written in the interchange file and on the statement."""
    return str(score_value(score))


def year_label(year: int) -> str:
    """2025年度"""
    return f"{year}年度"


def _month(code: str) -> str:
    """"2025-03" → 2025年3月"""
    return month_label(date(int(code[:4]), int(code[5:7]), 1))


def _no_settlement(year: int) -> ApplicationError:
    if year >= timezone.localdate().year:
        return ApplicationError(
            f"{year_label(year)}尚未结束，尚无年度结算结果（次年1月起办理年度结算）。", code="no_settlement"
        )
    return ApplicationError(
        f"{year_label(year)}尚无年度结算结果，请先运行年度结算（run_annual_settlement {year}）。", code="no_settlement"
    )


# ---- the interchange export (SPEC §8) ----------------------------------------------------------------


def annual_export_rows(*, year: int, user=None) -> QuerySet[AnnualSettlement]:
    """The year's rows in the caller's scope, by institution code."""
    return annual_settlements_for(user).filter(year=year).order_by("institution__code")


def annual_totals(*, year: int, user=None) -> dict:
    """How many institutions and the totals of the export's amount columns (Sum in the database)."""
    return amount_totals(annual_export_rows(year=year, user=user), ANNUAL_AMOUNTS)


def annual_export(*, year: int, fmt: str, user=None) -> bytes:
    """export_annual_settlements (SPEC §8): one line per institution with the seven columns."""
    check_export_format(fmt)
    rows = list(annual_export_rows(year=year, user=user))
    if not rows:
        raise _no_settlement(year)
    if fmt == "csv":
        return write_csv(
            ANNUAL_EXPORT_COLUMNS,
            ([r.institution.code, r.institution.name, str(year), plain(r.deposit_total), score_plain(r.score),
              plain(r.released), plain(r.forfeited)] for r in rows),
        )
    return write_xlsx_table(
        sheet_title=str(year),
        columns=ANNUAL_EXPORT_COLUMNS,
        rows=([r.institution.code, r.institution.name, str(year), quantize_money(r.deposit_total), score_value(r.score),
               quantize_money(r.released), quantize_money(r.forfeited)] for r in rows),
        widths=(12, 44, 8, 16, 10, 16, 16),
    )


def annual_export_filename(year: int, fmt: str) -> str:
    return f"年度结算_{year}.{fmt}"


# ---- the statement (年度结算单) ------------------------------------------------------------------------


def _months(row: AnnualSettlement) -> list[dict]:
    """Every month of the year, with its deposit or "—" where none was reserved."""
    out = []
    for m in range(1, 13):
        code = f"{row.year:04d}-{m:02d}"
        amount = row.monthly_deposits.get(code)
        out.append({
            "code": code,
            "label": month_label(date(row.year, m, 1)),
            "amount": yuan(Decimal(amount)) if amount is not None else "—",
            "open": amount is not None and code in row.unapproved_months,
        })
    return out


def _components(row: AnnualSettlement) -> list[dict]:
    out = []
    for c in row.score_components:
        points = score_value(c.get("points") or 0)
        kind = c.get("kind", "")
        out.append({
            "kind": ComponentKind(kind).label if kind in ComponentKind.values else kind,
            "label": c.get("label", ""),
            "points": points,
            "points_display": str(points),
            "deduction": points < 0,
            "source": c.get("source") or "",
            "note": c.get("note") or "",
        })
    return out


def _current(row: AnnualSettlement) -> tuple[Decimal | None, Decimal]:
    """Today's score and deposit total, to tell a clerk that a row not yet approved is out of date."""
    score = AssessmentScore.objects.filter(institution_id=row.institution_id, year=row.year).values_list("total", flat=True).first()
    deposits = MonthlySettlement.objects.filter(institution_id=row.institution_id, period__year=row.year).aggregate(
        s=Sum("deposit")
    )["s"]
    return score, quantize_money(deposits or 0)


def annual_statement_context(row: AnnualSettlement) -> dict:
    """Everything the annual statement shows; also usable by an HTML page of the same statement."""
    row = AnnualSettlement.objects.select_related("institution", "batch__agency", "batch__approved_by").get(pk=row.pk)
    batch = row.batch
    months = _months(row)
    components = _components(row)
    component_sum = sum((c["points"] for c in components), ZERO)
    stale, current_score, current_deposit = False, None, None
    if not row.frozen:
        current_score, current_deposit = _current(row)
        stale = current_score != row.score or current_deposit != row.deposit_total
    return {
        "title": ANNUAL_STATEMENT_TITLE,
        "row": row,
        "institution": row.institution,
        "agency": batch.agency,
        "year": year_label(row.year),
        "computed_at": local_time(row.computed_at),
        "frozen": row.frozen,
        "approved_by": str(batch.approved_by) if batch.approved_by_id else "",
        "approved_at": local_time(batch.approved_at),
        "months": months,
        "month_rows": list(zip(months[:4], months[4:8], months[8:])),  # printed in three columns of four months
        "month_count": len(row.monthly_deposits),
        "unapproved_months": [_month(code) for code in row.unapproved_months],
        "components": components,
        "component_sum": str(component_sum),
        "clamped": bool(components) and component_sum != row.score,
        "score": score_plain(row.score),
        "stale": stale,
        "current_score": score_plain(current_score) if current_score is not None else "未录入",
        "current_deposit": yuan(current_deposit) if current_deposit is not None else "",
        "formula": FORMULA,
        "money": {
            "deposit_total": yuan(row.deposit_total),
            "released": yuan(row.released),
            "forfeited": yuan(row.forfeited),
            "released_upper": rmb_upper(row.released),
        },
        "generated_at": local_time(timezone.now()),
    }


def annual_statement_pdf(row: AnnualSettlement) -> bytes:
    """The institution's annual statement (A4): each month's deposit, the score and its components,
    and how the deposit total splits into the released and the forfeited amounts."""
    with official_language():
        return html_to_pdf(render_to_string("settlement/annual_statement_pdf.html", annual_statement_context(row)))


def annual_statement_filename(row: AnnualSettlement) -> str:
    return f"年度结算单_{row.institution.code}_{row.year}.pdf"


# ---- the agency's annual summary (年度结算汇总表) -------------------------------------------------------


class AnnualSummaryGroup(SummaryGroup):
    """An agency's AnnualBatch with its rows and subtotal (the monthly group, in annual words)."""

    not_approved = "尚未审批"


@dataclass
class AnnualSummary:
    year: int
    groups: list[AnnualSummaryGroup]
    total: dict[str, Decimal]

    @property
    def institutions(self) -> int:
        return sum(len(g.rows) for g in self.groups)

    @property
    def title(self) -> str:
        return f"{ANNUAL_SUMMARY_TITLE}（{year_label(self.year)}）"


def _sums() -> dict:
    return {name: Sum(name) for name in ANNUAL_AMOUNTS}


def annual_settlement_summary(*, year: int, user=None) -> AnnualSummary:
    """The year's rows grouped by agency batch, with subtotals and a grand total from the database."""
    batches = annual_batches_for(user).filter(year=year)
    rows_qs = annual_settlements_for(user).filter(year=year, batch__in=batches)
    rows = list(
        rows_qs.select_related("batch__approved_by").order_by("batch__agency__division_code", "batch__agency__pk", "institution__code")
    )
    if not rows:
        raise _no_settlement(year)
    groups: dict[int, AnnualSummaryGroup] = {}
    for r in rows:
        groups.setdefault(r.batch_id, AnnualSummaryGroup(batch=r.batch)).rows.append(r)
    for sub in rows_qs.order_by().values("batch").annotate(**_sums()):
        groups[sub["batch"]].subtotal = {name: quantize_money(sub[name]) for name in ANNUAL_AMOUNTS}
    total = rows_qs.order_by().aggregate(**_sums())
    return AnnualSummary(
        year=year, groups=list(groups.values()), total={name: quantize_money(total[name]) for name in ANNUAL_AMOUNTS}
    )


def annual_summary_xlsx(*, year: int, user=None) -> bytes:
    """The agency's annual summary as one sheet: a block per agency with its subtotal, a grand total."""
    with official_language():
        return _summary_xlsx(annual_settlement_summary(year=year, user=user))


def _summary_xlsx(summary: AnnualSummary) -> bytes:
    def amounts(values: dict) -> list:
        """The amount columns of a subtotal or total line; a score has no sum, its cell stays empty."""
        return [values["deposit_total"], None, values["released"], values["forfeited"]]

    def heading(group: AnnualSummaryGroup) -> str:
        text = f"{group.batch.agency.name}（{group.status_label}；{group.approval}"
        open_months = group.rows[0].unapproved_months
        if open_months:
            text += f"；计算时月度结算未审批：{'、'.join(_month(code) for code in open_months)}"
        return text + "）"

    blocks = [
        SheetBlock(
            heading=heading(group),
            rows=[
                [r.institution.code, r.institution.name, quantize_money(r.deposit_total), score_value(r.score),
                 quantize_money(r.released), quantize_money(r.forfeited)]
                for r in group.rows
            ],
            subtotal_label=f"小计：{group.batch.agency.name}（{len(group.rows)} 家）",
            subtotal=amounts(group.subtotal),
        )
        for group in summary.groups
    ]
    return write_xlsx_summary(
        sheet_title=f"年度结算汇总 {summary.year}",
        title=summary.title,
        meta=f"结算年度：{year_label(summary.year)}　制表时间：{local_time(timezone.now())}　金额单位：元",
        columns=ANNUAL_SUMMARY_COLUMNS,
        blocks=blocks,
        total_label=f"合计（{len(summary.groups)} 个经办机构，{summary.institutions} 家协议机构）",
        total=amounts(summary.total),
        widths=(6, 11, 40, 16, 10, 16, 16),
        orientation="portrait",
    )


def annual_summary_filename(year: int) -> str:
    return f"年度结算汇总表_{year}.xlsx"
