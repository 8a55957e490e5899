"""New designations (W§7, W§9): application with materials → qualification review →
agreement signing → public announcement. Declared transitions, each stamped with actor and date."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, Conflict, PermissionDenied
from core.models import Sequence
from core.text import split_phones, squash, tidy
from core.uscc import validate_uscc

from ..models import (
    ApplicationMaterial,
    ApplicationStatus as S,
    Designation,
    DesignationApplication,
    Institution,
    LegalEntity,
    MaterialKind,
)
from .uploads import check_document

# action: (from states, to state, label)
TRANSITIONS = {
    "start_review": ({S.SUBMITTED}, S.UNDER_REVIEW, "开始资格审查"),
    "approve": ({S.UNDER_REVIEW}, S.APPROVED, "审查通过"),
    "reject": ({S.SUBMITTED, S.UNDER_REVIEW}, S.REJECTED, "审查不通过"),
    "sign": ({S.APPROVED}, S.SIGNED, "登记签约"),
    "announce": ({S.SIGNED}, S.ANNOUNCED, "向社会公布"),
}
# W§7: at least the application form and the practice licence before approval.
REQUIRED_MATERIALS = (MaterialKind.APPLICATION_FORM, MaterialKind.LICENCE)


def available_actions(application: DesignationApplication) -> list[tuple[str, str]]:
    return [(a, label) for a, (sources, _, label) in TRANSITIONS.items() if application.status in sources]


def application_submit(*, actor, data: dict) -> DesignationApplication:
    if actor.is_institution_admin:
        data["institution"] = actor.institution
    inst = data.get("institution")
    if inst is not None and Designation.objects.filter(institution=inst, type=data["type"]).exists():
        raise ApplicationError("该机构已具有此类定点资格，无需重复申请。", code="already_designated")
    open_apps = DesignationApplication.objects.filter(
        uscc=squash(data["uscc"]), applicant_name=squash(data["applicant_name"]), type=data["type"]
    ).exclude(status__in=[S.REJECTED, S.ANNOUNCED])
    if open_apps.exists():
        raise Conflict("该机构已有同类型的申请正在办理中。", code="duplicate_application")
    return DesignationApplication.objects.create(
        type=data["type"],
        institution=inst,
        applicant_name=squash(data["applicant_name"]),
        uscc=squash(data["uscc"]),
        address=tidy(data["address"]),
        phone=tidy(data["phone"]),
        contact_person=tidy(data["contact_person"]),
        grade=squash(data.get("grade", "")),
        ownership=data.get("ownership", ""),
        division_code=squash(data["division_code"]),
        agency=data["agency"],
        is_branch=bool(data.get("is_branch")),
        submitted_by=actor,
    )


def application_add_material(*, application: DesignationApplication, kind: str, upload, actor) -> ApplicationMaterial:
    if application.status not in (S.SUBMITTED, S.UNDER_REVIEW):
        raise ApplicationError(f"申请{application.get_status_display()}，不能再补充材料。", code="closed")
    if kind not in MaterialKind.values:
        raise ApplicationError("请选择材料类型。", code="invalid_kind")
    check_document(upload)
    return ApplicationMaterial.objects.create(
        application=application,
        kind=kind,
        file=upload,
        original_name=upload.name[:200],
        size=upload.size,
        uploaded_by=actor,
    )


@transaction.atomic
def application_advance(
    *, application: DesignationApplication, action: str, actor, note: str = "", on: date | None = None,
    expected_status: str | None = None,
) -> DesignationApplication:
    if not (actor.is_agency_staff or actor.is_portal_admin):
        raise PermissionDenied("只有经办人员可以办理定点资格申请。")
    if action not in TRANSITIONS:
        raise ApplicationError(f"未知操作“{action}”。", code="invalid_action")
    app = DesignationApplication.objects.select_for_update().get(pk=application.pk)
    if expected_status and app.status != expected_status:
        raise Conflict(f"该申请已变为“{app.get_status_display()}”，请刷新页面后再操作。", code="stale")
    sources, target, label = TRANSITIONS[action]
    if app.status not in sources:
        raise ApplicationError(f"申请当前为“{app.get_status_display()}”，不能执行“{label}”。", code="invalid_transition")
    today = on or timezone.localdate()
    if action == "reject" and not note.strip():
        raise ApplicationError("审查不通过时请写明理由。", code="note_required")
    if action == "approve":
        have = set(app.materials.values_list("kind", flat=True))
        missing = [str(MaterialKind(k).label) for k in REQUIRED_MATERIALS if k not in have]
        if missing:
            raise ApplicationError("材料不全，缺少：" + "、".join(missing) + "（W§7）。", code="materials_missing")
    if action in ("start_review", "approve", "reject"):
        app.reviewed_by = actor
        app.reviewed_at = timezone.now()
        if note.strip():
            app.review_note = note.strip()
    if action == "sign":
        app.signed_on = today
        app.institution = _register(app)
    if action == "announce":
        app.announced_on = today
    app.status = target
    app.save()
    return app


def _register(app: DesignationApplication) -> Institution:
    """Signing puts the institution (if new) and its designation into the registry."""
    inst = app.institution
    if inst is None:
        check = validate_uscc(app.uscc)
        entity, _ = LegalEntity.objects.get_or_create(
            uscc=app.uscc, defaults={"name": app.applicant_name, "uscc_valid": check.ok, "uscc_problem": check.reason}
        )
        inst = Institution.objects.filter(legal_entity=entity, name=app.applicant_name).first()
        if inst is None:
            inst = Institution.objects.create(
                code=f"JG{Sequence.next_value('institution_code'):06d}",
                name=app.applicant_name,
                legal_entity=entity,
                agency=app.agency,
                division_code=app.division_code,
                address=app.address,
                phones=split_phones(app.phone),
                grade=app.grade,
                ownership=app.ownership,
                needs_verification=not check.ok,
                verification_notes=check.reason,
            )
    if Designation.objects.filter(institution=inst, type=app.type).exists():
        raise ApplicationError("该机构已具有此类定点资格。", code="already_designated")
    Designation.objects.create(institution=inst, type=app.type, agency=app.agency, designated_on=app.signed_on)
    return inst
