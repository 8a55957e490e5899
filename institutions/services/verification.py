from django.db import transaction

from core.errors import ApplicationError, PermissionDenied

from ..models import Institution


@transaction.atomic
def institution_mark_verified(*, institution: Institution, note: str, actor) -> Institution:
    """Staff confirm a flagged record (e.g. checked the credit code on the licence)."""
    if not (actor.is_agency_staff or actor.is_portal_admin):
        raise PermissionDenied("只有经办人员可以核实登记信息。")
    if not (note or "").strip():
        raise ApplicationError("请填写核实说明。", code="note_required")
    inst = Institution.objects.select_for_update().get(pk=institution.pk)
    if not inst.needs_verification:
        raise ApplicationError("该机构没有待核实事项。", code="not_flagged")
    inst.needs_verification = False
    inst.verification_notes = f"已核实：{note.strip()}（原因：{inst.verification_notes}）"
    inst.save(update_fields=["needs_verification", "verification_notes", "updated_at"])
    return inst
