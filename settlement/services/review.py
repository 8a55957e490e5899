"""Review of declared lines (SPEC §4, W§28: by the 25th): approve, reduce or refuse each line with a
reason that cites its article; hold medical-accident lines until the appraisal (M§30, R§21).

A decision on a line whose month has been approved for payment does not reopen that month: a
line still pending or held then is decided as `carried` and paid in the next settlement; a line
that was already decided and paid is frozen and is corrected by an adjustment instead.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from core.errors import ApplicationError, Conflict, PermissionDenied
from core.money import quantize_money, yuan
from institutions.selectors import institutions_for

from ..models import (
    DECIDED,
    BulkReview,
    DeclarationLine,
    LineStatus,
    ReviewOutcome,
    ReviewReason,
)
from .month_end import lock_months_shared
from .periods import month_label

APPROVE_REASON = "compliant"  # the reason an approval gives unless another is chosen

_STATUS_BY_OUTCOME = {
    ReviewOutcome.APPROVE: LineStatus.APPROVED,
    ReviewOutcome.REDUCE: LineStatus.REDUCED,
    ReviewOutcome.REFUSE: LineStatus.REFUSED,
    ReviewOutcome.HOLD: LineStatus.HELD,
}


def _require_reviewer(actor) -> None:
    if actor is not None and not (actor.is_agency_staff or actor.is_portal_admin):
        raise PermissionDenied("只有经办人员可以审核申报。")


def reasons_for(outcome: str, category: str = "") -> list[ReviewReason]:
    return [
        r for r in ReviewReason.objects.filter(active=True)
        if outcome in r.outcomes and (not r.categories or not category or category in r.categories)
    ]


def _reason(outcome: str, code: str, category: str) -> ReviewReason:
    if not code:
        if outcome == ReviewOutcome.APPROVE:
            code = APPROVE_REASON
        else:
            raise ApplicationError(f"{ReviewOutcome(outcome).label}须选择审核理由。", code="reason_required")
    reason = ReviewReason.objects.filter(code=code, active=True).first()
    if reason is None:
        raise ApplicationError(f"审核理由“{code}”不存在或已停用。", code="unknown_reason")
    if outcome not in reason.outcomes:
        raise ApplicationError(
            f"理由“{reason.label}”不适用于{ReviewOutcome(outcome).label}。", code="reason_not_applicable"
        )
    if reason.categories and category not in reason.categories:
        raise ApplicationError(f"理由“{reason.label}”只适用于辅助器具等特定类别的费用。", code="reason_not_applicable")
    return reason


def _amount(outcome: str, amount, line: DeclarationLine) -> Decimal | None:
    if outcome == ReviewOutcome.APPROVE:
        return line.in_scope
    if outcome == ReviewOutcome.REFUSE:
        return Decimal("0.00")
    if outcome == ReviewOutcome.HOLD:
        return None
    try:
        value = Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        raise ApplicationError("核减后金额无效，应为数字，最多两位小数。", code="invalid_amount") from None
    if not value.is_finite():  # "Infinity", "NaN"
        raise ApplicationError("核减后金额无效，应为数字，最多两位小数。", code="invalid_amount")
    if value != value.quantize(Decimal("0.01")) or value.as_tuple().exponent < -2:
        raise ApplicationError("核减后金额最多两位小数。", code="invalid_amount")
    if value < 0:
        raise ApplicationError("核减后金额不能为负数。", code="invalid_amount")
    if value >= line.in_scope:
        raise ApplicationError(
            f"核减后金额须小于申报的统筹范围内费用 {line.in_scope}；全额支付请选“通过”。", code="invalid_amount"
        )
    if value == 0:
        raise ApplicationError("核减为零即拒付，请选“拒付”。", code="invalid_amount")
    return quantize_money(value)


@dataclass
class Decision:
    line: DeclarationLine
    message: str


@transaction.atomic
def line_decide(
    *, line: DeclarationLine, outcome: str, actor, reason_code: str = "", amount=None, note: str = ""
) -> Decision:
    """One line's decision. Re-deciding is allowed until the line has been paid in a frozen month."""
    _require_reviewer(actor)
    if outcome not in ReviewOutcome.values:
        raise ApplicationError(f"未知的审核结果“{outcome}”。", code="invalid_outcome")
    locked = (
        DeclarationLine.objects.select_for_update(of=("self",))
        .select_related("declaration__institution")
        .get(pk=line.pk)
    )
    institution = locked.declaration.institution
    if actor is not None and not institutions_for(actor).filter(pk=institution.pk).exists():
        raise PermissionDenied("该申报不属于您所在经办机构的管辖范围。", code="out_of_scope")
    period = locked.declaration.period
    frozen = bool(lock_months_shared(period, [institution.agency_id]))
    paid_in_frozen_month = (locked.status in DECIDED and not locked.carried) or locked.carried_into_id is not None
    if frozen and paid_in_frozen_month:
        raise Conflict(
            f"该明细已随{month_label(period)}的结算审批拨付（冻结），不能更改；如需更正请登记结算调整。", code="frozen"
        )
    if outcome == ReviewOutcome.HOLD and locked.status in DECIDED:
        raise ApplicationError("已审核的明细不能再暂缓。", code="invalid_outcome")
    reason = _reason(outcome, reason_code, locked.category)
    note = (note or "").strip()
    if reason.note_required and not note:
        raise ApplicationError(f"选择“{reason.label}”时须填写审核说明。", code="note_required")
    locked.status = _STATUS_BY_OUTCOME[outcome]
    locked.approved_amount = _amount(outcome, amount, locked)
    locked.reason = reason
    locked.review_note = note
    locked.reviewed_by = actor
    locked.reviewed_at = timezone.now()
    locked.bulk_review = None
    locked.carried = frozen
    locked.save()
    message = f"已{ReviewOutcome(outcome).label}：{locked.name} {locked.visit_date}"
    if frozen and outcome != ReviewOutcome.HOLD:
        message += f"（{month_label(period)}已审批拨付，该明细计入以后月份的结算）"
    return Decision(locked, message)


@dataclass
class BulkResult:
    review: BulkReview | None
    approved: int
    amount: Decimal
    carried: int
    still_held: int
    still_pending: int

    def as_text(self, period: date) -> str:
        text = f"{month_label(period)}：批量审核通过 {self.approved} 条，金额 {yuan(self.amount)}。"
        if self.carried:
            text += f"其中 {self.carried} 条所在月份已审批拨付，计入以后月份的结算。"
        if self.still_held:
            text += f"暂缓（待医疗事故鉴定）{self.still_held} 条未处理，须逐条放行或拒付。"
        return text


@transaction.atomic
def lines_approve_pending(*, period: date, actor, filters: dict | None = None) -> BulkResult:
    """Approve every pending line of the month in the caller's scope (and filters) in one UPDATE.
    Held lines stay held: a medical-accident line waits for its appraisal."""
    from ..selectors import review_lines  # noqa: PLC0415 (selectors import services for labels)

    _require_reviewer(actor)
    reason = _reason(ReviewOutcome.APPROVE, APPROVE_REASON, "")
    scope = review_lines(user=actor, period=period, filters=filters or {})
    # order_by(): the screen's ordering would otherwise join SELECT DISTINCT and return every line.
    agencies = set(scope.order_by().values_list("declaration__institution__agency_id", flat=True).distinct())
    frozen = lock_months_shared(period, agencies) if agencies else set()
    pending = scope.filter(status=LineStatus.PENDING).order_by()
    counted = pending.aggregate(n=Count("pk"), amount=Sum("in_scope"))
    held = scope.filter(status=LineStatus.HELD).count()
    if not counted["n"]:
        return BulkResult(None, 0, Decimal("0.00"), 0, held, 0)
    bulk = BulkReview.objects.create(
        period=period, actor=actor, filters={k: str(v) for k, v in (filters or {}).items() if v},
        lines=counted["n"], amount=quantize_money(counted["amount"]),
    )
    now = timezone.now()
    common = {
        "status": LineStatus.APPROVED, "reason": reason, "reviewed_by": actor, "reviewed_at": now,
        "bulk_review": bulk, "review_note": "",
    }
    # DeclarationLine rows are filtered through the scope's ids: UPDATE cannot follow joins.
    ids = pending.values("pk")
    carried = 0
    if frozen:
        carried = DeclarationLine.objects.filter(
            pk__in=ids, declaration__institution__agency_id__in=frozen
        ).update(approved_amount=F("in_scope"), carried=True, **common)
    DeclarationLine.objects.filter(pk__in=pending.exclude(declaration__institution__agency_id__in=frozen).values("pk")).update(
        approved_amount=F("in_scope"), carried=False, **common
    )
    return BulkResult(bulk, counted["n"], bulk.amount, carried, held, 0)


def review_progress(qs) -> dict:
    """Counts and amounts by status for a set of lines (the review screen's summary)."""
    rows = qs.order_by().values("status").annotate(n=Count("pk"), declared=Sum("in_scope"), approved=Sum("approved_amount"))
    out = {s.value: {"label": s.label, "n": 0, "declared": Decimal("0.00"), "approved": Decimal("0.00")} for s in LineStatus}
    for r in rows:
        out[r["status"]].update(n=r["n"], declared=quantize_money(r["declared"] or 0), approved=quantize_money(r["approved"] or 0))
    return out


def lines_withdraw(*, lines, actor) -> int:
    """An institution withdraws its own pending lines (a typo) before the agency has decided them."""
    if actor is None or not actor.is_institution_admin:
        raise PermissionDenied("只有协议机构可以撤回本机构的申报明细。")
    qs = DeclarationLine.objects.filter(
        pk__in=[line.pk for line in lines], declaration__institution_id=actor.institution_id
    )
    if qs.filter(~Q(status=LineStatus.PENDING)).exists():
        raise ApplicationError("只能撤回尚未审核的明细。", code="already_reviewed")
    count, _ = qs.delete()
    return count
