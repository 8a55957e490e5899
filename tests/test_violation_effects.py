"""The effects of a violation decision are real (SPEC §6), end to end at the service level on
PostgreSQL: money measures flow into the next month-end settlements (a recovery is offset, the
rest carried forward; a deferral holds the payment and, once lifted, releases it exactly once),
suspension and termination change the agreement (the second suspension terminates it, M§39(3)),
and every decision is a named component of that year's assessment score.

Months can only be settled once they are over, so each step travels to its own day (Asia/Shanghai).
银川市第一人民医院 declares 2,000.00 for April (payable 1,800.00 after the 10% deposit) and 3,000.00
for May (payable 2,700.00).
"""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from agreements.models import AgreementBar, AgreementEvent, AgreementStatus
from agreements.services.lifecycle import agreement_resume
from core.errors import ApplicationError
from settlement.models import (
    AssessmentScore,
    ComponentKind,
    Deduction,
    DeductionKind,
    DeductionOffset,
    HoldRelease,
    MonthlySettlement,
    PaymentHold,
    ScoreComponent,
)
from settlement.services.month_end import settlement_month_approve
from settlement.services.scores import score_set
from violations.models import Case, CaseStatus, DecisionMeasure
from violations.selectors import public_listings
from violations.services.cases import case_lift_deferral
from tests.settlement_helpers import YINCHUAN, declare, month, settle, travel
from tests.violation_helpers import case_state, decide, effects, medical_agreement, ready_case

D = Decimal


@pytest.fixture
def yc(institution):
    return institution(YINCHUAN)


@pytest.fixture
def staff(users):
    return users["staff_yinchuan"]


@pytest.fixture
def auditor(users):
    return users["auditor_yinchuan"]


def row_of(inst, period_text) -> MonthlySettlement:
    return MonthlySettlement.objects.get(institution=inst, period=month(period_text))


def approve(period_text, staff):
    settlement_month_approve(period=month(period_text), agency=staff.agency, actor=staff)


def amounts(row: MonthlySettlement, *fields) -> tuple:
    return tuple(getattr(row, f) for f in fields)


def decided_case(yc, users, measures, *, title="超范围收费"):
    """Opened by staff_yinchuan, explained by the hospital, decided by auditor_yinchuan (today)."""
    case = ready_case(yc, opener=users["staff_yinchuan"], admin=users["hospital_admin"], agreement=medical_agreement(yc),
                      title=title)
    return decide(case, users["auditor_yinchuan"], measures)


# ---- recoveries ------------------------------------------------------------------------------------


def test_a_recovery_decided_in_may_is_offset_in_junes_settlement_not_in_aprils(yc, users, staff):
    with travel(2026, 5, 20, 10):
        declare(yc.code, "2000.00", period="2026-04")
        case = decided_case(yc, users, [{"measure": "recovery", "amount": "1000.00"}])
        (dm,) = case.measures.select_related("deduction")
        assert (dm.deduction.kind, dm.deduction.amount, dm.deduction.effective_from, dm.deduction.source_label) == (
            DeductionKind.RECOVERY, D("1000.00"), date(2026, 5, 1), case.number
        )
        assert "¥1,000.00 自2026年5月的月度结算起抵扣" in dm.effect
        # April's settlement, run in May after the decision, is not reduced.
        settle("2026-04", approve_as=staff)
    april = row_of(yc, "2026-04")
    assert amounts(april, "payable", "deduction_amount", "carried_forward", "net_amount") == (
        D("1800.00"), D("0.00"), D("0.00"), D("1800.00")
    )

    with travel(2026, 6, 5, 10):  # the settlement run in June, for May
        declare(yc.code, "3000.00", period="2026-05")
        settle("2026-05", approve_as=staff)
    may = row_of(yc, "2026-05")
    assert amounts(may, "payable", "deduction_amount", "carried_forward", "net_amount") == (
        D("2700.00"), D("1000.00"), D("0.00"), D("1700.00")
    )
    assert may.net_amount == may.payable - D("1000.00")
    assert list(DeductionOffset.objects.filter(deduction=dm.deduction).values_list("settlement", "amount")) == [
        (may.pk, D("1000.00"))
    ]


def test_a_recovery_larger_than_the_payable_is_carried_forward_and_offset_after_approval(yc, users, staff):
    with travel(2026, 5, 20, 10):
        case = decided_case(yc, users, [{"measure": "recovery", "amount": "5000.00"}])
    deduction = case.measures.get().deduction

    with travel(2026, 6, 5, 10):
        declare(yc.code, "3000.00", period="2026-05")
        settle("2026-05")
        settle("2026-05")  # a rerun before approval offsets the same, not twice
        may = row_of(yc, "2026-05")
        assert amounts(may, "payable", "deduction_amount", "carried_forward", "net_amount") == (
            D("2700.00"), D("2700.00"), D("2300.00"), D("0.00")
        )
        approve("2026-05", staff)

    with travel(2026, 7, 5, 10):
        declare(yc.code, "3000.00", period="2026-06")
        settle("2026-06", approve_as=staff)
    june = row_of(yc, "2026-06")
    assert amounts(june, "payable", "deduction_amount", "carried_forward", "net_amount") == (
        D("2700.00"), D("2300.00"), D("0.00"), D("400.00")
    )
    assert list(DeductionOffset.objects.filter(deduction=deduction).order_by("settlement__period")
                .values_list("settlement__period", "amount")) == [(month("2026-05"), D("2700.00")), (month("2026-06"), D("2300.00"))]

    with travel(2026, 8, 5, 10):  # paid off: nothing more is taken
        declare(yc.code, "1000.00", period="2026-07")
        settle("2026-07", approve_as=staff)
    assert amounts(row_of(yc, "2026-07"), "deduction_amount", "net_amount") == (D("0.00"), D("900.00"))


def test_a_refusal_is_offset_like_a_recovery(yc, users, staff):
    with travel(2026, 5, 20, 10):
        case = decided_case(yc, users, [{"measure": "refusal", "amount": "300.00"}])
    assert case.measures.get().deduction.kind == DeductionKind.REFUSAL
    with travel(2026, 6, 5, 10):
        declare(yc.code, "3000.00", period="2026-05")
        settle("2026-05", approve_as=staff)
    assert amounts(row_of(yc, "2026-05"), "deduction_amount", "net_amount") == (D("300.00"), D("2400.00"))


# ---- deferrals ---------------------------------------------------------------------------------------


def test_a_deferral_holds_and_then_releases_the_payment_once(yc, users, staff, auditor):
    with travel(2026, 5, 20, 10):
        declare(yc.code, "2000.00", period="2026-04")
        case = decided_case(yc, users, [{"measure": "deferral"}])
        hold = case.measures.get().hold
        assert (hold.institution, hold.started_on, hold.lifted_on, hold.source_label) == (yc, date(2026, 5, 20), None, case.number)
        # The next settlement (April's, run now) is computed but not paid.
        settle("2026-04", approve_as=staff)
    april = row_of(yc, "2026-04")
    assert amounts(april, "payable", "held", "held_amount", "net_amount", "frozen") == (
        D("1800.00"), True, D("1800.00"), D("0.00"), True
    )

    with travel(2026, 6, 3, 10):
        case_lift_deferral(case=case, actor=auditor, note="核查完毕，解除暂缓")
        assert PaymentHold.objects.get(pk=hold.pk).lifted_on == date(2026, 6, 3)
        with pytest.raises(ApplicationError) as info:  # nothing left to lift
            case_lift_deferral(case=case, actor=auditor)
        assert info.value.code == "no_hold"

    with travel(2026, 6, 5, 10):
        declare(yc.code, "3000.00", period="2026-05")
        settle("2026-05")
        settle("2026-05")  # a rerun before approval releases the same amount, not twice
        may = row_of(yc, "2026-05")
        assert amounts(may, "payable", "released_amount", "held", "held_amount", "net_amount") == (
            D("2700.00"), D("1800.00"), False, D("0.00"), D("4500.00")
        )
        approve("2026-05", staff)
    (release,) = HoldRelease.objects.all()
    assert (release.held_row, release.released_in, release.amount) == (april, row_of(yc, "2026-05"), D("1800.00"))

    with travel(2026, 7, 5, 10):  # released once: June pays only June
        declare(yc.code, "1000.00", period="2026-06")
        settle("2026-06", approve_as=staff)
    assert amounts(row_of(yc, "2026-06"), "released_amount", "held", "net_amount") == (D("0.00"), False, D("900.00"))
    assert HoldRelease.objects.count() == 1


def test_a_deferral_holds_every_month_until_it_is_lifted(yc, users, staff, auditor):
    with travel(2026, 5, 20, 10):
        case = decided_case(yc, users, [{"measure": "deferral"}])
    with travel(2026, 6, 5, 10):
        declare(yc.code, "3000.00", period="2026-05")
        settle("2026-05", approve_as=staff)
    with travel(2026, 7, 5, 10):
        declare(yc.code, "1000.00", period="2026-06")
        settle("2026-06", approve_as=staff)
        case_lift_deferral(case=case, actor=auditor)
    assert [amounts(row_of(yc, p), "held", "held_amount", "net_amount") for p in ("2026-05", "2026-06")] == [
        (True, D("2700.00"), D("0.00")), (True, D("900.00"), D("0.00"))
    ]
    with travel(2026, 8, 5, 10):
        declare(yc.code, "500.00", period="2026-07")
        settle("2026-07", approve_as=staff)
    july = row_of(yc, "2026-07")
    assert amounts(july, "released_amount", "net_amount") == (D("3600.00"), D("450.00") + D("3600.00"))
    assert sorted(HoldRelease.objects.values_list("amount", flat=True)) == [D("900.00"), D("2700.00")]


def test_a_deferral_shared_by_two_cases_stays_until_each_case_has_lifted_it(yc, users, auditor):
    """A second case's deferral joins the one in force ("本案一并适用"): lifting it in one case must
    not release the payment the other case still defers."""
    with travel(2026, 5, 20, 10):
        first = decided_case(yc, users, [{"measure": "deferral"}], title="甲案：涉嫌骗保")
        second = decided_case(yc, users, [{"measure": "deferral"}], title="乙案：病历不规范")
        hold = first.measures.get().hold
        assert second.measures.get().hold == hold and "本案一并适用" in second.measures.get().effect
        case_lift_deferral(case=second, actor=auditor, note="乙案查清")
        assert PaymentHold.objects.filter(institution=yc, lifted_on__isnull=True).exists(), "甲案 still defers the payment"
        case_lift_deferral(case=first, actor=auditor, note="甲案查清")
        assert not PaymentHold.objects.filter(institution=yc, lifted_on__isnull=True).exists()


# ---- suspension and termination ----------------------------------------------------------------------


def test_a_second_suspension_terminates_the_agreement(yc, users, staff, auditor):
    agreement = medical_agreement(yc)
    with travel(2026, 5, 20, 10):
        first = decided_case(yc, users, [{"measure": "suspension"}], title="第一次违规")
        agreement.refresh_from_db()
        assert agreement.status == AgreementStatus.SUSPENDED
        assert first.measures.get().effect == "协议已暂停。"
        agreement_resume(agreement=agreement, reason="整改到位，恢复协议", actor=staff)

    with travel(2026, 6, 10, 10):
        second = decided_case(yc, users, [{"measure": "suspension"}], title="第二次违规")
    agreement.refresh_from_db()
    assert (agreement.status, agreement.termination_kind, agreement.terminated_on) == (
        AgreementStatus.TERMINATED, "for_cause", date(2026, 6, 10)
    )
    assert "第2次暂停" in second.measures.get().effect
    bar = AgreementBar.objects.get(agreement=agreement)
    assert (bar.institution, bar.type, bar.until) == (yc, "medical", date(2028, 6, 10))
    assert list(AgreementEvent.objects.filter(agreement=agreement).order_by("pk").values_list("action", flat=True))[-4:] == [
        "suspend", "resume", "suspend", "terminate"
    ]
    # Published (M§43): in the public list, and through the API without login.
    assert agreement in public_listings()["terminations"]
    body = Client().get(reverse("api:public-violations")).json()
    assert [t["number"] for t in body["terminations"]] == [agreement.number]

    # A third case: neither a suspension nor a termination of the terminated agreement is heard,
    # and the refusal changes nothing.
    with travel(2026, 6, 20, 10):
        third = ready_case(yc, opener=staff, admin=users["hospital_admin"], agreement=agreement, title="第三次违规")
        score_before = list(ScoreComponent.objects.filter(score__institution=yc).values_list("pk", "points"))
        for measure in ("suspension", "termination"):
            before, state = effects(), case_state(third)
            with pytest.raises(ApplicationError) as info:
                decide(third, auditor, [{"measure": "recovery", "amount": "100.00"}, {"measure": measure}])
            assert info.value.code == "agreement_terminated"
            assert "已于2026年6月10日解除" in info.value.message
            assert effects() == before and case_state(third) == state
        assert not DecisionMeasure.objects.filter(case=third).exists()
        assert Case.objects.get(pk=third.pk).status == CaseStatus.INVESTIGATING
        assert list(ScoreComponent.objects.filter(score__institution=yc).values_list("pk", "points")) == score_before
        assert not Deduction.objects.filter(source_label=third.number).exists()


def test_after_termination_a_case_that_names_no_agreement_is_refused_as_terminated_too(yc, users, staff, auditor):
    """Naming the agreement is optional when a case is opened. Once the institution's only agreement
    has been terminated, a suspension decided in such a case must be refused for that reason (the
    agreement is terminated), not by asking the clerk to name one of its "0 live agreements"."""
    agreement = medical_agreement(yc)
    with travel(2026, 5, 20, 10):
        decided_case(yc, users, [{"measure": "termination"}], title="骗取基金")
        agreement.refresh_from_db()
        assert agreement.status == AgreementStatus.TERMINATED
        unnamed = ready_case(yc, opener=staff, admin=users["hospital_admin"], title="另案")  # no agreement named
        before = effects()
        with pytest.raises(ApplicationError) as info:
            decide(unnamed, auditor, [{"measure": "suspension"}])
        assert effects() == before
        assert info.value.code == "agreement_terminated", info.value.message
        assert agreement.number in info.value.message


def test_a_termination_decided_terminates_for_cause_and_bars_the_institution(yc, users):
    agreement = medical_agreement(yc)
    with travel(2026, 5, 20, 10):
        case = decided_case(yc, users, [{"measure": "termination"}, {"measure": "recovery", "amount": "2000.00"}])
    agreement.refresh_from_db()
    assert (agreement.status, agreement.termination_kind) == (AgreementStatus.TERMINATED, "for_cause")
    assert AgreementBar.objects.get(agreement=agreement).until == date(2028, 5, 20)
    assert case.number in agreement.termination_reason


def test_a_dishonest_listing_is_published(yc, users):
    with travel(2026, 5, 20, 10):
        case = decided_case(yc, users, [{"measure": "dishonest"}], title="伪造病历骗取基金")
    (listing,) = public_listings()["dishonest"]
    assert (listing.institution, listing.case, listing.listed_on, listing.reason) == (yc, case, date(2026, 5, 20), "伪造病历骗取基金")
    body = Client().get(reverse("api:public-violations")).json()
    assert body["dishonest"] == [{
        "institution_code": yc.code, "institution_name": YINCHUAN, "case_number": case.number,
        "listed_on": "2026-05-20", "basis": listing.basis, "reason": "伪造病历骗取基金",
    }]


# ---- the assessment score ------------------------------------------------------------------------------


def test_decisions_feed_the_assessment_score_as_named_components(yc, users, staff):
    with travel(2026, 5, 20, 10):
        score_set(institution=yc, year=2026, components=[{"kind": "assessment", "points": "92"}], actor=staff)
        first = decided_case(yc, users, [{"measure": "interview"}, {"measure": "recovery", "amount": "500.00"}],
                             title="超标准收费")
        second = ready_case(yc, opener=staff, admin=users["hospital_admin"], title="分解住院")
        decide(second, users["staff_region"], [{"measure": "interview"}], score_points="2.5")
    score = AssessmentScore.objects.get(institution=yc, year=2026)
    deductions = list(score.components.filter(kind=ComponentKind.DEDUCTION).order_by("pk"))
    assert [(c.source_label, c.points, c.note) for c in deductions] == [
        (first.number, D("-6.00"), "超标准收费"),  # the measures' default points: interview 1 + recovery 5
        (second.number, D("-2.50"), "分解住院"),  # the points the decision gave
    ]
    assert "约谈" in deductions[0].label and "追回已支付费用" in deductions[0].label
    assert deductions[0].created_by == users["auditor_yinchuan"]
    assert score.total == D("83.50")
    assert (Case.objects.get(pk=first.pk).score_points, Case.objects.get(pk=second.pk).score_points) == (D("6.00"), D("2.50"))
    # A later assessment entered by hand replaces the base, never the deductions.
    with travel(2026, 12, 20, 10):
        score_set(institution=yc, year=2026, components=[{"kind": "assessment", "points": "95"}], actor=staff)
    assert AssessmentScore.objects.get(pk=score.pk).total == D("86.50")


def test_a_decision_with_no_points_adds_no_component(yc, users):
    with travel(2026, 5, 20, 10):
        decided = decided_case(yc, users, [{"measure": "interview"}])
        case = ready_case(yc, opener=users["staff_yinchuan"], admin=users["hospital_admin"], title="另案")
        decide(case, users["auditor_yinchuan"], [{"measure": "interview"}], score_points="0")
    assert list(ScoreComponent.objects.values_list("source_label", flat=True)) == [decided.number]
