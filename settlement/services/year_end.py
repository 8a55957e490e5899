"""The year-end settlement of the quality deposit (SPEC §5, W§28):

    deposit_total = Σ the year's monthly deposits (the months settled in that year)
    released      = round_half_up(deposit_total × score / 100, 0.01)
    forfeited     = deposit_total − released

A stay over the new year is settled in the month, so the year, of its discharge (W§26): a line
can only be declared for the month its discharge falls in or a later one (declaration_rows).

An institution with deposits but no score is named and left for a later run. Guarantees as for
the month: one transaction; each agency's year locked FOR UPDATE in a fixed order; approved
years are never recomputed; rows keep their ids across re-runs and store the score and its
components as they were used.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from core.errors import ApplicationError, Conflict, PermissionDenied
from core.money import quantize_money, yuan
from institutions.models import HandlingAgency, Institution

from ..models import (
    AnnualBatch,
    AnnualSettlement,
    AssessmentScore,
    BatchStatus,
    MonthlyBatch,
    MonthlySettlement,
    RunKind,
)
from .batches import agencies_in_scope, lock_batch, require_settling_staff, save_rows_in_place
from .month_end import Progress
from .periods import month_code
from .runs import register

ZERO = Decimal("0.00")


@dataclass
class AnnualBatchResult:
    agency: HandlingAgency
    status: str  # "calculated" | "frozen"
    rows: int = 0
    deposit_total: Decimal = ZERO
    released: Decimal = ZERO
    forfeited: Decimal = ZERO
    missing_scores: list[str] = field(default_factory=list)  # "JG000001 银川市第一人民医院"
    unapproved_months: list[str] = field(default_factory=list)


@dataclass
class AnnualRunResult:
    year: int
    batches: list[AnnualBatchResult] = field(default_factory=list)

    @property
    def missing_scores(self) -> list[str]:
        return [name for b in self.batches for name in b.missing_scores]

    def totals(self) -> dict[str, Decimal]:
        out = {"deposit_total": ZERO, "released": ZERO, "forfeited": ZERO}
        for b in self.batches:
            if b.status == "calculated":
                for k in out:
                    out[k] += getattr(b, k)
        return out

    def as_dict(self) -> dict:
        return {
            "year": self.year, "totals": {k: str(v) for k, v in self.totals().items()},
            "missing_scores": self.missing_scores,
            "batches": [
                {"agency": b.agency.name, "status": b.status, "rows": b.rows, "deposit_total": str(b.deposit_total),
                 "released": str(b.released), "forfeited": str(b.forfeited), "missing_scores": b.missing_scores,
                 "unapproved_months": b.unapproved_months}
                for b in self.batches
            ],
        }

    def as_text(self) -> str:
        t = self.totals()
        calculated = [b for b in self.batches if b.status == "calculated"]
        lines = [
            f"{self.year}年度质量保证金结算完成：{sum(b.rows for b in calculated)} 家协议机构；保证金总额 {yuan(t['deposit_total'])}，"
            f"返还 {yuan(t['released'])}，扣留 {yuan(t['forfeited'])}。"
        ]
        for b in self.batches:
            if b.status == "frozen":
                lines.append(f"  {b.agency.name}：该年度已审批（冻结），未重算。")
                continue
            if b.rows:
                lines.append(
                    f"  {b.agency.name}：{b.rows} 家，保证金总额 {yuan(b.deposit_total)}，返还 {yuan(b.released)}，扣留 {yuan(b.forfeited)}"
                )
            if b.unapproved_months:
                lines.append(f"  {b.agency.name}：以下月份的月度结算尚未审批，按当前结果计入：{'、'.join(b.unapproved_months)}")
        if self.missing_scores:
            lines.append(f"未录入考核得分、本次未结算（录入后再次运行即可）：{'、'.join(self.missing_scores)}")
        return "\n".join(lines)


def require_year_over(year: int) -> None:
    if year >= timezone.localdate().year:
        raise ApplicationError(f"{year}年度尚未结束，次年1月起才能办理年度结算。", code="year_not_over")


def agencies_with_deposits(*, year: int, actor=None, agency: HandlingAgency | None = None) -> list[HandlingAgency]:
    require_settling_staff(actor, "年度结算")
    qs = agencies_in_scope(actor, agency)
    if agency is not None:
        return qs
    deposits = MonthlySettlement.objects.filter(institution__agency=OuterRef("pk"), period__year=year)
    return list(qs.filter(Exists(deposits)).order_by("pk"))


def _lock_batch(year: int, agency: HandlingAgency) -> AnnualBatch:
    return lock_batch(AnnualBatch, year=year, agency=agency)


def _compute(batch: AnnualBatch, *, now) -> AnnualBatchResult:
    year, agency = batch.year, batch.agency
    monthly = (
        MonthlySettlement.objects.filter(institution__agency=agency, period__year=year)
        .values("institution", "period")
        .annotate(deposit=Sum("deposit"))
        .order_by("institution", "period")
    )
    deposits: dict[int, dict[str, Decimal]] = {}
    for m in monthly:
        deposits.setdefault(m["institution"], {})[month_code(m["period"])] = m["deposit"]
    unapproved = sorted(
        month_code(p) for p in MonthlyBatch.objects.filter(agency=agency, period__year=year)
        .exclude(status=BatchStatus.APPROVED).exclude(rows__isnull=True).values_list("period", flat=True).distinct()
    )
    scores = {
        s.institution_id: s
        for s in AssessmentScore.objects.filter(year=year, institution__in=deposits, total__isnull=False).prefetch_related("components")
    }
    institutions = {i.pk: i for i in Institution.objects.filter(pk__in=deposits)}
    existing = {row.institution_id: row for row in AnnualSettlement.objects.filter(batch=batch)}
    result = AnnualBatchResult(agency=agency, status="calculated", unapproved_months=unapproved)
    rows = []
    for inst_id in sorted(deposits, key=lambda pk: institutions[pk].code):
        inst = institutions[inst_id]
        score = scores.get(inst_id)
        if score is None:
            result.missing_scores.append(f"{inst.code} {inst.name}")
            continue
        total = sum(deposits[inst_id].values(), ZERO)
        released = quantize_money(total * score.total / 100)
        row = AnnualSettlement(
            batch=batch, institution=inst, year=year, deposit_total=total,
            monthly_deposits={k: str(v) for k, v in deposits[inst_id].items()}, unapproved_months=unapproved,
            score=score.total, released=released, forfeited=total - released, computed_at=now,
            score_components=[
                {"kind": c.kind, "label": c.label, "points": str(c.points), "source": c.source_label, "note": c.note}
                for c in score.components.all()
            ],
        )
        rows.append(row)
        result.rows += 1
        result.deposit_total += total
        result.released += released
        result.forfeited += row.forfeited
    save_rows_in_place(AnnualSettlement, rows, existing, _ROW_FIELDS)
    batch.status, batch.calculated_at = BatchStatus.CALCULATED, now
    batch.save(update_fields=["status", "calculated_at"])
    return result


_ROW_FIELDS = ["deposit_total", "monthly_deposits", "unapproved_months", "score", "score_components", "released",
               "forfeited", "computed_at"]


def settlement_annual_run(
    *, year: int, actor=None, agency: HandlingAgency | None = None, progress: Progress | None = None
) -> AnnualRunResult:
    require_year_over(year)
    agencies = agencies_with_deposits(year=year, actor=actor, agency=agency)
    if not agencies:
        raise ApplicationError(f"{year}年度没有预留质量保证金（没有该年度的月度结算），无需年度结算。", code="no_deposits")
    result = AnnualRunResult(year=year)
    now = timezone.now()
    with transaction.atomic():
        for done, ag in enumerate(agencies):
            if progress:
                progress(done, len(agencies), ag.name)
            batch = _lock_batch(year, ag)
            if batch.frozen:
                if agency is not None:
                    raise Conflict(f"{ag.name}{year}年度的年度结算已审批并冻结，不能重算。", code="frozen")
                result.batches.append(AnnualBatchResult(agency=ag, status="frozen"))
                continue
            result.batches.append(_compute(batch, now=now))
    if progress:
        progress(len(agencies), len(agencies), "")
    return result


@transaction.atomic
def settlement_annual_approve(*, year: int, agency: HandlingAgency, actor, expected_released: Decimal | None = None) -> AnnualBatchResult:
    """Approve an agency's year: every month of the year must be approved first (the deposits are
    then final); the year is recomputed under the lock and frozen."""
    if actor is None or not (actor.is_agency_staff or actor.is_portal_admin):
        raise PermissionDenied("只有经办人员可以审批年度结算。")
    agencies_with_deposits(year=year, actor=actor, agency=agency)  # scope check
    batch = _lock_batch(year, agency)
    if batch.frozen:
        raise Conflict(f"{year}年度的年度结算已审批，不能重复审批。", code="frozen")
    if batch.status != BatchStatus.CALCULATED:
        raise ApplicationError(f"{year}年度尚未计算年度结算，请先运行年度结算。", code="not_calculated")
    result = _compute(batch, now=timezone.now())
    if result.unapproved_months:
        raise ApplicationError(
            f"{year}年度以下月份的月度结算尚未审批，质量保证金总额未定：{'、'.join(result.unapproved_months)}。", code="months_open"
        )
    if result.missing_scores:
        raise ApplicationError(
            f"以下机构尚未录入{year}年度考核得分，不能审批：{'、'.join(result.missing_scores)}。", code="missing_scores"
        )
    if expected_released is not None and quantize_money(expected_released) != result.released:
        raise Conflict(
            f"结算结果在您查看后已变化（返还合计现为 {yuan(result.released)}），请核对后再审批。", code="stale"
        )
    AnnualSettlement.objects.filter(batch=batch).update(frozen=True)
    batch.status, batch.approved_by, batch.approved_at = BatchStatus.APPROVED, actor, timezone.now()
    batch.save(update_fields=["status", "approved_by", "approved_at"])
    return result


@register(RunKind.ANNUAL)
def _annual(*, period: date, actor, agency, progress):
    return settlement_annual_run(year=period.year, actor=actor, agency=agency, progress=progress)
