"""Reads of violation cases, through the caller's institution scope (a foreign id is a 404).
What an institution may read of its own case is decided here too: never the investigation notes,
the agency's evidence or the internal steps of the timeline."""

from django.db.models import Case as Case_
from django.db.models import Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from agreements.selectors import public_terminations
from institutions.selectors import institutions_for

from .models import OPEN_STATUSES, Case, CaseEvent, CaseStatus, DecisionMeasure, DishonestListing, Evidence


def cases_for(user) -> QuerySet[Case]:
    qs = Case.objects.filter(institution__in=institutions_for(user)).select_related(
        "institution", "agreement", "opened_by", "decided_by"
    )
    if user.is_institution_admin:
        # A case is the agency's own business until the institution is notified (M§35).
        qs = qs.exclude(status=CaseStatus.OPENED)
    return qs


def sees_internals(user) -> bool:
    return not user.is_institution_admin


def events_for(user, case: Case) -> QuerySet[CaseEvent]:
    qs = case.events.select_related("actor")
    return qs if sees_internals(user) else qs.filter(internal=False)


def evidence_for(user, case: Case) -> QuerySet[Evidence]:
    qs = case.evidence.select_related("uploaded_by")
    return qs if sees_internals(user) else qs.filter(internal=False)


QUEUE_FILTERS = ("q", "status", "source", "institution", "queue")
STATUS_ORDER = [CaseStatus.NOTIFIED, CaseStatus.INVESTIGATING, CaseStatus.OPENED, CaseStatus.RECTIFYING,
                CaseStatus.DECIDED, CaseStatus.CLOSED]


def case_queue(*, user, filters: dict) -> QuerySet[Case]:
    """The work queue: open cases first, each filter optional. queue=mine: cases I opened;
    queue=decide: cases awaiting a decision that I may take (not opened by me); queue=overdue."""
    qs = cases_for(user)
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(Q(number__icontains=q) | Q(title__icontains=q) | Q(institution__name__icontains=q))
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if source := filters.get("source"):
        qs = qs.filter(source=source)
    if inst := str(filters.get("institution") or ""):
        if inst.isdigit():
            qs = qs.filter(institution_id=int(inst))
    queue = filters.get("queue")
    today = timezone.localdate()
    if queue == "mine":
        qs = qs.filter(opened_by=user)
    elif queue == "decide":
        qs = qs.filter(status__in=[CaseStatus.NOTIFIED, CaseStatus.INVESTIGATING]).exclude(opened_by=user)
    elif queue == "overdue":
        qs = qs.filter(
            Q(status=CaseStatus.NOTIFIED, explanation_due__lt=today)
            | Q(status=CaseStatus.RECTIFYING, rectifications__deadline__lt=today,
                rectifications__status__in=["pending", "reported"])
        ).distinct()
    elif queue == "open":
        qs = qs.filter(status__in=[*OPEN_STATUSES, CaseStatus.DECIDED, CaseStatus.RECTIFYING])
    # Open cases first, in the order of their lifecycle; closed ones last.
    rank = Case_(*[When(status=status, then=Value(i)) for i, status in enumerate(STATUS_ORDER)], output_field=IntegerField())
    return qs.order_by(rank, "-opened_at")


def statistics(*, user, year: int | None = None) -> dict:
    """Cases opened in the year by institution and by source; decisions taken in the year by
    measure and by month (a case opened in December and decided in January counts as opened in
    the one year and decided in the next)."""
    cases = cases_for(user)
    opened = cases.filter(opened_at__year=year) if year else cases
    decided = cases.filter(decided_at__isnull=False)
    if year:
        decided = decided.filter(decided_at__year=year)
    measures = DecisionMeasure.objects.filter(case__in=decided)
    by_institution = (
        opened.values("institution__code", "institution__name")
        .annotate(total=Count("pk"), open=Count("pk", filter=~Q(status=CaseStatus.CLOSED)),
                  decided=Count("pk", filter=Q(decided_at__isnull=False)))
        .order_by("-total", "institution__code")
    )
    by_measure = (
        measures.values("measure__label", "measure__kind", "measure__position")
        .annotate(n=Count("pk"), amount=Sum("amount"))
        .order_by("measure__position")
    )
    by_month = (
        decided.annotate(month=TruncMonth("decided_at"))
        .values("month").annotate(n=Count("pk"), points=Sum("score_points"))
        .order_by("month")
    )
    by_source = opened.values("source").annotate(n=Count("pk")).order_by("source")
    return {
        "by_institution": list(by_institution), "by_measure": list(by_measure), "by_month": list(by_month),
        "by_source": list(by_source), "total": opened.count(), "decided": decided.count(),
    }


def public_listings() -> dict:
    """The public list (M§43, R§28, D§30): terminated agreements and seriously dishonest entities."""
    return {
        "terminations": public_terminations().select_related("bar"),
        "dishonest": DishonestListing.objects.select_related("institution", "case").order_by("-listed_on"),
    }
