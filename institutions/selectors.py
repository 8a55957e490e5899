"""Reads of the registry, always through the caller's scope (SPEC §1).

Scoping is by filtering, never by checking afterwards: an id outside the scope is simply not in
the queryset, so the page or API answers 404 and does not confirm that the object exists.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Role

from .models import ChangeFiling, Designation, DesignationApplication, HandlingAgency, Institution


def institutions_for(user) -> QuerySet[Institution]:
    qs = Institution.objects.select_related("legal_entity", "agency")
    if not user.is_authenticated:
        return qs.none()
    if user.is_portal_admin:
        return qs
    if user.role in (Role.AGENCY_STAFF, Role.AUDITOR):
        if not user.agency_id:
            return qs.none()
        if user.agency.is_regional:
            return qs
        handled = Designation.objects.filter(institution=OuterRef("pk"), agency_id=user.agency_id)
        return qs.filter(Q(agency_id=user.agency_id) | Exists(handled))
    if user.role == Role.INSTITUTION_ADMIN and user.institution_id:
        return qs.filter(pk=user.institution_id)
    return qs.none()


def agencies_for(user) -> QuerySet[HandlingAgency]:
    qs = HandlingAgency.objects.all()
    if user.sees_all_institutions:
        return qs
    if user.role in (Role.AGENCY_STAFF, Role.AUDITOR) and user.agency_id:
        return qs.filter(pk=user.agency_id)
    return qs.none()


def institution_list(*, user, filters: dict | None = None) -> QuerySet[Institution]:
    """The searchable registry: text, region, type, grade, ownership, agency, flagged."""
    f = filters or {}
    qs = institutions_for(user)
    if q := (f.get("q") or "").strip():
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(legal_entity__uscc__icontains=q) | Q(address__icontains=q))
    if region := (f.get("region") or "").strip():
        # A city code (640100) matches its districts; a district code matches itself.
        qs = qs.filter(division_code__startswith=region[:4] if region.endswith("00") else region)
    if type_ := f.get("type"):
        qs = qs.filter(designations__type=type_)
    if grade := f.get("grade"):
        qs = qs.filter(grade=grade)
    if ownership := f.get("ownership"):
        qs = qs.filter(ownership=ownership)
    if agency := f.get("agency"):
        qs = qs.filter(Q(agency_id=agency) | Q(designations__agency_id=agency))
    if f.get("needs_verification") in ("1", "true", True):
        qs = qs.filter(needs_verification=True)
    return qs.distinct().prefetch_related("designations").order_by("code")


def filings_for(user) -> QuerySet[ChangeFiling]:
    return ChangeFiling.objects.filter(institution__in=institutions_for(user)).select_related(
        "institution", "submitted_by", "decided_by"
    )


def applications_for(user) -> QuerySet[DesignationApplication]:
    qs = DesignationApplication.objects.select_related("institution", "agency", "submitted_by")
    if user.is_portal_admin or user.sees_all_institutions:
        return qs
    if user.role == Role.AGENCY_STAFF and user.agency_id:
        return qs.filter(agency_id=user.agency_id)
    if user.role == Role.INSTITUTION_ADMIN and user.institution_id:
        return qs.filter(Q(institution_id=user.institution_id) | Q(submitted_by=user))
    return qs.none()


def grade_choices(user) -> list[str]:
    return sorted(set(institutions_for(user).exclude(grade="").values_list("grade", flat=True)))


def region_choices(user) -> list[tuple[str, str]]:
    """(division code, city name as listed) pairs, cities first."""
    seen = {}
    for code, city in institutions_for(user).values_list("division_code", "city_name").order_by("division_code"):
        seen.setdefault(code, city)
    return sorted(seen.items())


def designation_counts(user) -> list[tuple[str, int]]:
    from django.db.models import Count

    from .models import DesignationType

    counts = dict(
        Designation.objects.filter(institution__in=institutions_for(user))
        .values_list("type")
        .annotate(n=Count("pk"))
        .values_list("type", "n")
    )
    return [(t.label, counts.get(t.value, 0)) for t in DesignationType]
