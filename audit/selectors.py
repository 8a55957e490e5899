"""Reads of the audit trail (django-auditlog's LogEntry, made append-only by migration 0001)."""

import json
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

ACTION_LABELS = {0: "新增", 1: "修改", 2: "删除", 3: "查看"}


def history_for(*objects) -> QuerySet[LogEntry]:
    """Every entry about these objects, newest first — also after they were deleted."""
    q = Q(pk__in=[])
    for obj in objects:
        q |= Q(content_type=ContentType.objects.get_for_model(type(obj)), object_pk=str(obj.pk))
    return LogEntry.objects.filter(q).select_related("actor", "content_type").order_by("-timestamp", "-pk")


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def visible_to(viewer) -> QuerySet[LogEntry]:
    """Entries a viewer may read: everything for administrators and the regional agency; for a
    city or county agency, only entries about the registry objects in its own scope."""
    qs = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")
    if viewer.sees_all_institutions:
        return qs
    from institutions import selectors as registry
    from institutions.models import ApplicationMaterial, Designation, LegalEntity

    institutions = registry.institutions_for(viewer)
    applications = registry.applications_for(viewer)
    scoped = [
        institutions,
        Designation.objects.filter(institution__in=institutions),
        LegalEntity.objects.filter(institutions__in=institutions),
        registry.filings_for(viewer),
        applications,
        ApplicationMaterial.objects.filter(application__in=applications),
        registry.agencies_for(viewer),
    ]
    q = Q(pk__in=[])
    for objects in scoped:
        ids = objects.order_by().annotate(pk_text=Cast("pk", CharField())).values("pk_text")
        q |= Q(content_type=ContentType.objects.get_for_model(objects.model), object_pk__in=ids)
    return qs.filter(q)


def search(
    *, viewer, model: str = "", object_pk: str = "", user: str = "", date_from=None, date_to=None, q: str = ""
) -> QuerySet[LogEntry]:
    qs = visible_to(viewer)
    if model:
        app_label, _, model_name = model.partition(".")
        qs = qs.filter(content_type__app_label=app_label, content_type__model=model_name)
    if object_pk:
        qs = qs.filter(object_pk=object_pk.strip())
    if user:
        qs = qs.filter(Q(actor__username__icontains=user) | Q(actor__full_name__icontains=user))
    if date_from:
        qs = qs.filter(timestamp__gte=_day_start(date_from))
    if date_to:
        qs = qs.filter(timestamp__lt=_day_start(date_to + timedelta(days=1)))
    if q:
        qs = qs.filter(Q(object_repr__icontains=q) | Q(changes_text__icontains=q))
    return qs


def model_choices() -> list[tuple[str, str]]:
    from auditlog.registry import auditlog

    return sorted(
        (f"{m._meta.app_label}.{m._meta.model_name}", str(m._meta.verbose_name)) for m in auditlog.get_models()
    )


# Bookkeeping fields that say nothing to a reader of the trail.
HIDDEN_FIELDS = {"created_at", "updated_at", "source", "original", "id"}


def _display(field, raw) -> str:
    if raw in (None, "None", ""):
        return ""
    if field is None:
        return str(raw)
    if getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(raw, raw))
    if field.get_internal_type() == "DateTimeField":
        try:
            moment = datetime.fromisoformat(str(raw))
        except ValueError:
            return str(raw)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, dt_timezone.utc)
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
    if field.get_internal_type() == "BooleanField":
        return {"True": "是", "False": "否"}.get(str(raw), str(raw))
    if field.is_relation and field.related_model is not None:
        obj = field.related_model._default_manager.filter(pk=raw).first()
        return str(obj) if obj is not None else f"#{raw}（已删除）"
    if field.get_internal_type() == "JSONField" and isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return raw
        if isinstance(value, list):
            return " / ".join(map(str, value))
        return json.dumps(value, ensure_ascii=False)
    return str(raw)


def describe_changes(entry: LogEntry) -> list[tuple[str, str, str]]:
    """[(field label, before, after)] in the model's own Chinese field names and values.

    A creation is shown as one line (the object's own page holds its values); updates and
    deletions list each concrete field that changed.
    """
    if entry.action == LogEntry.Action.CREATE:
        return []
    model = entry.content_type.model_class() if entry.content_type_id else None
    rows = []
    for name, values in (entry.changes_dict or {}).items():
        if name in HIDDEN_FIELDS:
            continue
        field = None
        if model is not None:
            try:
                field = model._meta.get_field(name)
            except Exception:  # a field removed since the entry was written
                field = None
            if field is not None and not field.concrete:
                continue  # reverse relations: noise
        before, after = (list(values) + [None, None])[:2] if isinstance(values, list) else (None, values)
        label = str(field.verbose_name) if field is not None else name
        rows.append((label, _display(field, before), _display(field, after)))
    return rows
