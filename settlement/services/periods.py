"""Months, deadlines and the policy parameters that apply to an institution in a month."""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from core.errors import ApplicationError

from ..models import SettlementPolicy


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(period: date, n: int) -> date:
    index = period.year * 12 + period.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_label(period: date) -> str:
    """2026年3月"""
    return f"{period.year}年{period.month}月"


def month_code(period: date) -> str:
    """2026-03 (as in the interchange files)"""
    return f"{period.year:04d}-{period.month:02d}"


def parse_period(value: str) -> date | None:
    """"2026-03" → date(2026, 3, 1); None when it is not a YYYY-MM month."""
    value = (value or "").strip()
    if len(value) != 7 or value[4] != "-" or not (value[:4].isdigit() and value[5:].isdigit()):
        return None
    year, month = int(value[:4]), int(value[5:])
    if not (1 <= month <= 12 and year >= 1900):
        return None
    return date(year, month, 1)


def is_closed(period: date, today: date | None = None) -> bool:
    """A month can be declared and settled only once it is over."""
    return period < month_start(today or timezone.localdate())


def require_closed(period: date, today: date | None = None) -> None:
    if not is_closed(period, today):
        raise ApplicationError(
            f"{month_label(period)}尚未结束，不能申报或结算该月费用（按月结算，次月申报上月费用）。", code="month_not_closed"
        )


@dataclass(frozen=True)
class Deadlines:
    declaration_due: date  # the institution declares by this day (inclusive)
    review_due: date  # the agency reviews by this day (inclusive)


def policy_for(division_code: str, period: date, policies: list[SettlementPolicy] | None = None) -> SettlementPolicy:
    """The most specific region's parameters in force for that month (county > city > region)."""
    candidates = policies if policies is not None else list(SettlementPolicy.objects.filter(valid_from__lte=period))
    best = None
    for p in candidates:
        if p.valid_from > period or not (division_code or "").startswith(p.region_code):
            continue
        if best is None or (len(p.region_code), p.valid_from) > (len(best.region_code), best.valid_from):
            best = p
    if best is None:
        raise ApplicationError(
            f"没有适用于{month_label(period)}的结算政策参数，请系统管理员在后台“结算政策参数”中登记。", code="no_policy"
        )
    return best


def deadlines_for(division_code: str, period: date, policy: SettlementPolicy | None = None) -> Deadlines:
    policy = policy or policy_for(division_code, period)
    following = add_months(period, 1)
    return Deadlines(
        declaration_due=following.replace(day=policy.declaration_due_day),
        review_due=following.replace(day=policy.review_due_day),
    )
