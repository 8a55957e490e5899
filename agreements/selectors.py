"""Reads of agreements, always through the caller's institution scope (a foreign id is a 404)."""

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from institutions.selectors import institutions_for

from .models import Agreement, AgreementStatus


def agreements_for(user) -> QuerySet[Agreement]:
    return Agreement.objects.filter(institution__in=institutions_for(user)).select_related("institution", "agency")


def agreement_list(*, user, filters: dict | None = None) -> QuerySet[Agreement]:
    f = filters or {}
    qs = agreements_for(user)
    if type_ := f.get("type"):
        qs = qs.filter(type=type_)
    if status := f.get("status"):
        qs = qs.filter(status=status)
    if region := (f.get("region") or "").strip():
        qs = qs.filter(institution__division_code__startswith=region[:4] if region.endswith("00") else region)
    if q := (f.get("q") or "").strip():
        qs = qs.filter(party_b_name__icontains=q) | qs.filter(number__icontains=q)
    days = str(f.get("expires_within") or "").strip()
    if days.isdigit():
        today = timezone.localdate()
        qs = qs.filter(valid_to__gte=today, valid_to__lte=today + timedelta(days=int(days)),
                       status__in=[AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED])
    if f.get("term_pending") in ("1", "true", True):
        qs = qs.filter(valid_to__isnull=True)
    return qs.order_by("institution__code", "type", "-pk")


def public_terminations() -> QuerySet[Agreement]:
    """M§43: terminations are published — the public list (no login)."""
    return Agreement.objects.filter(status=AgreementStatus.TERMINATED).select_related("institution").order_by("-terminated_on", "-pk")
