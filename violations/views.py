"""Violation case pages (issue 6 §5): the auditors' work queue, the case page with its timeline and
actions, the institution's view of its own cases, statistics and the public list.

Every lookup goes through selectors.cases_for(user), so a case of another agency or institution is
a 404. The pages only parse input; the services check every rule (four eyes, deadlines, the fine's
bounds…) and a refusal comes back as an ApplicationError whose message is shown, nothing changed.
What an institution may read of its case (never the investigation notes, the agency's evidence or
the internal steps) is decided by the selectors too.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from agreements.selectors import agreements_for
from core.errors import ApplicationError
from core.forms import form_errors_message
from institutions.selectors import institutions_for
from settlement.selectors import lines_for

from . import selectors
from .forms import (
    ACTION_FORMS,
    AppealForm,
    AppealOutcomeForm,
    CaseFilterForm,
    CaseOpenForm,
    CloseForm,
    DecideForm,
    EvidenceForm,
    ExplainForm,
    InvestigateForm,
    LiftDeferralForm,
    NoteForm,
    NotifyForm,
    RectificationReportForm,
    VerifyForm,
)
from .models import (
    AppealOutcome,
    CaseSource,
    CaseStatus,
    Evidence,
    Rectification,
    RectificationStatus,
)
from .services import cases as case_services
from .services.actions import perform_case_action
from .services.cases import MIN_EXPLANATION_DAYS
from .services.deadlines import is_overdue

QUEUE_TABS = [
    ("open", _("全部未结案")),
    ("decide", _("待我决定")),
    ("mine", _("我立案的")),
    ("overdue", _("已逾期")),
    ("all", _("全部案件")),
]


def _handles(user) -> bool:
    """Staff and auditors handle cases; an institution administrator reads, explains and reports."""
    return user.is_agency_staff or user.is_auditor or user.is_portal_admin


# A refused form's typed values survive the redirect back to the case page (one per case, read once).
def _draft_key(pk) -> str:
    return f"violations:draft:{pk}"


def _keep_draft(request, case, name: str) -> None:
    data = {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "expected_revision")}
    request.session[_draft_key(case.pk)] = {"name": name, "data": data}


def _take_draft(request, case) -> tuple[str, dict]:
    draft = request.session.pop(_draft_key(case.pk), None) or {}
    return draft.get("name", ""), draft.get("data", {})


# ---- the work queue ------------------------------------------------------------------------------


def case_list(request):
    user = request.user
    handles = _handles(user)
    filter_form = CaseFilterForm(request.GET)
    filters = filter_form.filters()
    if not handles:
        filters.pop("queue", None)  # an institution has no tabs: its own cases, all of them
    elif "queue" not in filters and not any(filters.get(k) for k in ("q", "status", "source", "institution")):
        filters["queue"] = "open"  # the auditor's day starts with what is still open (page 2 too)
    qs = selectors.case_queue(user=user, filters=filters)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for case in page:
        case.overdue = is_overdue(case, today)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "violations/list.html", {
        "page": page,
        "filters": {k: str(filters.get(k, "")) for k in ("q", "status", "source", "institution", "queue")},
        "querystring": query.urlencode(),
        "tabs": QUEUE_TABS if handles else [],
        "statuses": CaseStatus.choices,
        "sources": CaseSource.choices,
        "institutions": institutions_for(user).filter(violation_cases__isnull=False).distinct().order_by("code") if handles else [],
        "handles": handles,
    })


def case_new(request):
    user = request.user
    institutions = institutions_for(user)
    agreements = agreements_for(user)
    initial = {"institution": request.GET.get("institution")} if request.GET.get("institution", "").isdigit() else {}
    form = CaseOpenForm(request.POST or None, institutions=institutions, agreements=agreements, lines=lines_for(user),
                        initial=initial)
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                case = case_services.case_open(
                    institution=d["institution"], agreement=d.get("agreement"), source=d["source"], title=d["title"],
                    description=d["description"], lines=d.get("line_ids") or [], actor=user,
                )
                messages.success(request, f"已立案：{case.number}。下一步请通知协议机构在期限内作出说明。")
                return redirect("violations:detail", pk=case.pk)
            except ApplicationError as exc:
                messages.error(request, exc.message)
        else:
            messages.error(request, form_errors_message(form))
    return render(request, "violations/new.html", {"form": form})


# ---- the case page -------------------------------------------------------------------------------


def case_detail(request, pk):
    user = request.user
    case = get_object_or_404(selectors.cases_for(user), pk=pk)
    handles = _handles(user)
    is_institution = user.is_institution_admin and user.institution_id == case.institution_id
    today = timezone.localdate()
    draft_name, draft = _take_draft(request, case)

    def initial(name: str, **values) -> dict:
        return {**(draft if draft_name == name else {}), **values, "expected_revision": case.revision}

    measures = list(case.measures.select_related("measure", "deduction", "hold"))
    rectifications = list(case.rectifications.select_related("verified_by"))
    appeals = list(case.appeals.select_related("recorded_by"))
    ctx = {
        "case": case,
        "handles": handles,
        "is_institution": is_institution,
        "overdue": is_overdue(case, today),
        "lines": case.lines.select_related("declaration").order_by("declaration__period", "pk"),
        "measures": measures,
        "rectifications": rectifications,
        "appeals": appeals,
        "evidence": selectors.evidence_for(user, case),
        "events": selectors.events_for(user, case),
        "dishonest": getattr(case, "dishonest_listing", None) if measures else None,
        "explained_late": bool(case.explained_at and case.explanation_due
                               and timezone.localtime(case.explained_at).date() > case.explanation_due),
    }
    if handles:
        status = case.status
        past_due = status == CaseStatus.NOTIFIED and case.explanation_due is not None and today > case.explanation_due
        may_decide = status == CaseStatus.INVESTIGATING or past_due
        closable = status == CaseStatus.DECIDED or (
            status == CaseStatus.RECTIFYING
            and not any(r.status in (RectificationStatus.PENDING, RectificationStatus.REPORTED) for r in rectifications)
        )
        ctx.update({
            "notes": case.notes.select_related("author"),
            "notify_form": NotifyForm(action="notify", initial=initial(
                "notify", explanation_due=today + timedelta(days=max(MIN_EXPLANATION_DAYS, 7))
            )) if status == CaseStatus.OPENED else None,
            "earliest_due": today + timedelta(days=MIN_EXPLANATION_DAYS),
            "investigate_form": InvestigateForm(action="investigate", initial=initial("investigate")) if past_due else None,
            "note_form": NoteForm(action="note", initial=initial("note")) if status != CaseStatus.CLOSED else None,
            "may_decide": may_decide,
            "four_eyes": may_decide and case.opened_by_id == user.pk,
            "decide_form": DecideForm(initial=initial("decide")) if may_decide and case.opened_by_id != user.pk else None,
            "lift_form": LiftDeferralForm(action="lift_deferral", initial=initial("lift_deferral"))
            if any(dm.hold_id and dm.hold.lifted_on is None for dm in measures) else None,
            "close_form": CloseForm(action="close", initial=initial("close")) if closable else None,
            "appeal_form": AppealForm(action="appeal", initial=initial("appeal"))
            if status in (CaseStatus.DECIDED, CaseStatus.RECTIFYING, CaseStatus.CLOSED) else None,
            "evidence_form": EvidenceForm() if status != CaseStatus.CLOSED else None,
        })
        if ctx["notify_form"] is not None:
            due = ctx["notify_form"].fields["explanation_due"].widget
            due.attrs.update({"min": ctx["earliest_due"].isoformat(), "required": True})
        for r in rectifications:
            # Verify what was reported, or record a failure once the deadline has passed unreported.
            if r.status == RectificationStatus.REPORTED or (r.status == RectificationStatus.PENDING and r.deadline < today):
                r.verify_form = VerifyForm(action="verify_rectification", initial=initial(f"verify:{r.pk}", rectification=r.pk))
        for a in appeals:
            if a.outcome == AppealOutcome.PENDING:
                a.outcome_form = AppealOutcomeForm(action="appeal_outcome", initial=initial(f"appeal_outcome:{a.pk}", appeal=a.pk))
    if is_institution:
        if case.status == CaseStatus.NOTIFIED:
            ctx["explain_form"] = ExplainForm(initial=initial("explain"))
        for r in rectifications:
            if r.status in (RectificationStatus.PENDING, RectificationStatus.FAILED):
                r.report_form = RectificationReportForm(initial=initial(f"report:{r.pk}"))
    return render(request, "violations/detail.html", ctx)


def _draft_name(action: str, post) -> str:
    if action == "verify_rectification":
        return f"verify:{post.get('rectification', '')}"
    if action == "appeal_outcome":
        return f"appeal_outcome:{post.get('appeal', '')}"
    return action


@require_POST
def case_act(request, pk):
    """Every staff/auditor action of the case page, through the one dispatcher."""
    case = get_object_or_404(selectors.cases_for(request.user), pk=pk)
    action = request.POST.get("action", "")
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        messages.error(request, f"未知的操作“{action}”，未作任何更改。")
        return redirect("violations:detail", pk=case.pk)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_message(form))
        _keep_draft(request, case, _draft_name(action, request.POST))
        return redirect("violations:detail", pk=case.pk)
    try:
        message = perform_case_action(case=case, actor=request.user, action=action, data=form.data_for_service())
    except ApplicationError as exc:
        messages.error(request, exc.message)
        _keep_draft(request, case, _draft_name(action, request.POST))
        return redirect("violations:detail", pk=case.pk)
    messages.success(request, message)
    return redirect("violations:detail", pk=case.pk)


@require_POST
def evidence_upload(request, pk):
    case = get_object_or_404(selectors.cases_for(request.user), pk=pk)
    form = EvidenceForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, form_errors_message(form))
        return redirect("violations:detail", pk=case.pk)
    try:
        evidence = case_services.case_add_evidence(
            case=case, upload=form.cleaned_data["file"], note=form.cleaned_data["note"], actor=request.user
        )
        messages.success(request, f"证据材料“{evidence.original_name}”已上传（协议机构不可见）。")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("violations:detail", pk=case.pk)


@require_POST
def explain(request, pk):
    case = get_object_or_404(selectors.cases_for(request.user), pk=pk)
    form = ExplainForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, form_errors_message(form))
        _keep_draft(request, case, "explain")
        return redirect("violations:detail", pk=case.pk)
    d = form.cleaned_data
    try:
        case_services.case_explain(case=case, explanation=d["explanation"], attachments=d["attachments"],
                                   actor=request.user, expected_revision=d.get("expected_revision"))
        messages.success(request, "说明已提交，经办机构将据此调查处理。")
    except ApplicationError as exc:
        messages.error(request, exc.message)
        _keep_draft(request, case, "explain")
    return redirect("violations:detail", pk=case.pk)


@require_POST
def rectification_report(request, pk):
    rectification = get_object_or_404(
        Rectification.objects.filter(case__in=selectors.cases_for(request.user)).select_related("case"), pk=pk
    )
    case = rectification.case
    form = RectificationReportForm(request.POST)
    form.is_valid()  # one optional text field: the service says when it is missing
    try:
        case_services.rectification_report(rectification=rectification, report=form.cleaned_data.get("report", ""),
                                           actor=request.user)
        messages.success(request, "整改情况已报告，等待经办机构验收。")
    except ApplicationError as exc:
        messages.error(request, exc.message)
        _keep_draft(request, case, f"report:{rectification.pk}")
    return redirect("violations:detail", pk=case.pk)


def evidence_download(request, pk):
    """Scoped twice: the case through cases_for, and an internal item is a 404 for an institution."""
    qs = Evidence.objects.filter(case__in=selectors.cases_for(request.user))
    if not selectors.sees_internals(request.user):
        qs = qs.filter(internal=False)
    evidence = get_object_or_404(qs, pk=pk)
    return FileResponse(evidence.file.open("rb"), as_attachment=True, filename=evidence.original_name)


# ---- statistics and the public list ---------------------------------------------------------------


def statistics(request):
    today = timezone.localdate()
    raw = request.GET.get("year", "")
    year = None if raw == "all" else (int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else today.year)
    stats = selectors.statistics(user=request.user, year=year)
    totals = {
        "cases": stats["total"],
        "open": sum(r["open"] for r in stats["by_institution"]),
        "decided": sum(r["decided"] for r in stats["by_institution"]),
        "measures": sum(r["n"] for r in stats["by_measure"]),
        "amount": sum((r["amount"] for r in stats["by_measure"] if r["amount"] is not None), 0),
        "points": sum((r["points"] for r in stats["by_month"] if r["points"] is not None), 0),
    }
    sources = dict(CaseSource.choices)
    for r in stats["by_source"]:
        r["label"] = sources.get(r["source"], r["source"])
    return render(request, "violations/statistics.html", {
        "stats": stats, "totals": totals, "year": year, "year_value": "all" if year is None else str(year),
        "years": list(range(today.year, today.year - 6, -1)),
    })


def public_list(request):
    """R§28, D§30, M§43: terminations and seriously dishonest entities, published without login."""
    listings = selectors.public_listings()
    page = Paginator(listings["terminations"], 50).get_page(request.GET.get("page"))
    return render(request, "violations/public.html", {"page": page, "dishonest": listings["dishonest"]})
