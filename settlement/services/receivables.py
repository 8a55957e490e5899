"""What flows into the next settlements besides declared lines (SPEC §4): deductions (recoveries
and refusals, offset against the payable and carried forward when they exceed it), deferrals of
payment (暂缓支付), and corrections of frozen months (adjustments in a later month).

The violation cases (issue 6) call these services; so do the staff pages. Each write takes the
acting user and checks the institution is in the actor's scope.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from core.errors import ApplicationError, PermissionDenied
from core.money import quantize_money
from institutions.selectors import institutions_for

from ..models import (
    Deduction,
    DeductionKind,
    MonthlySettlement,
    PaymentHold,
    SettlementAdjustment,
)
from .periods import add_months, month_label, month_start


def _require_staff(actor, institution) -> None:
    if actor is None:
        return  # the system (a case decision already checked by its own service, a command)
    if not (actor.is_agency_staff or actor.is_portal_admin):
        raise PermissionDenied("只有经办人员可以登记。")
    if not institutions_for(actor).filter(pk=institution.pk).exists():
        raise PermissionDenied("该机构不属于您所在经办机构的管辖范围。", code="out_of_scope")


def parse_money(value, label: str, *, allow_negative: bool = False) -> Decimal:
    """A user-typed amount: a number with at most two decimals (and positive unless allowed)."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ApplicationError(f"{label}无效：应为数字，最多两位小数。", code="invalid_amount") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:
        raise ApplicationError(f"{label}最多两位小数（精确到分）。", code="invalid_amount")
    if amount == 0 or (amount < 0 and not allow_negative):
        raise ApplicationError(f"{label}须大于零。", code="invalid_amount")
    return quantize_money(amount)


def next_open_period(today: date | None = None) -> date:
    """The first month a new deduction or correction can reach: the month being settled now."""
    return add_months(month_start(today or timezone.localdate()), -1)


@transaction.atomic
def deduction_register(
    *, institution, kind: str, amount, reason: str, actor, basis: str = "", source_label: str = "",
    effective_from: date | None = None, recorder=None,
) -> Deduction:
    """actor None with a `recorder`: registered by a violation decision (the case service checked
    who may decide); the recorder is who is named as having registered it."""
    _require_staff(actor, institution)
    if kind not in DeductionKind.values:
        raise ApplicationError("请选择应收类型。", code="invalid_kind")
    if not (reason or "").strip():
        raise ApplicationError("请写明事由。", code="reason_required")
    return Deduction.objects.create(
        institution=institution, kind=kind, amount=parse_money(amount, "金额"), reason=reason.strip(),
        basis=basis.strip(), source_label=source_label.strip(),
        effective_from=month_start(effective_from) if effective_from else next_open_period(),
        created_by=recorder or actor,
    )


def deduction_remaining(deduction: Deduction) -> Decimal:
    used = deduction.offsets.filter(settlement__frozen=True).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
    return deduction.amount - used


@transaction.atomic
def hold_start(
    *, institution, reason: str, actor, basis: str = "", source_label: str = "", on: date | None = None, recorder=None
) -> PaymentHold:
    """暂缓支付: from now on the institution's settlements are computed but not paid."""
    _require_staff(actor, institution)
    if not (reason or "").strip():
        raise ApplicationError("暂缓支付须写明事由。", code="reason_required")
    if PaymentHold.objects.select_for_update().filter(institution=institution, lifted_on__isnull=True).exists():
        raise ApplicationError("该机构已处于暂缓支付状态。", code="already_held")
    return PaymentHold.objects.create(
        institution=institution, reason=reason.strip(), basis=basis.strip(), source_label=source_label.strip(),
        started_on=on or timezone.localdate(), created_by=recorder or actor,
    )


@transaction.atomic
def hold_lift(*, hold: PaymentHold, actor, note: str = "", on: date | None = None, recorder=None) -> PaymentHold:
    """Lift a deferral: what was held is paid with the next settlement that is run."""
    locked = PaymentHold.objects.select_for_update().select_related("institution").get(pk=hold.pk)
    _require_staff(actor, locked.institution)
    if locked.lifted_on is not None:
        raise ApplicationError("该暂缓支付已解除。", code="already_lifted")
    on = on or timezone.localdate()
    if on < locked.started_on:
        raise ApplicationError("解除日期不能早于暂缓起始日期。", code="invalid_date")
    locked.lifted_on, locked.lifted_by, locked.lift_note = on, recorder or actor, (note or "").strip()
    locked.save(update_fields=["lifted_on", "lifted_by", "lift_note"])
    return locked


@transaction.atomic
def adjustment_register(*, corrects: MonthlySettlement, amount, reason: str, actor) -> SettlementAdjustment:
    """Correct a frozen month: the amount (positive: paid more; negative: recovered) enters the
    approved amount of the next settlement, deposit included; the frozen row is never edited."""
    _require_staff(actor, corrects.institution)
    if not corrects.frozen:
        raise ApplicationError(
            f"{month_label(corrects.period)}的结算尚未审批，直接修改审核结果后重新运行结算即可。", code="not_frozen"
        )
    if not (reason or "").strip():
        raise ApplicationError("请写明更正事由。", code="reason_required")
    return SettlementAdjustment.objects.create(
        institution=corrects.institution, corrects=corrects, amount=parse_money(amount, "调整金额", allow_negative=True),
        effective_from=max(next_open_period(), add_months(corrects.period, 1)), reason=reason.strip(), created_by=actor,
    )


def receivables_for(institution) -> dict:
    """An institution's open receivables and holds, for its pages and statements."""
    deductions = list(
        Deduction.objects.filter(institution=institution).annotate(
            used=Sum("offsets__amount", filter=Q(offsets__settlement__frozen=True))
        ).order_by("effective_from", "pk")
    )
    for d in deductions:
        d.remaining = d.amount - (d.used or Decimal("0.00"))
    return {
        "deductions": deductions,
        "outstanding": sum((d.remaining for d in deductions), Decimal("0.00")),
        "holds": list(PaymentHold.objects.filter(institution=institution).order_by("-started_on")),
        "adjustments": list(SettlementAdjustment.objects.filter(institution=institution).select_related("corrects", "applied_in")),
    }
