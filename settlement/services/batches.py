"""What the month-end and the year-end batches share: who may settle which agency, the lock on an
agency's batch, and saving a batch's rows in place (their ids — and so the statement links —
survive a re-run)."""

from django.db import models
from django.db.models import QuerySet

from core.errors import PermissionDenied
from institutions.models import HandlingAgency


def require_settling_staff(actor, what: str = "结算") -> None:
    """None is the system (commands, beat); otherwise agency staff or an administrator."""
    if actor is not None and not (actor.is_agency_staff or actor.is_portal_admin):
        raise PermissionDenied(f"只有经办人员可以办理{what}。")


def agencies_in_scope(actor, agency: HandlingAgency | None) -> QuerySet[HandlingAgency] | list[HandlingAgency]:
    """The agency asked for (checked against the actor's), or the agencies the actor may settle."""
    if agency is not None:
        if actor is not None and not actor.sees_all_institutions and actor.agency_id != agency.pk:
            raise PermissionDenied("只能结算本经办机构管辖的协议机构。", code="out_of_scope")
        return [agency]
    qs = HandlingAgency.objects.all()
    if actor is not None and not actor.sees_all_institutions:
        qs = qs.filter(pk=actor.agency_id)
    return qs


def lock_batch(model: type[models.Model], **key):
    """The batch row of one agency's month or year, created if missing, locked FOR UPDATE: runs
    and approvals of the same batch queue behind each other."""
    model.objects.bulk_create([model(**key)], ignore_conflicts=True)
    return model.objects.select_for_update(of=("self",)).select_related("agency").get(**key)


def save_rows_in_place(model: type[models.Model], rows: list, existing: dict, fields: list[str]) -> None:
    """Update the rows that exist (matched by institution), create the new ones, delete those with
    nothing left to settle. One UPDATE per row rather than bulk_update: bulk_update builds a CASE
    WHEN per field and row, which for a month's rows cost Django more than all its queries."""
    existing = dict(existing)
    for row in rows:
        old = existing.pop(row.institution_id, None)
        if old is not None:
            row.pk = old.pk
            model.objects.filter(pk=row.pk).update(**{f: getattr(row, f) for f in fields})
    model.objects.bulk_create([row for row in rows if row.pk is None])
    if existing:
        model.objects.filter(pk__in=[row.pk for row in existing.values()]).delete()
