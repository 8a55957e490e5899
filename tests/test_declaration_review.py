"""Review of declared lines (SPEC §4, W§28): approve, reduce or refuse each line with a reason that
fits the outcome and the category, hold medical-accident lines until the appraisal (M§30, R§21);
review_declarations --approve-all-pending; only the agency that handles the institution decides.
"""

from contextlib import contextmanager
from decimal import Decimal

import pytest

from core.errors import ApplicationError, PermissionDenied
from settlement.models import BulkReview, DeclarationLine, LineStatus, ReviewOutcome
from settlement.services.review import line_decide, lines_approve_pending
from tests.settlement_helpers import GUYUAN, YINCHUAN, command, command_refused, declare, month

O = ReviewOutcome
OCTOBER = month("2026-10")


def fresh(line):
    return DeclarationLine.objects.get(pk=line.pk)


def _state(line):
    line = fresh(line)
    return (line.status, line.approved_amount, line.reason_id, line.review_note, line.reviewed_by_id, line.reviewed_at,
            line.carried, line.bulk_review_id)


@contextmanager
def unchanged(line, *phrases, error=ApplicationError, code=None):
    """The block must raise `error` (with `code` and every phrase in its message) and leave the line as it was."""
    before = _state(line)
    with pytest.raises(error) as exc:
        yield exc
    for phrase in phrases:
        assert phrase in exc.value.message, f"{phrase!r} not in {exc.value.message!r}"
    if code:
        assert exc.value.code == code, exc.value.code
    assert _state(line) == before


@pytest.fixture
def staff(users):
    return users["staff_yinchuan"]


@pytest.fixture
def october(institution):
    """Five pending 门诊 lines of 银川市第一人民医院 for October: 100, 200, 300, 400 and 500 yuan."""
    return declare(institution(YINCHUAN).code, "100.00", "200.00", "300.00", "400.00", "500.00")


# ---- the three decisions -----------------------------------------------------------------------------


def test_approve_pays_the_in_scope_amount_with_the_compliant_reason_and_records_who(october, staff):
    line = october[0]
    decision = line_decide(line=line, outcome=O.APPROVE, actor=staff)
    line = fresh(line)
    assert (line.status, line.approved_amount, line.reason.code) == (LineStatus.APPROVED, Decimal("100.00"), "compliant")
    assert (line.reviewed_by, line.carried) == (staff, False)
    assert line.reviewed_at is not None
    assert decision.message.startswith("已通过")


def test_reduce_keeps_the_reduced_amount_and_refuse_pays_nothing(october, staff):
    reduced, refused = october[1], october[2]
    line_decide(line=reduced, outcome=O.REDUCE, reason_code="price_breach", amount="150.5", actor=staff)
    line_decide(line=refused, outcome=O.REFUSE, reason_code="non_injury", note="治疗高血压", actor=staff)
    reduced, refused = fresh(reduced), fresh(refused)
    assert (reduced.status, reduced.approved_amount, reduced.reason.code) == (LineStatus.REDUCED, Decimal("150.50"), "price_breach")
    assert (refused.status, refused.approved_amount, refused.reason.code, refused.review_note) == (
        LineStatus.REFUSED, Decimal("0.00"), "non_injury", "治疗高血压"
    )
    # Until the month is approved for payment a decision may be revised.
    line_decide(line=refused, outcome=O.REDUCE, reason_code="out_of_catalogue", amount="299.99", actor=staff)
    assert (fresh(refused).status, fresh(refused).approved_amount) == (LineStatus.REDUCED, Decimal("299.99"))


def test_refuse_or_reduce_without_a_fitting_reason_is_refused_and_the_line_is_unchanged(october, staff, institution):
    line = october[0]
    with unchanged(line, "拒付须选择审核理由", code="reason_required"):
        line_decide(line=line, outcome=O.REFUSE, actor=staff)
    with unchanged(line, "核减须选择审核理由", code="reason_required"):
        line_decide(line=line, outcome=O.REDUCE, amount="50.00", actor=staff)
    with unchanged(line, "不适用于拒付", code="reason_not_applicable"):
        line_decide(line=line, outcome=O.REFUSE, reason_code="compliant", actor=staff)
    with unchanged(line, "不适用于核减", code="reason_not_applicable"):
        line_decide(line=line, outcome=O.REDUCE, reason_code="identity_mismatch", amount="50.00", actor=staff)
    with unchanged(line, "不适用于通过", code="reason_not_applicable"):
        line_decide(line=line, outcome=O.APPROVE, reason_code="non_injury", actor=staff)
    with unchanged(line, "不存在或已停用", code="unknown_reason"):
        line_decide(line=line, outcome=O.REFUSE, reason_code="no_such_reason", actor=staff)
    with unchanged(line, code="invalid_outcome"):
        line_decide(line=line, outcome="delete", actor=staff)

    # Device reasons (D§22) only fit device lines.
    with unchanged(line, "辅助器具", code="reason_not_applicable"):
        line_decide(line=line, outcome=O.REDUCE, reason_code="device_beyond_limit", amount="50.00", actor=staff)
    with unchanged(line, code="reason_not_applicable"):
        line_decide(line=line, outcome=O.REFUSE, reason_code="device_unconfirmed", actor=staff)
    (device,) = declare(institution(YINCHUAN).code, "8000.00", category="辅助器具")
    line_decide(line=device, outcome=O.REDUCE, reason_code="device_beyond_limit", amount="6500.00", actor=staff)
    assert (fresh(device).status, fresh(device).approved_amount) == (LineStatus.REDUCED, Decimal("6500.00"))


def test_a_reduced_amount_must_be_below_the_in_scope_amount_positive_and_in_fen(october, staff):
    line = october[0]
    for amount, phrase in [
        ("100.00", "须小于申报的统筹范围内费用 100.00"),
        ("100.01", "须小于申报的统筹范围内费用"),
        ("-1.00", "不能为负数"),
        ("99.999", "最多两位小数"),
        ("0", "核减为零即拒付"),
        ("abc", "核减后金额无效"),
        ("", "核减后金额无效"),
        (None, "核减后金额无效"),
    ]:
        with unchanged(line, phrase, code="invalid_amount"):
            line_decide(line=line, outcome=O.REDUCE, reason_code="price_breach", amount=amount, actor=staff)
    line_decide(line=line, outcome=O.REDUCE, reason_code="price_breach", amount="99.99", actor=staff)
    assert fresh(line).approved_amount == Decimal("99.99")


def test_a_reduced_amount_that_is_not_a_finite_number_is_refused_as_invalid(october, staff):
    """Whatever a clerk types into the amount box is refused with a message, never a server error."""
    line = october[0]
    for amount in ("NaN", "Infinity", "-Infinity", "sNaN"):
        with unchanged(line, code="invalid_amount"):
            line_decide(line=line, outcome=O.REDUCE, reason_code="price_breach", amount=amount, actor=staff)


def test_the_reason_other_requires_a_note(october, staff):
    line = october[0]
    with unchanged(line, "须填写审核说明", code="note_required"):
        line_decide(line=line, outcome=O.REFUSE, reason_code="other", note="   ", actor=staff)
    line_decide(line=line, outcome=O.REFUSE, reason_code="other", note="重复住院记录", actor=staff)
    assert (fresh(line).reason.code, fresh(line).review_note) == ("other", "重复住院记录")


# ---- medical accidents (M§30): held until the appraisal -------------------------------------------------


def test_a_medical_accident_line_is_held_through_bulk_approval_and_paid_after_the_appraisal(october, staff):
    held, other = october[0], october[1]
    with unchanged(held, code="reason_not_applicable"):
        line_decide(line=held, outcome=O.HOLD, reason_code="non_injury", actor=staff)
    line_decide(line=held, outcome=O.HOLD, reason_code="medical_accident", note="待医疗事故鉴定", actor=staff)
    assert (fresh(held).status, fresh(held).approved_amount, fresh(held).reason.code) == (
        LineStatus.HELD, None, "medical_accident"
    )

    result = lines_approve_pending(period=OCTOBER, actor=staff)
    assert (result.approved, result.amount, result.still_held) == (4, Decimal("1400.00"), 1)
    assert fresh(held).status == LineStatus.HELD
    assert fresh(other).status == LineStatus.APPROVED

    line_decide(line=held, outcome=O.APPROVE, reason_code="appraisal_cleared", actor=staff)
    assert (fresh(held).status, fresh(held).approved_amount, fresh(held).reason.code) == (
        LineStatus.APPROVED, Decimal("100.00"), "appraisal_cleared"
    )
    # A decided line is not held again.
    with unchanged(held, "已审核的明细不能再暂缓", code="invalid_outcome"):
        line_decide(line=held, outcome=O.HOLD, reason_code="medical_accident", actor=staff)


def test_a_held_line_found_to_be_a_medical_accident_is_refused(october, staff):
    line = october[0]
    line_decide(line=line, outcome=O.HOLD, reason_code="medical_accident", actor=staff)
    line_decide(line=line, outcome=O.REFUSE, reason_code="medical_accident", note="鉴定为医疗事故", actor=staff)
    assert (fresh(line).status, fresh(line).approved_amount) == (LineStatus.REFUSED, Decimal("0.00"))


# ---- review_declarations --approve-all-pending ---------------------------------------------------------


def test_review_command_approves_every_pending_line_of_the_month_once_and_reports_the_count(october, staff, institution):
    line_decide(line=october[0], outcome=O.HOLD, reason_code="medical_accident", actor=staff)
    line_decide(line=october[1], outcome=O.REFUSE, reason_code="non_injury", actor=staff)
    guyuan = declare(institution(GUYUAN).code, "77.70")
    september = declare(institution(YINCHUAN).code, "66.60", period="2026-09")

    out = command("review_declarations", month="2026-10", approve_all_pending=True)
    assert "2026年10月：批量审核通过 4 条，金额 ¥1,277.70。" in out
    assert "approved=4 amount=1277.70 carried=0 held=1" in out
    assert "暂缓（待医疗事故鉴定）1 条未处理" in out
    assert "2026年10月审核进度：待审核 0，审核通过 4，核减 0，拒付 1，暂缓（待鉴定） 1。" in out

    statuses = {line.pk: fresh(line).status for line in october + guyuan + september}
    assert statuses == {
        october[0].pk: LineStatus.HELD, october[1].pk: LineStatus.REFUSED, october[2].pk: LineStatus.APPROVED,
        october[3].pk: LineStatus.APPROVED, october[4].pk: LineStatus.APPROVED, guyuan[0].pk: LineStatus.APPROVED,
        september[0].pk: LineStatus.PENDING,
    }
    approved = fresh(october[2])
    assert (approved.approved_amount, approved.reason.code, approved.reviewed_by, approved.bulk_review.lines) == (
        Decimal("300.00"), "compliant", None, 4
    )

    out = command("review_declarations", month="2026-10", approve_all_pending=True)
    assert "approved=0 amount=0.00" in out
    assert BulkReview.objects.count() == 1
    assert fresh(october[1]).status == LineStatus.REFUSED

    assert "--month 的值" in str(command_refused("review_declarations", month="2026/10", approve_all_pending=True))


# ---- who may decide --------------------------------------------------------------------------------------


def test_auditors_and_institution_administrators_cannot_decide(october, users):
    line = october[0]
    for username in ("auditor_yinchuan", "hospital_admin"):
        with unchanged(line, "只有经办人员可以审核申报", error=PermissionDenied):
            line_decide(line=line, outcome=O.APPROVE, actor=users[username])
        with pytest.raises(PermissionDenied):
            lines_approve_pending(period=OCTOBER, actor=users[username])
    assert set(DeclarationLine.objects.values_list("status", flat=True)) == {LineStatus.PENDING}
    assert not BulkReview.objects.exists()


def test_a_clerk_of_another_agency_cannot_decide_and_bulk_approval_stays_in_scope(october, users):
    line = october[0]
    with unchanged(line, "管辖范围", error=PermissionDenied, code="out_of_scope"):
        line_decide(line=line, outcome=O.REFUSE, reason_code="non_injury", actor=users["staff_guyuan"])
    result = lines_approve_pending(period=OCTOBER, actor=users["staff_guyuan"])
    assert result.approved == 0
    assert set(DeclarationLine.objects.values_list("status", flat=True)) == {LineStatus.PENDING}
    # The regional agency may.
    line_decide(line=line, outcome=O.APPROVE, actor=users["staff_region"])
    assert fresh(line).status == LineStatus.APPROVED
