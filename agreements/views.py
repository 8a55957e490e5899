"""Agreement pages (issue 3 §5). Every lookup goes through agreements_for(user): a foreign id is a
404. The pages only parse input and call the lifecycle services, which check every rule; a refusal
comes back as an ApplicationError whose message is shown and nothing changes."""

from datetime import date, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.forms import form_errors_message
from institutions.models import DesignationType
from institutions.selectors import institutions_for, region_choices

from . import selectors
from .forms import ActionForm, AgreementCreateForm, AgreementFilterForm, CompleteTermForm, ScanUploadForm
from .models import Agreement, AgreementAction, AgreementStatus, Party, SignedScan, TerminationKind
from .services import lifecycle
from .services.documents import agreement_pdf
from .services.drafting import agreement_create_draft
from .services.scans import agreement_upload_scan

FILTER_KEYS = ("q", "type", "status", "region", "expires_within", "term_pending")


# ---- one dispatcher for the page and the API -------------------------------------------------


def perform_action(*, agreement: Agreement, actor, action: str, data: dict) -> lifecycle.Outcome:
    """Run one lifecycle action with the fields it needs; the service checks every rule.

    `data` may hold reason, kind, by, on, effective_on, valid_from, valid_to, signed_on and
    expected_revision (the revision the caller's page showed; a different one is a 409 "stale").
    """
    revision = data.get("expected_revision")
    on: date | None = data.get("on")
    if on and on > timezone.localdate():
        raise ApplicationError("办理日期不能晚于今天。", code="future_date")
    reason = data.get("reason") or ""
    common = {"agreement": agreement, "actor": actor, "expected_revision": revision}
    if action == AgreementAction.SIGN:
        return lifecycle.agreement_sign(on=on, **common)
    if action == AgreementAction.SUSPEND:
        return lifecycle.agreement_suspend(reason=reason, on=on, **common)
    if action == AgreementAction.RESUME:
        return lifecycle.agreement_resume(reason=reason, on=on, **common)
    if action == AgreementAction.NOTICE:
        return lifecycle.agreement_give_notice(
            by=data.get("by") or "", reason=reason, on=on, effective_on=data.get("effective_on"), **common
        )
    if action == AgreementAction.TERMINATE:
        return lifecycle.agreement_terminate(kind=data.get("kind") or "", reason=reason, on=on, **common)
    if action == AgreementAction.RENEW:
        return lifecycle.agreement_renew(**common)
    if action == AgreementAction.COMPLETE_TERM:
        if not (data.get("valid_from") and data.get("valid_to")):
            raise ApplicationError("请填写有效期起止日期。", code="term_required")
        return lifecycle.agreement_complete_term(
            valid_from=data["valid_from"], valid_to=data["valid_to"], signed_on=data.get("signed_on"), **common
        )
    raise ApplicationError(f"未知的操作“{action}”。", code="unknown_action")


def _can_act(user) -> bool:
    return user.is_agency_staff or user.is_portal_admin


# ---- pages ---------------------------------------------------------------------------------------


def agreement_list(request):
    filters = AgreementFilterForm(request.GET).filters()
    qs = selectors.agreement_list(user=request.user, filters=filters)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for a in page:
        live = a.status in (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED)
        a.days_left = (a.valid_to - today).days if live and a.valid_to and a.valid_to >= today else None
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "agreements/list.html", {
        "page": page,
        "filters": {k: request.GET.get(k, "") for k in FILTER_KEYS},
        "querystring": query.urlencode(),
        "types": DesignationType.choices,
        "statuses": AgreementStatus.choices,
        "regions": region_choices(request.user),
        "can_act": _can_act(request.user),
    })


def agreement_detail(request, pk):
    agreement = get_object_or_404(selectors.agreements_for(request.user).select_related("predecessor"), pk=pk)
    can_act = _can_act(request.user)
    ctx = {
        "agreement": agreement,
        "parties": [(Party(side).label, agreement.party(side)) for side in Party.values],
        "events": agreement.events.select_related("actor"),
        "scans": agreement.scans.select_related("uploaded_by"),
        "successor": Agreement.objects.filter(predecessor=agreement).first(),
        "bar": getattr(agreement, "bar", None) if agreement.status == AgreementStatus.TERMINATED else None,
        "can_act": can_act,
    }
    if can_act:
        ctx["actions"] = lifecycle.available_actions(agreement)
        ctx["termination_kinds"] = TerminationKind.choices
        ctx["suspensions"] = lifecycle.suspensions_in_term(agreement)
        ctx["second_suspension_article"] = lifecycle.SECOND_SUSPENSION_ARTICLE[agreement.type]
        # Kinds the terminate button would refuse today (e.g. unilateral without 30 days' notice).
        ctx["kind_refusals"] = [
            (label, reason) for value, label in TerminationKind.choices
            if (reason := lifecycle.check(agreement, AgreementAction.TERMINATE, kind=value))
        ] if not lifecycle.check(agreement, AgreementAction.TERMINATE) else []
        ctx["earliest_notice_effective"] = timezone.localdate() + timedelta(days=lifecycle.NOTICE_DAYS)
        ctx["term_refusal"] = lifecycle.check(agreement, AgreementAction.COMPLETE_TERM)
        ctx["term_form"] = CompleteTermForm(initial={
            "expected_revision": agreement.revision, "valid_from": agreement.valid_from,
            "valid_to": agreement.valid_to, "signed_on": agreement.signed_on,
        })
        ctx["scan_form"] = ScanUploadForm()
    return render(request, "agreements/detail.html", ctx)


def agreement_create(request):
    institutions = institutions_for(request.user)
    initial = {k: request.GET.get(k) for k in ("institution", "type") if request.GET.get(k)}
    form = AgreementCreateForm(request.POST or None, institutions=institutions, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agreement = agreement_create_draft(
                institution=data["institution"], type_=data["type"], actor=request.user,
                valid_from=data.get("valid_from"), valid_to=data.get("valid_to"), signed_on=data.get("signed_on"),
                leader_name=data.get("leader_name") or "", managers=data.get("managers") or [],
            )
            messages.success(request, f"已起草协议 {agreement.number}，请核对后办理签订。")
            return redirect("agreements:detail", pk=agreement.pk)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return render(request, "agreements/create.html", {"form": form})


@require_POST
def agreement_act(request, pk):
    agreement = get_object_or_404(selectors.agreements_for(request.user), pk=pk)
    form = ActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_message(form))
        return redirect("agreements:detail", pk=agreement.pk)
    try:
        outcome = perform_action(
            agreement=agreement, actor=request.user, action=form.cleaned_data["action"], data=form.cleaned_data
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("agreements:detail", pk=agreement.pk)
    messages.success(request, outcome.message)
    # A renewal opens its successor draft; every other action stays on this agreement.
    return redirect("agreements:detail", pk=outcome.agreement.pk)


@require_POST
def agreement_complete_term(request, pk):
    agreement = get_object_or_404(selectors.agreements_for(request.user), pk=pk)
    form = CompleteTermForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_message(form))
        return redirect("agreements:detail", pk=agreement.pk)
    try:
        outcome = perform_action(
            agreement=agreement, actor=request.user, action=AgreementAction.COMPLETE_TERM, data=form.cleaned_data
        )
        messages.success(request, outcome.message)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("agreements:detail", pk=agreement.pk)


def agreement_pdf_download(request, pk):
    agreement = get_object_or_404(selectors.agreements_for(request.user), pk=pk)
    response = HttpResponse(agreement_pdf(agreement), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{agreement.number}.pdf"'
    return response


@require_POST
def scan_upload(request, pk):
    agreement = get_object_or_404(selectors.agreements_for(request.user), pk=pk)
    form = ScanUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "请选择要上传的签章扫描件（PDF、PNG 或 JPG）。")
        return redirect("agreements:detail", pk=agreement.pk)
    try:
        scan = agreement_upload_scan(agreement=agreement, upload=form.cleaned_data["file"], actor=request.user)
        messages.success(request, f"签章扫描件“{scan.original_name}”已上传。")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("agreements:detail", pk=agreement.pk)


def scan_download(request, pk):
    scan = get_object_or_404(SignedScan.objects.filter(agreement__in=selectors.agreements_for(request.user)), pk=pk)
    return FileResponse(scan.file.open("rb"), as_attachment=True, filename=scan.original_name)


def public_terminations(request):
    """M§43: the public list of terminated agreements (no login)."""
    qs = selectors.public_terminations().select_related("agency", "bar")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "agreements/public_terminations.html", {"page": page})
