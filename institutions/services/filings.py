"""变更备案 (M§4, R§4, D§5): an institution reports a change, agency staff file it."""

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ApplicationError, Conflict, PermissionDenied
from core.text import split_phones, squash, tidy

from ..models import ChangeFiling, FilingStatus, Institution, Ownership, ProfitCategory

_CHOICES = {"ownership": Ownership, "profit_category": ProfitCategory}


def _normalise(field: str, value):
    if field == "phones":
        return split_phones(value) if isinstance(value, str) else [p for p in value if p]
    value = "" if value is None else str(value)
    if field == "name":
        return squash(value)
    if field in _CHOICES and value and value not in _CHOICES[field].values:
        labels = {c.label: c.value for c in _CHOICES[field]}
        if value not in labels:
            raise ApplicationError(
                f"{ChangeFiling.FILEABLE_FIELDS[field]}“{value}”无效，可选：" + "、".join(labels), code="invalid_value"
            )
        return labels[value]
    return tidy(value)


def filing_submit(*, institution: Institution, changes: dict, reason: str, actor, effective_date: date | None = None) -> ChangeFiling:
    if actor.is_institution_admin and actor.institution_id != institution.pk:
        raise PermissionDenied("只能为本机构申报变更。")
    if not (reason or "").strip():
        raise ApplicationError("请填写变更原因。", code="reason_required")
    unknown = set(changes) - set(ChangeFiling.FILEABLE_FIELDS)
    if unknown:
        raise ApplicationError("以下信息不能通过变更备案修改：" + "、".join(sorted(unknown)), code="invalid_field")
    diff = {}
    for field, after in changes.items():
        after = _normalise(field, after)
        before = getattr(institution, field)
        if after != before:
            if field == "name" and not after:
                raise ApplicationError("机构名称不能为空。", code="invalid_value")
            diff[field] = {"before": before, "after": after}
    if not diff:
        raise ApplicationError("填写的信息与现登记信息相同，没有需要备案的变更。", code="no_change")
    pending = ChangeFiling.objects.filter(institution=institution, status=FilingStatus.PENDING)
    overlapping = {f for p in pending for f in p.changes} & set(diff)
    if overlapping:
        labels = "、".join(ChangeFiling.FILEABLE_FIELDS[f] for f in sorted(overlapping))
        raise Conflict(f"{labels}已有待审核的变更备案，请等待其审核完成。", code="pending_filing")
    return ChangeFiling.objects.create(
        institution=institution, changes=diff, reason=reason.strip(), effective_date=effective_date, submitted_by=actor
    )


def _lock_pending(filing: ChangeFiling, expected_status: str = FilingStatus.PENDING) -> ChangeFiling:
    locked = ChangeFiling.objects.select_for_update().select_related("institution").get(pk=filing.pk)
    if locked.status != expected_status:
        raise Conflict(f"该变更备案已{locked.get_status_display()}，不能重复审核。", code="stale")
    return locked


def _check_decider(filing: ChangeFiling, actor) -> None:
    if not (actor.is_agency_staff or actor.is_portal_admin):
        raise PermissionDenied("只有经办人员可以审核变更备案。")
    if filing.submitted_by_id == actor.pk:
        raise PermissionDenied("不能审核自己提交的变更备案。", code="four_eyes")


@transaction.atomic
def filing_approve(*, filing: ChangeFiling, actor, note: str = "") -> ChangeFiling:
    filing = _lock_pending(filing)
    _check_decider(filing, actor)
    inst = Institution.objects.select_for_update().get(pk=filing.institution_id)
    stale = [ChangeFiling.FILEABLE_FIELDS[f] for f, v in filing.changes.items() if getattr(inst, f) != v["before"]]
    if stale:
        raise Conflict(
            "申报后以下登记信息已被修改，请退回后重新申报：" + "、".join(stale), code="stale_institution"
        )
    for field, value in filing.changes.items():
        setattr(inst, field, value["after"])
    try:
        with transaction.atomic():
            inst.save()
    except IntegrityError:
        raise Conflict("同一法人单位下已有同名机构，不能改为此名称。", code="duplicate_name") from None
    filing.status = FilingStatus.APPROVED
    filing.decided_by = actor
    filing.decided_at = timezone.now()
    filing.decision_note = (note or "").strip()
    filing.save()
    return filing


@transaction.atomic
def filing_reject(*, filing: ChangeFiling, actor, note: str) -> ChangeFiling:
    if not (note or "").strip():
        raise ApplicationError("退回时请填写审核意见。", code="note_required")
    filing = _lock_pending(filing)
    _check_decider(filing, actor)
    filing.status = FilingStatus.REJECTED
    filing.decided_by = actor
    filing.decided_at = timezone.now()
    filing.decision_note = note.strip()
    filing.save()
    return filing
