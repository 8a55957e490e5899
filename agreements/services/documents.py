"""The agreement as a document: the PDF of its template version, with its parties and term."""

from ..documents import load_template, render_agreement_pdf
from ..models import Agreement, AgreementStatus


def agreement_pdf(agreement: Agreement) -> bytes:
    template = load_template(agreement.type, agreement.template_version)
    return render_agreement_pdf(
        template=template,
        context={
            "number": agreement.number,
            "party_a": agreement.party("A"),
            "party_b": agreement.party("B"),
            "valid_from": agreement.valid_from,
            "valid_to": agreement.valid_to,
            "signed_on": agreement.signed_on,
            "leader": agreement.leader_name,
            "managers": agreement.managers,
            "status_label": agreement.get_status_display(),
            "watermark": "草拟" if agreement.status == AgreementStatus.DRAFT else "",
        },
    )


def current_agreement(institution, type_: str) -> Agreement | None:
    """The one a signing clerk would print: the live one, else the newest draft, else the newest."""
    qs = Agreement.objects.filter(institution=institution, type=type_)
    return (
        qs.filter(status__in=[AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED]).first()
        or qs.filter(status=AgreementStatus.DRAFT).order_by("-pk").first()
        or qs.order_by("-pk").first()
    )
