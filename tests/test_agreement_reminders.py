"""Agreement reminders on the task lists (D§33: renewal one month before expiry; notices) and the
nightly jobs (expiry, reminders) as Celery tasks on the beat schedule."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.models import Agreement, AgreementStatus, TerminationKind
from agreements.services.lifecycle import (
    agreement_complete_term,
    agreement_give_notice,
    agreement_renew,
    agreement_terminate,
)
from agreements.services.reminders import reminders_refresh
from agreements.tasks import expire_due_agreements, refresh_agreement_reminders
from config.beat import BEAT_SCHEDULE
from core.models import TaskItem

YINCHUAN = "银川市第一人民医院"
ZONGYIYUAN = "宁夏医科大学总医院"

KINDS = ("agreement_expiry", "agreement_notice")


def today():
    return timezone.localdate()


def fmt(d):
    return f"{d.year}年{d.month}月{d.day}日"


def registry_agreement(name, type_="medical"):
    return Agreement.objects.get(institution__name=name, type=type_, from_registry=True)


def ending_in(name, days, actor):
    ag = registry_agreement(name)
    end = today() + timedelta(days=days)
    return agreement_complete_term(
        agreement=ag, valid_from=end - timedelta(days=3 * 365), valid_to=end, signed_on=None, actor=actor
    ).agreement


def tasks(**filters):
    return TaskItem.objects.filter(kind__in=KINDS, **filters)


@pytest.fixture
def staff(users):
    return users["staff_region"]


@pytest.fixture
def soon_and_later(staff):
    """One agreement ending in 20 days (inside the month, D§33) and one ending in 60 days."""
    return ending_in(YINCHUAN, 20, staff), ending_in(ZONGYIYUAN, 60, staff)


def test_renewal_reminder_only_for_the_agreement_ending_within_a_month(soon_and_later):
    soon, later = soon_and_later
    result = reminders_refresh(on=today())
    assert result["created"] == 1
    (task,) = tasks()
    assert task.kind == "agreement_expiry"
    assert (task.agency_id, task.institution_id) == (soon.agency_id, soon.institution_id)
    assert task.due_on == soon.valid_to
    assert task.done_at is None
    assert task.url == reverse("agreements:detail", args=[soon.pk])
    assert soon.party_b_name in task.title and fmt(soon.valid_to) in task.title
    assert "续签" in task.title and "医疗协议第四十二条" in task.title  # the article of its own type
    assert not tasks(institution=later.institution).exists()


def test_refreshing_again_or_on_a_later_day_adds_nothing(soon_and_later):
    soon, _ = soon_and_later
    reminders_refresh(on=today())
    (task,) = tasks()
    assert reminders_refresh(on=today())["created"] == 0
    assert reminders_refresh(on=today() + timedelta(days=5))["created"] == 0
    assert list(tasks()) == [task]
    assert tasks().get().done_at is None


def test_a_missed_day_is_caught_up(soon_and_later):
    soon, later = soon_and_later
    # The job did not run for ten days: the reminder is still written (a window, not "exactly 30 days").
    assert reminders_refresh(on=today() + timedelta(days=10))["created"] == 1
    assert tasks().get().institution_id == soon.institution_id
    # 29 days on, the 60-day agreement has entered its last month too.
    assert reminders_refresh(on=today() + timedelta(days=29))["created"] == 1
    assert set(tasks().values_list("institution_id", flat=True)) == {soon.institution_id, later.institution_id}


def test_renewing_closes_the_reminder(soon_and_later, staff):
    soon, _ = soon_and_later
    reminders_refresh(on=today())
    agreement_renew(agreement=soon, actor=staff)
    result = reminders_refresh(on=today())
    assert result["closed"] == 1 and result["created"] == 0
    (task,) = tasks()
    assert task.done_at is not None
    assert reminders_refresh(on=today() + timedelta(days=1)) == {"wanted": 0, "created": 0, "closed": 0}


def test_terminating_closes_the_reminder(soon_and_later, staff):
    soon, _ = soon_and_later
    reminders_refresh(on=today())
    agreement_terminate(agreement=soon, kind=TerminationKind.MUTUAL, reason="协商一致", actor=staff)
    assert reminders_refresh(on=today())["closed"] == 1
    assert tasks().get().done_at is not None
    assert not tasks(done_at__isnull=True).exists()


def test_a_written_notice_puts_its_date_on_the_task_list(staff):
    ag = registry_agreement(YINCHUAN)  # term pending: no renewal reminder, only the notice
    agreement_give_notice(agreement=ag, by="B", reason="停止承接工伤业务", actor=staff, on=today())
    effective = today() + timedelta(days=30)
    assert reminders_refresh(on=today())["created"] == 1
    (task,) = tasks()
    assert task.kind == "agreement_notice"
    assert task.due_on == effective
    assert (task.agency_id, task.institution_id) == (ag.agency_id, ag.institution_id)
    assert fmt(effective) in task.title and "书面通知提前解除" in task.title
    assert reminders_refresh(on=today())["created"] == 0

    agreement_terminate(agreement=ag, kind=TerminationKind.NOTICE, reason="通知期满", actor=staff, on=effective)
    reminders_refresh(on=effective)
    assert tasks().get().done_at is not None


def test_celery_tasks_expire_and_refresh_as_the_services_do(staff, soon_and_later):
    soon, later = soon_and_later
    ended = registry_agreement("固原市人民医院")
    ended = agreement_complete_term(
        agreement=ended, valid_from=today() - timedelta(days=400), valid_to=today() - timedelta(days=1),
        signed_on=None, actor=staff,
    ).agreement

    assert expire_due_agreements.delay().get() == 1
    assert Agreement.objects.get(pk=ended.pk).status == AgreementStatus.EXPIRED
    assert Agreement.objects.get(pk=soon.pk).status == AgreementStatus.ACTIVE
    assert expire_due_agreements.delay().get() == 0

    assert refresh_agreement_reminders.delay().get()["created"] == 1
    assert tasks().get().institution_id == soon.institution_id
    assert refresh_agreement_reminders.delay().get()["created"] == 0
    assert tasks().count() == 1


def test_beat_schedule_runs_both_agreement_jobs():
    from config.celery import app

    names = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert {"agreements.expire_due", "agreements.refresh_reminders"} <= names
    assert {expire_due_agreements.name, refresh_agreement_reminders.name} <= names
    assert app.conf.beat_schedule == BEAT_SCHEDULE
