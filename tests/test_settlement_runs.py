"""Month-end runs as rows a page follows (SettlementRun through Celery, run in-process in the tests),
and the declaration and review reminders (W§28: declare by the 10th, review by the 25th)."""

from datetime import date
from decimal import Decimal

import pytest

from agreements.models import LIVE_STATUSES, Agreement, TerminationKind
from agreements.services.lifecycle import agreement_terminate
from core.models import TaskItem
from settlement.models import MonthlySettlement, RunKind, RunStatus, SettlementRun
from settlement.services import month_end
from settlement.services.reminders import reminders_refresh
from settlement.services.review import lines_approve_pending
from settlement.services.runs import run_progress, run_request
from tests.settlement_helpers import GUYUAN, YINCHUAN, declare, month, travel

OCTOBER = month("2026-10")


def fresh(run):
    return SettlementRun.objects.get(pk=run.pk)


@pytest.fixture
def staff(users):
    return users["staff_yinchuan"]


def test_a_requested_run_is_executed_and_ends_succeeded_with_its_summary(
    institution, staff, django_capture_on_commit_callbacks
):
    declare(institution(YINCHUAN).code, "100.00", "233.33")
    declare(institution(GUYUAN).code, "50.00")
    lines_approve_pending(period=OCTOBER, actor=None)

    with travel(2026, 11, 23), django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = run_request(kind=RunKind.MONTHLY, period=OCTOBER, actor=staff, trigger="page")
        assert fresh(run).status == RunStatus.QUEUED  # the task is queued only after the commit
    assert len(callbacks) == 1

    run = fresh(run)
    assert (run.status, run.error, run.requested_by, run.trigger) == (RunStatus.SUCCEEDED, "", staff, "page")
    assert run.started_at is not None and run.finished_at >= run.started_at
    assert run.summary["period"] == "2026-10-01"
    assert run.summary["totals"] == {"approved": "333.33", "deposit": "33.33", "payable": "300.00",
                                     "deductions": "0.00", "net": "300.00"}
    assert [b["agency"] for b in run.summary["batches"]] == ["银川市社会保险事业管理中心"]  # the clerk's own agency
    assert "2026年10月月度结算完成" in run.summary["text"]
    assert list(MonthlySettlement.objects.values_list("institution__name", "net_amount")) == [(YINCHUAN, Decimal("300.00"))]

    progress = run_progress(run)
    assert (progress["id"], progress["status"], progress["status_label"], progress["error"]) == (
        run.pk, RunStatus.SUCCEEDED, "已完成", ""
    )
    assert progress["text"] == run.summary["text"]


def test_a_run_refused_by_a_rule_ends_failed_with_the_message(institution, staff, django_capture_on_commit_callbacks):
    declare(institution(YINCHUAN).code, "100.00")
    with travel(2026, 11, 23), django_capture_on_commit_callbacks(execute=True):
        run = run_request(kind=RunKind.MONTHLY, period=month("2026-11"), actor=staff)
    run = fresh(run)
    assert run.status == RunStatus.FAILED
    assert "2026年11月尚未结束" in run.error
    assert run.summary == {} and run.finished_at is not None
    progress = run_progress(run)
    assert (progress["status"], progress["error"]) == (RunStatus.FAILED, run.error)
    assert not MonthlySettlement.objects.exists()


def test_progress_while_running_shows_the_agency_being_settled(institution, users, monkeypatch,
                                                                django_capture_on_commit_callbacks):
    declare(institution(YINCHUAN).code, "100.00")
    declare(institution(GUYUAN).code, "50.00")
    seen = []
    real = month_end._compute

    def watching(batch, *, now):
        seen.append(run_progress(SettlementRun.objects.get(kind=RunKind.MONTHLY, period=OCTOBER)))
        return real(batch, now=now)

    monkeypatch.setattr(month_end, "_compute", watching)
    with travel(2026, 11, 23), django_capture_on_commit_callbacks(execute=True):
        run = run_request(kind=RunKind.MONTHLY, period=OCTOBER, actor=users["staff_region"])
    assert [(p["status"], p["done"], p["total"], p["label"]) for p in seen] == [
        (RunStatus.RUNNING, 0, 2, "银川市社会保险事业管理中心"),
        (RunStatus.RUNNING, 1, 2, "固原市社会保险事业管理中心"),
    ]
    assert fresh(run).status == RunStatus.SUCCEEDED
    assert "done" not in run_progress(fresh(run))


def test_a_second_request_while_one_is_queued_returns_the_same_run(institution, staff, users):
    declare(institution(YINCHUAN).code, "100.00")
    first = run_request(kind=RunKind.MONTHLY, period=OCTOBER, actor=staff)  # not committed: stays queued
    assert run_progress(first)["status"] == RunStatus.QUEUED
    again = run_request(kind=RunKind.MONTHLY, period=OCTOBER, actor=staff, trigger="api")
    assert again.pk == first.pk
    assert SettlementRun.objects.count() == 1

    # A clerk's run is their agency's, asked for explicitly or not; the regional agency's run
    # (every agency) and another month are other runs.
    same_scope = run_request(kind=RunKind.MONTHLY, period=OCTOBER, actor=staff, agency=institution(YINCHUAN).agency)
    assert same_scope.pk == first.pk
    other_scope = run_request(kind=RunKind.MONTHLY, period=OCTOBER, actor=users["staff_region"])
    other_month = run_request(kind=RunKind.MONTHLY, period=month("2026-09"), actor=staff)
    assert len({first.pk, other_scope.pk, other_month.pk}) == 3

    SettlementRun.objects.filter(pk=first.pk).update(status=RunStatus.SUCCEEDED)
    assert run_request(kind=RunKind.MONTHLY, period=OCTOBER, actor=staff).pk != first.pk


def test_a_clerk_of_another_agency_asking_meanwhile_still_gets_their_own_month_settled(
    institution, users, django_capture_on_commit_callbacks
):
    """Runs without an explicit agency settle the requester's scope: another agency's clerk must not
    be handed a queued run that will never settle their institutions."""
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    declare(yc.code, "100.00")
    declare(gy.code, "50.00")
    lines_approve_pending(period=OCTOBER, actor=None)
    with travel(2026, 11, 23), django_capture_on_commit_callbacks(execute=True):
        yinchuan_run = run_request(kind=RunKind.MONTHLY, period=OCTOBER, actor=users["staff_yinchuan"])
        guyuan_run = run_request(kind=RunKind.MONTHLY, period=OCTOBER, actor=users["staff_guyuan"])
    assert fresh(yinchuan_run).status == fresh(guyuan_run).status == RunStatus.SUCCEEDED
    assert set(MonthlySettlement.objects.values_list("institution__name", "net_amount")) == {
        (YINCHUAN, Decimal("90.00")), (GUYUAN, Decimal("45.00"))
    }
    assert "固原市社会保险事业管理中心" in fresh(guyuan_run).summary["text"]


# ---- reminders -------------------------------------------------------------------------------------------


def test_reminders_ask_institutions_to_declare_and_agencies_to_review_and_a_rerun_adds_nothing(institution, users):
    staff = users["staff_yinchuan"]
    yc, second = institution(YINCHUAN), institution("银川市第二人民医院")
    declare(yc.code, "100.00")
    agreement = Agreement.objects.get(institution=second, type="medical")
    agreement_terminate(agreement=agreement, kind=TerminationKind.MUTUAL, reason="协商一致解除", actor=staff)
    TaskItem.objects.all().delete()

    result = reminders_refresh(on=date(2026, 11, 5))

    should_declare = set(Agreement.objects.filter(status__in=LIVE_STATUSES).values_list("institution", flat=True)) - {yc.pk}
    assert second.pk not in should_declare
    declare_tasks = TaskItem.objects.filter(kind="settlement_declare")
    assert set(declare_tasks.values_list("institution", flat=True)) == should_declare
    task = declare_tasks.get(institution=institution(GUYUAN))
    assert task.key == f"settlement-declare:{institution(GUYUAN).pk}:2026-10"
    assert task.due_on == date(2026, 11, 10)
    assert "2026年11月10日" in task.title and "2026年10月" in task.title
    (review,) = TaskItem.objects.filter(kind="settlement_review")
    assert (review.agency_id, review.due_on, review.done_at) == (yc.agency_id, date(2026, 11, 25), None)
    assert "2026年10月" in review.title
    assert result["created"] == TaskItem.objects.count()

    again = reminders_refresh(on=date(2026, 11, 5))
    assert (again["created"], again["closed"]) == (0, 0)
    assert TaskItem.objects.count() == result["created"]

    # Declared and reviewed: those reminders close, and none of them is added again.
    declare(institution(GUYUAN).code, "10.00")
    lines_approve_pending(period=OCTOBER, actor=None)
    reminders_refresh(on=date(2026, 11, 6))
    assert TaskItem.objects.get(pk=review.pk).done_at is not None
    assert TaskItem.objects.get(pk=task.pk).done_at is not None
    assert TaskItem.objects.filter(kind="settlement_review").count() == 1
    assert declare_tasks.count() == len(should_declare)
    assert declare_tasks.filter(done_at__isnull=True).count() == len(should_declare) - 1
