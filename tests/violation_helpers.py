"""Helpers shared by the violation tests (issue 6): the usual steps of a case, and a snapshot of
every effect a decision can have, so that a refused decision can be shown to have changed nothing.

Plain functions, not fixtures, so each test says what it does. The registry fixtures of
tests/conftest.py provide the institutions and users.
"""

from datetime import timedelta

from django.utils import timezone

from agreements.models import Agreement, AgreementBar, AgreementEvent
from settlement.models import AssessmentScore, Deduction, PaymentHold, ScoreComponent
from violations.models import Case, CaseEvent, DecisionMeasure, DishonestListing, Rectification
from violations.services.cases import case_decide, case_explain, case_notify, case_open

BASIS = "医疗协议第三十八条"


def medical_agreement(inst) -> Agreement:
    """The institution's live medical agreement (it may also hold other types)."""
    return Agreement.objects.get(institution=inst, type="medical", status="active")


def open_case(inst, actor, *, agreement=None, title="超范围收费", source="complaint", lines=()) -> Case:
    return case_open(institution=inst, agreement=agreement, source=source, title=title,
                     description="群众投诉：住院期间存在超范围收费。", actor=actor, lines=lines)


def notify(case, actor, *, days=7) -> Case:
    due = timezone.localdate() + timedelta(days=days)
    return case_notify(case=case, notice_text="请就超范围收费问题作出书面说明。", explanation_due=due, actor=actor)


def explain(case, admin) -> Case:
    return case_explain(case=case, explanation="已自查，涉及费用系收费员录入错误。", actor=admin)


def ready_case(inst, *, opener, admin, agreement=None, title="超范围收费") -> Case:
    """Opened, notified and explained: ready for a decision by anyone but the opener."""
    case = open_case(inst, opener, agreement=agreement, title=title)
    notify(case, opener)
    return explain(case, admin)


def decide(case, actor, measures, *, summary="经调查，违规事实成立。", legal_basis=BASIS, score_points=None) -> Case:
    return case_decide(case=case, measures=measures, summary=summary, legal_basis=legal_basis, actor=actor,
                       score_points=score_points)


def effects() -> dict:
    """How many of each thing a decision can create or change (all institutions)."""
    return {
        "decision_measures": DecisionMeasure.objects.count(),
        "deductions": Deduction.objects.count(),
        "holds": PaymentHold.objects.count(),
        "agreement_events": AgreementEvent.objects.count(),
        "agreement_bars": AgreementBar.objects.count(),
        "score_components": ScoreComponent.objects.count(),
        "scores": list(AssessmentScore.objects.order_by("pk").values_list("pk", "total")),
        "rectifications": Rectification.objects.count(),
        "dishonest": DishonestListing.objects.count(),
        "agreements": list(Agreement.objects.order_by("pk").values_list("pk", "status", "revision")),
    }


def case_state(case) -> tuple:
    c = Case.objects.get(pk=case.pk)
    return (c.status, c.revision, c.decided_by_id, c.decided_at, c.legal_basis, c.score_points,
            CaseEvent.objects.filter(case=c).count())
