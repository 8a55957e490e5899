"""The annual settlement application (W§28): in January the institution applies for the previous
year's settlement with the settlement declaration form (结算申报表) and the cost-analysis report
(费用情况分析报告). Both sides see its status: submitted → accepted, or returned to be completed."""

from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, PermissionDenied
from core.text import chinese_date
from institutions.selectors import institutions_for

from ..models import (
    REQUIRED_ANNUAL_MATERIALS,
    AnnualApplication,
    AnnualApplicationStatus as S,
    AnnualMaterial,
    AnnualMaterialKind,
)

ALLOWED_EXTENSIONS = (".pdf", ".xlsx", ".xls", ".docx", ".doc", ".png", ".jpg", ".jpeg", ".zip")


def application_window(year: int) -> tuple[date, date]:
    """W§28: "每年1月底前" — from 1 January to 31 January of the following year, inclusive."""
    return date(year + 1, 1, 1), date(year + 1, 1, 31)


def _check_actor(actor, institution) -> bool:
    """True when the actor is the institution itself (deadlines apply), False for staff."""
    if actor.is_institution_admin:
        if actor.institution_id != institution.pk:
            raise PermissionDenied("只能为本机构申请年度结算。")
        return True
    if actor.is_agency_staff or actor.is_portal_admin:
        if not institutions_for(actor).filter(pk=institution.pk).exists():
            raise PermissionDenied("该机构不属于您所在经办机构的管辖范围。", code="out_of_scope")
        return False
    raise PermissionDenied("您的角色不能提交年度结算申请。")


def _check_file(upload, kind: str) -> None:
    if kind not in AnnualMaterialKind.values:
        raise ApplicationError("请选择材料类型。", code="invalid_kind")
    name = (upload.name or "").lower()
    if not name.endswith(ALLOWED_EXTENSIONS):
        raise ApplicationError("材料须为 PDF、Excel、Word、图片或 ZIP 文件。", code="bad_file_type")
    limit = settings.PORTAL_MAX_MATERIAL_UPLOAD_BYTES
    if upload.size > limit:
        raise ApplicationError(f"文件过大：超过上限 {limit // (1024 * 1024)} MB。", code="file_too_large")
    if upload.size == 0:
        raise ApplicationError("文件为空。", code="empty_file")


@transaction.atomic
def annual_application_submit(*, institution, year: int, materials: dict, actor, note: str = "") -> AnnualApplication:
    """Submit (or complete a returned) application. materials: {kind: uploaded file}; the
    declaration form and the cost-analysis report are required unless already on file."""
    own = _check_actor(actor, institution)
    today = timezone.localdate()
    opens, closes = application_window(year)
    late = today > closes
    if own and today < opens:
        raise ApplicationError(f"{year}年度的年度结算申请自{chinese_date(opens)}起受理（乌海办法第二十八条）。", code="not_open")
    if own and late:
        raise ApplicationError(
            f"{year}年度的年度结算申请已于{chinese_date(closes)}截止（乌海办法第二十八条：每年1月底前申请），逾期请联系经办机构。",
            code="deadline_passed",
        )
    for kind, upload in materials.items():
        _check_file(upload, kind)
    application = AnnualApplication.objects.select_for_update().filter(institution=institution, year=year).first()
    if application is not None and application.status == S.ACCEPTED:
        raise ApplicationError("该年度的结算申请已受理，不能再修改。", code="already_accepted")
    on_file = set(application.materials.values_list("kind", flat=True)) if application else set()
    missing = [str(AnnualMaterialKind(k).label) for k in REQUIRED_ANNUAL_MATERIALS if k not in on_file and k not in materials]
    if missing:
        raise ApplicationError("请上传：" + "、".join(missing) + "（乌海办法第二十八条）。", code="materials_missing")
    now = timezone.now()
    if application is None:
        application = AnnualApplication.objects.create(
            institution=institution, year=year, submitted_by=actor, submitted_at=now, late=late, note=note.strip()
        )
    else:
        application.status, application.submitted_by, application.submitted_at = S.SUBMITTED, actor, now
        application.late = application.late or late
        application.note = note.strip() or application.note
        application.save(update_fields=["status", "submitted_by", "submitted_at", "late", "note"])
    for kind, upload in materials.items():
        AnnualMaterial.objects.create(
            application=application, kind=kind, file=upload, original_name=upload.name[:200], size=upload.size, uploaded_by=actor
        )
    return application


@transaction.atomic
def annual_application_decide(*, application: AnnualApplication, accept: bool, note: str, actor) -> AnnualApplication:
    locked = AnnualApplication.objects.select_for_update().select_related("institution").get(pk=application.pk)
    if actor.is_institution_admin or _check_actor(actor, locked.institution):
        raise PermissionDenied("只有经办人员可以受理年度结算申请。")
    if locked.status != S.SUBMITTED:
        raise ApplicationError(f"申请当前为“{locked.get_status_display()}”，不能再次办理。", code="invalid_status")
    if not accept and not (note or "").strip():
        raise ApplicationError("退回须写明需要补正的内容。", code="note_required")
    locked.status = S.ACCEPTED if accept else S.RETURNED
    locked.reviewed_by, locked.reviewed_at, locked.review_note = actor, timezone.now(), (note or "").strip()
    locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
    return locked
