"""Agreement deadlines onto the task lists (D§33: renewal one month before expiry; notices).

Idempotent and catching up: every live agreement whose term ends within the window gets one
task, keyed by the agreement and its end date, whatever day the job runs; a rerun adds nothing.
Tasks whose reason has gone (renewed, terminated, term changed) are closed.
"""

from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from core.models import TaskItem
from core.text import chinese_date as _fmt

from ..models import LIVE_STATUSES, Agreement

RENEWAL_WINDOW_DAYS = 31
RENEWAL_ARTICLE = {"medical": "（医疗协议第四十二条）", "rehabilitation": "（康复协议第三十条）", "devices": "（辅助器具协议第三十三条）"}  # "一个月": the longest month, so a 31-day month is never missed



def _task(key, kind, title, due_on, agreement) -> TaskItem:
    return TaskItem(
        key=key, kind=kind, title=title, due_on=due_on, agency_id=agreement.agency_id,
        institution_id=agreement.institution_id, url=reverse("agreements:detail", args=[agreement.pk]),
    )


def reminders_refresh(*, on: date | None = None) -> dict:
    on = on or timezone.localdate()
    live = Agreement.objects.filter(status__in=LIVE_STATUSES)
    expiring = live.filter(valid_to__gte=on, valid_to__lte=on + timedelta(days=RENEWAL_WINDOW_DAYS), successor__isnull=True)
    noticed = live.filter(notice_effective_on__isnull=False)
    wanted = [
        _task(f"agreement-expiry:{a.pk}:{a.valid_to}", "agreement_expiry",
              f"{a.party_b_name}的{a.get_type_display()}服务协议将于{_fmt(a.valid_to)}到期，请办理续签{RENEWAL_ARTICLE[a.type]}",
              a.valid_to, a)
        for a in expiring
    ] + [
        _task(f"agreement-notice:{a.pk}:{a.notice_effective_on}", "agreement_notice",
              f"{a.party_b_name}的{a.get_type_display()}服务协议已书面通知提前解除，最早可于{_fmt(a.notice_effective_on)}解除",
              a.notice_effective_on, a)
        for a in noticed
    ]
    keys = {t.key for t in wanted}
    existing = TaskItem.objects.filter(key__in=keys).count()
    # The unique key makes a rerun, or two runs at once, add nothing twice.
    TaskItem.objects.bulk_create(wanted, ignore_conflicts=True)
    created = TaskItem.objects.filter(key__in=keys).count() - existing
    # Close reminders about agreements no longer live, renewed, or whose dates moved.
    closed = (
        TaskItem.objects.filter(kind__in=["agreement_expiry", "agreement_notice"], done_at__isnull=True)
        .exclude(key__in=keys)
        .update(done_at=timezone.now())
    )
    return {"wanted": len(wanted), "created": created, "closed": closed}
