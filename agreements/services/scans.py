from django.db import transaction

from core.errors import ApplicationError, PermissionDenied
from institutions.services.uploads import check_document

from ..models import Agreement, AgreementAction, AgreementEvent, SignedScan


@transaction.atomic
def agreement_upload_scan(*, agreement: Agreement, upload, actor) -> SignedScan:
    """Attach the signed and sealed copy (PDF or image; size and real type checked)."""
    if not (actor.is_agency_staff or actor.is_portal_admin):
        raise PermissionDenied("只有经办人员可以上传签章扫描件。")
    if agreement.status == "draft":
        raise ApplicationError("协议尚未签订，签订后再上传签章扫描件。", code="not_signed")
    check_document(upload)
    scan = SignedScan.objects.create(
        agreement=agreement, file=upload, original_name=upload.name[:200], size=upload.size, uploaded_by=actor
    )
    AgreementEvent.objects.create(
        agreement=agreement, action=AgreementAction.UPLOAD_SCAN, from_status=agreement.status,
        to_status=agreement.status, on=scan.uploaded_at.date(), actor=actor, reason=scan.original_name,
    )
    return scan
