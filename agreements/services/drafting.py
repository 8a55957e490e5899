"""Creating agreements: a new draft, a renewal's successor, and one per registry designation."""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, PermissionDenied
from core.models import Sequence
from core.text import chinese_date
from institutions.models import Designation, Institution

from ..models import TEMPLATE_VERSION, Agreement, AgreementAction, AgreementEvent, AgreementStatus
from .lifecycle import active_bar, add_years

TYPE_CODES = {"medical": "YL", "rehabilitation": "KF", "devices": "FJ"}


def next_number(type_: str, year: int) -> str:
    return f"NXGS-{TYPE_CODES[type_]}-{year}-{Sequence.next_value(f'agreement:{type_}:{year}'):05d}"


def _parties(institution: Institution, agency) -> dict:
    return {
        "party_a_name": agency.name,
        "party_a_representative": agency.legal_representative,
        "party_a_address": agency.address,
        "party_a_postal_code": agency.postal_code,
        "party_a_phone": agency.phone,
        "party_b_name": institution.name,
        "party_b_representative": institution.legal_representative,
        "party_b_address": institution.address,
        "party_b_postal_code": institution.postal_code,
        "party_b_phone": " / ".join(institution.phones),
    }


@transaction.atomic
def agreement_create_draft(
    *, institution: Institution, type_: str, actor, valid_from: date | None = None, valid_to: date | None = None,
    signed_on: date | None = None, leader_name: str = "", managers: list[str] | None = None,
) -> Agreement:
    if actor is not None and not (actor.is_agency_staff or actor.is_portal_admin):
        raise PermissionDenied("只有经办人员可以起草协议。")
    from institutions.selectors import institutions_for  # noqa: PLC0415

    if actor is not None and not institutions_for(actor).filter(pk=institution.pk).exists():
        raise PermissionDenied("该机构不属于您所在经办机构的管辖范围。", code="out_of_scope")
    designation = Designation.objects.filter(institution=institution, type=type_).select_related("agency").first()
    if designation is None:
        raise ApplicationError("该机构没有此类定点资格，须先办理定点资格申请（乌海办法第七条、第九条）。", code="not_designated")
    today = timezone.localdate()
    bar = active_bar(institution, type_, today)
    if bar:
        raise ApplicationError(
            f"该机构因违约被解除同类协议，{chinese_date(bar.until)}（含）前不得重新签订（乌海办法第三十四条）。",
            code="barred",
        )
    if valid_from and valid_to and valid_to < valid_from:
        raise ApplicationError("有效期止不能早于有效期起。", code="invalid_term")
    agreement = Agreement.objects.create(
        number=next_number(type_, (valid_from or today).year),
        type=type_, institution=institution, agency=designation.agency, template_version=TEMPLATE_VERSION,
        valid_from=valid_from, valid_to=valid_to, signed_on=signed_on, leader_name=leader_name.strip(),
        managers=[m.strip() for m in (managers or []) if m.strip()],
        **_parties(institution, designation.agency),
    )
    AgreementEvent.objects.create(
        agreement=agreement, action=AgreementAction.CREATE, to_status=agreement.status, on=today, actor=actor,
        reason="起草协议",
    )
    return agreement


def draft_from(predecessor: Agreement, *, actor, years: int = 3) -> Agreement:
    start = (predecessor.valid_to + timedelta(days=1)) if predecessor.valid_to else timezone.localdate()
    successor = agreement_create_draft(
        institution=predecessor.institution, type_=predecessor.type, actor=actor,
        valid_from=start, valid_to=add_years(start, years) - timedelta(days=1),
        leader_name=predecessor.leader_name, managers=predecessor.managers,
    )
    successor.predecessor = predecessor
    successor.save(update_fields=["predecessor"])
    return successor


def agreements_from_designations() -> int:
    """Each designation in the registry is an agreement of its type (issue 3 §1).

    The official tables give no term: the agreement is recorded as in force, with its term
    marked 期限待定 for staff to complete. Designations that already have an agreement are
    left alone, so running this after every import changes nothing the second time.
    """
    created = 0
    have = set(Agreement.objects.values_list("institution_id", "type"))
    today = timezone.localdate()
    for d in Designation.objects.filter(status="active").select_related("institution", "agency").order_by("pk"):
        if (d.institution_id, d.type) in have:
            continue
        agreement = Agreement.objects.create(
            number=next_number(d.type, today.year), type=d.type, institution=d.institution, agency=d.agency,
            status=AgreementStatus.ACTIVE, from_registry=True, **_parties(d.institution, d.agency),
        )
        AgreementEvent.objects.create(
            agreement=agreement, action=AgreementAction.CREATE, to_status=agreement.status, on=today,
            reason=f"由{d.get_type_display()}名单（序号 {d.seq_no}）登记：名单未载明协议期限，待补全",
        )
        have.add((d.institution_id, d.type))
        created += 1
    return created
