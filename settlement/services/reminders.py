"""Declaration and review deadlines onto the task lists (W§28: declare by the 10th, review by the 25th).

Keyed by what they remind of, so a rerun or a catch-up after a missed day adds nothing twice;
a reminder closes once its reason has gone (declared, reviewed, approved).
"""

from datetime import date

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from agreements.models import LIVE_STATUSES, Agreement
from core.models import TaskItem
from core.text import chinese_date
from institutions.models import Institution

from ..models import BatchStatus, Declaration, DeclarationLine, LineStatus, MonthlyBatch, SettlementPolicy
from .periods import add_months, deadlines_for, month_code, month_label, month_start, policy_for

KINDS = ("settlement_declare", "settlement_undeclared", "settlement_review", "settlement_approve")


def reminders_refresh(*, on: date | None = None) -> dict:
    on = on or timezone.localdate()
    period = add_months(month_start(on), -1)  # the month being declared and reviewed now
    policies = list(SettlementPolicy.objects.all())
    wanted: list[TaskItem] = []

    live = Agreement.objects.filter(institution=OuterRef("pk"), status__in=LIVE_STATUSES)
    declared = Declaration.objects.filter(institution=OuterRef("pk"), period=period, lines__isnull=False)
    undeclared = list(Institution.objects.filter(Exists(live)).exclude(Exists(declared)).order_by("pk"))
    by_agency: dict[int, int] = {}
    for inst in undeclared:
        by_agency[inst.agency_id] = by_agency.get(inst.agency_id, 0) + 1
    for agency_id, n in by_agency.items():
        # One line for the agency, not one per institution; the count is in the key, so a new
        # count replaces the old line.
        wanted.append(TaskItem(
            key=f"settlement-undeclared:{agency_id}:{month_code(period)}:{n}", kind="settlement_undeclared",
            title=f"{n} 家协议机构尚未申报{month_label(period)}的费用", due_on=None, agency_id=agency_id,
            url=reverse("settlement:declaration_list") + f"?month={month_code(period)}",
        ))
    for inst in undeclared:
        due = deadlines_for(inst.division_code, period, policy_for(inst.division_code, period, policies)).declaration_due
        wanted.append(TaskItem(
            key=f"settlement-declare:{inst.pk}:{month_code(period)}", kind="settlement_declare",
            title=f"{inst.name}：请于{chinese_date(due)}前申报{month_label(period)}的工伤医疗费用（乌海办法第二十八条）",
            due_on=due, institution=inst, url=reverse("settlement:declaration_new"),
        ))

    pending = (
        DeclarationLine.objects.filter(status__in=[LineStatus.PENDING, LineStatus.HELD], declaration__period__lte=period)
        .values_list("declaration__institution__agency_id", "declaration__period", "declaration__institution__division_code")
        .distinct()
    )
    seen = set()
    for agency_id, p, division in pending:
        if (agency_id, p) in seen:
            continue
        seen.add((agency_id, p))
        due = deadlines_for(division, p, policy_for(division, p, policies)).review_due
        wanted.append(TaskItem(
            key=f"settlement-review:{agency_id}:{month_code(p)}", kind="settlement_review",
            title=f"审核{month_label(p)}的申报明细（{chinese_date(due)}前审核完毕）", due_on=due, agency_id=agency_id,
            url=reverse("settlement:review") + f"?month={month_code(p)}",
        ))

    for batch in MonthlyBatch.objects.filter(status=BatchStatus.CALCULATED).select_related("agency"):
        wanted.append(TaskItem(
            key=f"settlement-approve:{batch.pk}", kind="settlement_approve",
            title=f"审批{month_label(batch.period)}的月度结算并拨付", due_on=None, agency_id=batch.agency_id,
            url=reverse("settlement:month", args=[month_code(batch.period)]),
        ))

    keys = {t.key for t in wanted}
    before = TaskItem.objects.filter(key__in=keys).count()
    TaskItem.objects.bulk_create(wanted, ignore_conflicts=True)
    created = TaskItem.objects.filter(key__in=keys).count() - before
    # Reopen nothing; close what is no longer wanted (declared, reviewed, approved, older months).
    closed = (
        TaskItem.objects.filter(kind__in=KINDS, done_at__isnull=True).exclude(key__in=keys).update(done_at=timezone.now())
    )
    return {"wanted": len(wanted), "created": created, "closed": closed}
