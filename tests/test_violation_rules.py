"""The rules of a violation decision (SPEC §1, §6; M§35, D§15), at the service level on PostgreSQL:
four eyes (the service and the database), the explanation deadline, the fine's 2–5× bounds, a
legal basis and at least one measure, the scope of the agency, and the overdue deadlines on the
task lists. Every refused decision changes nothing: no measure, deduction, hold, agreement event
or score component, and the case as it was.

The clock is pinned to 20 May 2026, 10:00 in Asia/Shanghai.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role, User
from agreements.services.lifecycle import agreement_suspend
from core.errors import ApplicationError, PermissionDenied
from core.models import TaskItem
from violations.models import Case, CaseStatus, DecisionMeasure, RectificationStatus
from violations.services.cases import (
    case_open,
    case_start_investigation,
    rectification_report,
    rectification_verify,
)
from violations.services.deadlines import flag_overdue
from tests.settlement_helpers import YINCHUAN, travel
from tests.violation_helpers import (
    case_state,
    decide,
    effects,
    explain,
    medical_agreement,
    notify,
    open_case,
    ready_case,
)

D = Decimal
INTERVIEW = [{"measure": "interview"}]


@pytest.fixture(autouse=True)
def today():
    with travel(2026, 5, 20, 10):
        yield


@pytest.fixture
def yc(institution):
    return institution(YINCHUAN)


@pytest.fixture
def case(yc, users):
    """Opened by staff_yinchuan, explained by the hospital: ready for someone else's decision."""
    return ready_case(yc, opener=users["staff_yinchuan"], admin=users["hospital_admin"], agreement=medical_agreement(yc))


def refused(case, actor, measures, *, exc=ApplicationError, code=None, **kwargs):
    """The decision is refused with `code`, and nothing at all has changed."""
    before, state = effects(), case_state(case)
    with pytest.raises(exc) as info:
        decide(case, actor, measures, **kwargs)
    if code:
        assert info.value.code == code, info.value.message
    assert effects() == before
    assert case_state(case) == state
    assert not DecisionMeasure.objects.filter(case=case).exists()
    return info.value


# ---- four eyes ------------------------------------------------------------------------------------


def test_the_opener_cannot_decide_the_case(case, users):
    error = refused(case, users["staff_yinchuan"], INTERVIEW, exc=PermissionDenied, code="four_eyes")
    assert "四眼" in error.message
    decide(case, users["auditor_yinchuan"], INTERVIEW)
    assert Case.objects.get(pk=case.pk).decided_by == users["auditor_yinchuan"]


def test_the_database_refuses_a_case_decided_by_its_opener(case):
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(decided_by=case.opened_by, decided_at=timezone.now(), legal_basis="x")
    assert Case.objects.get(pk=case.pk).decided_by is None


def test_the_database_refuses_a_decision_without_a_legal_basis(case, users):
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(decided_by=users["auditor_yinchuan"], decided_at=timezone.now(), legal_basis="")


# ---- the explanation deadline (M§35) -------------------------------------------------------------


def test_a_decision_before_the_explanation_deadline_without_an_explanation_is_refused(yc, users):
    staff, auditor = users["staff_yinchuan"], users["auditor_yinchuan"]
    case = open_case(yc, staff)
    notify(case, staff, days=5)  # due 25 May
    refused(case, auditor, INTERVIEW, code="awaiting_explanation")
    with travel(2026, 5, 25, 18):  # the last day still belongs to the institution
        refused(case, auditor, INTERVIEW, code="awaiting_explanation")
    with travel(2026, 5, 26, 9):  # the deadline has passed without an explanation: the agency may decide
        decide(case, auditor, INTERVIEW)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.DECIDED


def test_an_opened_case_not_yet_notified_cannot_be_decided(yc, users):
    case = open_case(yc, users["staff_yinchuan"])
    refused(case, users["auditor_yinchuan"], INTERVIEW, code="invalid_status")


def test_a_decided_case_cannot_be_decided_again(case, users):
    decide(case, users["auditor_yinchuan"], [{"measure": "recovery", "amount": "100.00"}])
    before = effects()
    with pytest.raises(ApplicationError) as info:
        decide(case, users["staff_region"], [{"measure": "recovery", "amount": "100.00"}])
    assert info.value.code == "invalid_status"
    assert effects() == before


# ---- the measures -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fine", ["1900.00", "5100.00", "1999.99", "5000.01"])
def test_a_fine_outside_two_to_five_times_the_defrauded_amount_is_refused(case, users, fine):
    error = refused(case, users["auditor_yinchuan"], [{"measure": "fine", "defrauded_amount": "1000.00", "amount": fine}],
                    code="fine_out_of_bounds")
    assert "¥2,000.00～¥5,000.00" in error.message and "辅助器具协议第十五条" in error.message


@pytest.mark.parametrize("fine, multiple", [("2000.00", "2.00"), ("5000.00", "5.00"), ("3500.00", "3.50")])
def test_a_fine_of_two_to_five_times_the_defrauded_amount_is_accepted(case, users, fine, multiple):
    decide(case, users["auditor_yinchuan"], [{"measure": "fine", "defrauded_amount": "1000.00", "amount": fine}])
    (dm,) = DecisionMeasure.objects.filter(case=case)
    assert (dm.amount, dm.defrauded_amount) == (D(fine), D("1000.00"))
    assert f"的 {multiple} 倍" in dm.effect


def test_a_fine_needs_the_defrauded_amount(case, users):
    refused(case, users["auditor_yinchuan"], [{"measure": "fine", "amount": "2000.00"}], code="invalid_amount")


@pytest.mark.parametrize("basis", ["", "   "])
def test_a_decision_without_a_legal_basis_is_refused(case, users, basis):
    refused(case, users["auditor_yinchuan"], INTERVIEW, legal_basis=basis, code="legal_basis_required")


def test_a_decision_without_measures_is_refused(case, users):
    refused(case, users["auditor_yinchuan"], [], code="measures_required")


def test_an_unknown_or_repeated_measure_is_refused(case, users):
    auditor = users["auditor_yinchuan"]
    refused(case, auditor, [{"measure": "caning"}], code="invalid_measure")
    refused(case, auditor, [{"measure": "interview"}, {"measure": "interview"}], code="duplicate_measure")
    refused(case, auditor, [{"measure": "suspension"}, {"measure": "termination"}], code="conflicting_measures")


@pytest.mark.parametrize("amount", ["0", "-5.00", "12.345", "abc", None])
def test_a_recovery_needs_a_positive_amount_in_fen(case, users, amount):
    refused(case, users["auditor_yinchuan"], [{"measure": "recovery", "amount": amount}], code="invalid_amount")


def test_a_rectification_needs_a_future_deadline_and_a_requirement(case, users):
    auditor = users["auditor_yinchuan"]
    refused(case, auditor, [{"measure": "rectification", "note": "整改收费"}], code="deadline_required")
    refused(case, auditor, [{"measure": "rectification", "deadline": date(2026, 5, 20), "note": "整改收费"}],
            code="deadline_in_past")
    refused(case, auditor, [{"measure": "rectification", "deadline": date(2026, 6, 30)}], code="note_required")


def test_a_later_measure_refused_undoes_the_earlier_ones(case, users):
    """The measures take effect in order in the decision's transaction: when the last effect is
    refused (the year's assessment is already approved, so its score cannot take the deduction),
    the recovery, the deferral and the suspension before it are taken back."""
    from settlement.models import AnnualBatch, BatchStatus

    AnnualBatch.objects.create(year=timezone.localdate().year, agency=case.institution.agency, status=BatchStatus.APPROVED,
                               approved_by=users["staff_yinchuan"], approved_at=timezone.now())
    refused(case, users["auditor_yinchuan"], [
        {"measure": "recovery", "amount": "800.00"}, {"measure": "deferral"}, {"measure": "suspension"},
    ], code="frozen")


def test_a_suspension_decided_while_the_agreement_is_suspended_terminates_it(case, users):
    """M§39(3): suspended a second time in its term — here while still suspended by another
    decision — the agreement is terminated for cause instead."""
    from agreements.models import AgreementStatus, TerminationKind

    agreement_suspend(agreement=case.agreement, reason="另案暂停", actor=users["staff_yinchuan"])
    decide(case, users["auditor_yinchuan"], [{"measure": "suspension"}])
    case.agreement.refresh_from_db()
    assert case.agreement.status == AgreementStatus.TERMINATED
    assert case.agreement.termination_kind == TerminationKind.FOR_CAUSE
    assert "累计2次" in case.agreement.termination_reason


# ---- who may decide --------------------------------------------------------------------------------


def test_staff_of_another_agency_cannot_decide(case, users):
    refused(case, users["staff_guyuan"], INTERVIEW, exc=PermissionDenied, code="out_of_scope")


def test_an_auditor_of_another_agency_cannot_decide(case, users):
    guyuan_auditor = User.objects.create(username="auditor_guyuan", full_name="固原稽核员", role=Role.AUDITOR,
                                         agency=users["staff_guyuan"].agency)
    refused(case, guyuan_auditor, INTERVIEW, exc=PermissionDenied, code="out_of_scope")


def test_staff_of_another_agency_cannot_open_a_case_there(yc, users):
    with pytest.raises(PermissionDenied) as info:
        open_case(yc, users["staff_guyuan"])
    assert info.value.code == "out_of_scope"
    assert not Case.objects.exists()


def test_an_institution_admin_cannot_decide_or_open(case, yc, users):
    refused(case, users["hospital_admin"], INTERVIEW, exc=PermissionDenied, code="permission_denied")
    with pytest.raises(PermissionDenied):
        case_open(institution=yc, source="daily", title="自查", description="自查", actor=users["hospital_admin"])


def test_the_regional_agency_may_decide(case, users):
    decide(case, users["staff_region"], INTERVIEW)
    assert Case.objects.get(pk=case.pk).decided_by == users["staff_region"]


# ---- deadlines on the task lists -------------------------------------------------------------------


def test_flag_overdue_puts_an_overdue_explanation_and_rectification_on_the_task_lists_once(yc, users):
    staff, auditor, admin = users["staff_yinchuan"], users["auditor_yinchuan"], users["hospital_admin"]
    silent = open_case(yc, staff, title="未说明的案件")
    notify(silent, staff, days=3)  # due 23 May
    rectifying = ready_case(yc, opener=staff, admin=admin, title="须整改的案件")
    decide(rectifying, auditor, [{"measure": "rectification", "deadline": date(2026, 5, 31), "note": "规范收费公示"}])
    rectification = rectifying.rectifications.get()

    assert flag_overdue(on=date(2026, 5, 23)) == {"wanted": 0, "created": 0, "closed": 0}  # nothing overdue yet

    with travel(2026, 6, 2, 1):
        first = flag_overdue()
        again = flag_overdue()
    assert first == {"wanted": 3, "created": 3, "closed": 0}
    assert again == {"wanted": 3, "created": 0, "closed": 0}  # rerun: nothing twice
    tasks = {t.key: t for t in TaskItem.objects.filter(kind__in=["case_explanation_overdue", "rectification_overdue"])}
    assert set(tasks) == {
        f"case-explanation-overdue:{silent.pk}",
        f"rectification-overdue:{rectification.pk}:agency",
        f"rectification-overdue:{rectification.pk}:institution",
    }
    explanation = tasks[f"case-explanation-overdue:{silent.pk}"]
    assert (explanation.agency, explanation.institution, explanation.due_on, explanation.done_at) == (
        yc.agency, None, date(2026, 5, 23), None
    )
    assert silent.number in explanation.title
    agency_side = tasks[f"rectification-overdue:{rectification.pk}:agency"]
    institution_side = tasks[f"rectification-overdue:{rectification.pk}:institution"]
    assert (agency_side.agency, agency_side.institution, agency_side.due_on) == (yc.agency, None, date(2026, 5, 31))
    assert (institution_side.agency, institution_side.institution) == (None, yc)

    # Once the reason has gone (the agency proceeds; the rectification is verified), the tasks close.
    with travel(2026, 6, 3, 9):
        case_start_investigation(case=silent, actor=auditor)
        rectification_report(rectification=rectification, report="已整改", actor=admin)
        rectification_verify(rectification=rectification, accepted=True, note="", actor=auditor)
        # The verification closed the rectification's tasks itself; the next run closes the explanation's.
        assert flag_overdue() == {"wanted": 0, "created": 0, "closed": 1}
    assert not TaskItem.objects.filter(kind__in=["case_explanation_overdue", "rectification_overdue"],
                                       done_at__isnull=True).exists()


def test_a_reported_rectification_overdue_does_not_ask_the_institution_to_report_again(yc, users):
    """Once the institution has reported, the overdue rectification is the agency's to verify: the
    institution's task list should not tell it to report (it did)."""
    staff, auditor, admin = users["staff_yinchuan"], users["auditor_yinchuan"], users["hospital_admin"]
    case = ready_case(yc, opener=staff, admin=admin)
    decide(case, auditor, [{"measure": "rectification", "deadline": date(2026, 5, 31), "note": "规范收费公示"}])
    rectification = case.rectifications.get()
    rectification_report(rectification=rectification, report="已按期整改完毕", actor=admin)
    assert rectification.__class__.objects.get(pk=rectification.pk).status == RectificationStatus.REPORTED
    flag_overdue(on=date(2026, 6, 2))
    open_tasks = TaskItem.objects.filter(kind="rectification_overdue", done_at__isnull=True)
    assert open_tasks.filter(agency=yc.agency).count() == 1
    assert not open_tasks.filter(institution=yc, title__contains="请尽快报告").exists()


def test_an_explanation_within_the_deadline_closes_the_institutions_task(yc, users):
    staff = users["staff_yinchuan"]
    case = open_case(yc, staff)
    notify(case, staff)
    task = TaskItem.objects.get(key=f"case-explain:{case.pk}")
    assert (task.institution, task.due_on, task.done_at) == (yc, timezone.localdate() + timedelta(days=7), None)
    explain(case, users["hospital_admin"])
    assert TaskItem.objects.get(pk=task.pk).done_at is not None


def test_proceeding_without_an_explanation_closes_the_institutions_explain_task(yc, users):
    """Once the deadline has passed and the agency has proceeded, the institution can no longer
    explain (the case is under investigation): its task list should not still ask it to."""
    staff = users["staff_yinchuan"]
    case = open_case(yc, staff)
    notify(case, staff, days=3)
    with travel(2026, 5, 24, 9):
        case_start_investigation(case=case, actor=users["auditor_yinchuan"])
    assert Case.objects.get(pk=case.pk).status == CaseStatus.INVESTIGATING
    assert TaskItem.objects.get(key=f"case-explain:{case.pk}").done_at is not None
