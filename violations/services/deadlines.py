"""Deadlines of the cases onto the task lists (beat, daily): explanations not given by their
deadline (M§35) and rectifications not verified by theirs. Keyed, so reruns add nothing twice and
a missed day is caught up; a task closes once its reason has gone."""

from datetime import date

from django.urls import reverse
from django.utils import timezone

from core.models import TaskItem
from core.text import chinese_date

from ..models import Case, CaseStatus, Rectification, RectificationStatus

KINDS = ("case_explanation_overdue", "rectification_overdue")


def flag_overdue(*, on: date | None = None) -> dict:
    on = on or timezone.localdate()
    wanted = []
    for case in Case.objects.filter(status=CaseStatus.NOTIFIED, explanation_due__lt=on).select_related("institution"):
        wanted.append(TaskItem(
            key=f"case-explanation-overdue:{case.pk}", kind="case_explanation_overdue", due_on=case.explanation_due,
            title=f"违规案件 {case.number}（{case.institution.name}）：说明期限{chinese_date(case.explanation_due)}已过，可转入调查",
            agency_id=case.institution.agency_id, url=reverse("violations:detail", args=[case.pk]),
        ))
    overdue = Rectification.objects.filter(
        status__in=[RectificationStatus.PENDING, RectificationStatus.REPORTED], deadline__lt=on
    ).select_related("case__institution")
    for r in overdue:
        # The agency verifies what is overdue; the institution is asked only while it has not reported.
        sides = ("agency", "institution") if r.status == RectificationStatus.PENDING else ("agency",)
        for side in sides:
            wanted.append(TaskItem(
                key=f"rectification-overdue:{r.pk}:{side}", kind="rectification_overdue", due_on=r.deadline,
                title=f"违规案件 {r.case.number}：整改期限{chinese_date(r.deadline)}已过，"
                + ("请验收整改情况" if side == "agency" else "请尽快报告整改情况"),
                agency_id=r.case.institution.agency_id if side == "agency" else None,
                institution_id=r.case.institution_id if side == "institution" else None,
                url=reverse("violations:detail", args=[r.case_id]),
            ))
    keys = {t.key for t in wanted}
    before = TaskItem.objects.filter(key__in=keys).count()
    TaskItem.objects.bulk_create(wanted, ignore_conflicts=True)
    created = TaskItem.objects.filter(key__in=keys).count() - before
    closed = TaskItem.objects.filter(kind__in=KINDS, done_at__isnull=True).exclude(key__in=keys).update(done_at=timezone.now())
    return {"wanted": len(wanted), "created": created, "closed": closed}


def is_overdue(case: Case, on: date | None = None) -> bool:
    on = on or timezone.localdate()
    return case.status == CaseStatus.NOTIFIED and case.explanation_due is not None and case.explanation_due < on
