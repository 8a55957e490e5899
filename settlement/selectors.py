"""Reads of declarations and settlements, always through the caller's institution scope
(institutions.selectors.institutions_for): a foreign id is simply not in the queryset, so pages
and API answer 404 and confirm nothing."""

from datetime import date

from decimal import Decimal

from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Role
from institutions.models import Institution
from institutions.selectors import agencies_for
from institutions.selectors import institutions_for as _scoped_institutions

from .models import (
    AnnualBatch,
    AnnualSettlement,
    Declaration,
    Deduction,
    PaymentHold,
    SettlementAdjustment,
    DeclarationImport,
    DeclarationLine,
    ImportRejection,
    MonthlyBatch,
    MonthlySettlement,
    SettlementRun,
)


def institutions_for(user) -> QuerySet[Institution]:
    """The caller's institutions; None is the system itself (commands, beat jobs): all of them."""
    return Institution.objects.all() if user is None else _scoped_institutions(user)


def declarations_for(user) -> QuerySet[Declaration]:
    return Declaration.objects.filter(institution__in=institutions_for(user)).select_related("institution")


def declaration_list(*, user, period: date | None = None, institution=None) -> QuerySet[Declaration]:
    qs = declarations_for(user)
    if period:
        qs = qs.filter(period=period)
    if institution:
        qs = qs.filter(institution=institution)
    return qs.annotate(
        line_count=Count("lines"),
        declared=Sum("lines__in_scope"),
        approved=Sum("lines__approved_amount", filter=Q(lines__status__in=["approved", "reduced"])),
        pending=Count("lines", filter=Q(lines__status="pending")),
        held=Count("lines", filter=Q(lines__status="held")),
    ).order_by("-period", "institution__code")


def lines_for(user) -> QuerySet[DeclarationLine]:
    return DeclarationLine.objects.filter(declaration__institution__in=institutions_for(user)).select_related(
        "declaration__institution", "reason"
    )


LINE_FILTERS = ("institution", "category", "status", "q", "late", "min_amount")


def review_lines(*, user, period: date, filters: dict) -> QuerySet[DeclarationLine]:
    """The month's lines the reviewer sees, narrowed by the screen's filters."""
    qs = lines_for(user).filter(declaration__period=period)
    if inst := filters.get("institution"):
        qs = qs.filter(declaration__institution_id=getattr(inst, "pk", inst))
    if category := filters.get("category"):
        qs = qs.filter(category=category)
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(Q(name__icontains=q) | Q(card_no__icontains=q))
    if filters.get("late") in ("1", "true", True):
        qs = qs.filter(late=True)
    if (minimum := filters.get("min_amount")) not in (None, ""):
        qs = qs.filter(in_scope__gte=minimum)
    return qs.order_by("declaration__institution__code", "source_row", "pk")


def imports_for(user) -> QuerySet[DeclarationImport]:
    """Submissions the caller may read: an institution its own; staff those of their institutions
    and, for the regional agency and administrators, the command-line imports too."""
    qs = DeclarationImport.objects.select_related("institution", "submitted_by")
    if user.sees_all_institutions:
        return qs
    if user.role == Role.INSTITUTION_ADMIN:
        return qs.filter(institution_id=user.institution_id)
    if user.role in (Role.AGENCY_STAFF, Role.AUDITOR):
        return qs.filter(Q(institution__in=institutions_for(user)) | Q(submitted_by=user))
    return qs.none()


def rejections_for(user, batch: DeclarationImport) -> QuerySet[ImportRejection]:
    return ImportRejection.objects.filter(batch__in=imports_for(user), batch=batch)


def settlements_for(user) -> QuerySet[MonthlySettlement]:
    return MonthlySettlement.objects.filter(institution__in=institutions_for(user)).select_related(
        "institution", "batch", "batch__agency"
    )


def batches_for(user) -> QuerySet[MonthlyBatch]:
    return MonthlyBatch.objects.filter(agency__in=agencies_for(user)).select_related("agency", "approved_by")


def annual_settlements_for(user) -> QuerySet[AnnualSettlement]:
    """Annual rows of the caller's institutions; None is the system itself: all of them."""
    return AnnualSettlement.objects.filter(institution__in=institutions_for(user)).select_related(
        "institution", "batch", "batch__agency", "batch__approved_by"
    )


def annual_batches_for(user) -> QuerySet[AnnualBatch]:
    qs = AnnualBatch.objects.all() if user is None else AnnualBatch.objects.filter(agency__in=agencies_for(user))
    return qs.select_related("agency", "approved_by")


def runs_for(user) -> QuerySet[SettlementRun]:
    qs = SettlementRun.objects.select_related("agency", "requested_by")
    if user.sees_all_institutions:
        return qs
    if user.role in (Role.AGENCY_STAFF, Role.AUDITOR):
        return qs.filter(Q(agency_id=user.agency_id) | Q(requested_by=user))
    return qs.none()


def home_summary(user) -> dict:
    """What the start page shows of declarations and settlement, by role."""
    from django.utils import timezone

    from .services.periods import add_months, month_start

    last = add_months(month_start(timezone.localdate()), -1)
    if user.role == Role.INSTITUTION_ADMIN:
        return {
            "settlement_month": last,
            "declaration": declaration_list(user=user, period=last).first(),
            "statements": settlements_for(user).order_by("-period")[:3],
        }
    lines = lines_for(user).filter(declaration__period=last)
    return {
        "settlement_month": last,
        "pending_lines": lines.filter(status="pending").count(),
        "held_lines": lines_for(user).filter(status="held").count(),
        "batches_to_approve": batches_for(user).filter(status="calculated").order_by("period"),
    }


def deductions_for(user) -> QuerySet[Deduction]:
    """Receivables in scope, each with what frozen settlements have offset (used) and what remains."""
    used = Coalesce(
        Sum("offsets__amount", filter=Q(offsets__settlement__frozen=True)),
        Value(Decimal("0.00")),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    return (
        Deduction.objects.filter(institution__in=institutions_for(user))
        .select_related("institution", "created_by")
        .annotate(used=used, remaining=F("amount") - F("used"))
        .order_by("-created_at", "-pk")
    )


def holds_for(user) -> QuerySet[PaymentHold]:
    return PaymentHold.objects.filter(institution__in=institutions_for(user)).select_related(
        "institution", "created_by", "lifted_by"
    )


def adjustments_for(user) -> QuerySet[SettlementAdjustment]:
    return SettlementAdjustment.objects.filter(institution__in=institutions_for(user)).select_related(
        "institution", "created_by"
    )
