"""Year-end pages (SPEC §5, W§28): the institution's January application with its two documents,
assessment scores with their components (entered or imported), the year-end run with progress,
approval (which freezes the year), annual statements and the agency's summary."""

from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.selectors import ACTION_LABELS, describe_changes, history_for
from core.errors import ApplicationError
from core.forms import form_errors_message
from institutions.selectors import agencies_for

from .. import selectors
from ..forms import AnnualApplicationForm, AnnualDecisionForm, ApproveAnnualForm, RunForm, ScoreForm, ScoreImportForm
from ..models import (
    AnnualApplication,
    AnnualMaterial,
    AnnualSettlement,
    AssessmentScore,
    ComponentKind,
    MonthlySettlement,
    RunKind,
)
from ..services.annual_applications import annual_application_decide, annual_application_submit, application_window
from ..services.declaration_files import open_rows
from ..services.runs import run_progress, run_request
from ..services.scores import SCORE_COLUMNS, SCORE_OPTIONAL, score_set, scores_import
from ..services.year_end import require_year_over, settlement_annual_approve
from .declarations import CONTENT_TYPES
from .settlements import PDF, _can_act, _file


def last_year() -> int:
    return timezone.localdate().year - 1


def annual_list(request):
    batches = (
        selectors.annual_batches_for(request.user).annotate(n=Count("rows"), deposit=Sum("rows__deposit_total"), released=Sum("rows__released"))
        .order_by("-year", "agency__pk")
    )
    return render(request, "settlement/annual_list.html", {
        "batches": batches, "last_year": last_year(), "can_act": _can_act(request.user),
    })


def annual_year(request, year):
    user = request.user
    batches = list(
        selectors.annual_batches_for(user).filter(year=year)
        .annotate(n=Count("rows"), deposit=Sum("rows__deposit_total"), released=Sum("rows__released"), forfeited=Sum("rows__forfeited"))
        .order_by("agency__pk")
    )
    institutions = selectors.institutions_for(user)
    rows = AnnualSettlement.objects.filter(institution__in=institutions, year=year).select_related("institution").order_by("institution__code")
    with_deposits = institutions.filter(monthly_settlements__period__year=year).distinct()
    missing = with_deposits.exclude(assessment_scores__year=year, assessment_scores__total__isnull=False).order_by("code")
    run = None
    if (run_id := request.GET.get("run", "")).isdigit():
        run = selectors.runs_for(user).filter(pk=int(run_id)).first()
    applications = AnnualApplication.objects.filter(institution__in=institutions, year=year)
    return render(request, "settlement/annual_year.html", {
        "year": year, "batches": batches, "rows": rows, "missing": missing, "can_act": _can_act(user),
        "run": run, "run_progress": run_progress(run) if run else None, "over": year < timezone.localdate().year,
        "agencies": agencies_for(user) if _can_act(user) else [],
        "applications": {a.institution_id: a for a in applications},
    })


@require_POST
def annual_run_start(request, year):
    form = RunForm(request.POST)
    form.is_valid()
    agency = None
    if agency_id := form.cleaned_data.get("agency"):
        agency = get_object_or_404(agencies_for(request.user), pk=agency_id)
    elif not request.user.sees_all_institutions:
        agency = request.user.agency
    try:
        require_year_over(year)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("settlement:annual_year", year=year)
    run = run_request(kind=RunKind.ANNUAL, period=date(year, 1, 1), actor=request.user, agency=agency, trigger="page")
    return redirect(reverse("settlement:annual_year", args=[year]) + f"?run={run.pk}")


@require_POST
def annual_approve(request, year):
    form = ApproveAnnualForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_message(form))
        return redirect("settlement:annual_year", year=year)
    agency = get_object_or_404(agencies_for(request.user), pk=form.cleaned_data["agency"])
    try:
        result = settlement_annual_approve(
            year=year, agency=agency, actor=request.user, expected_released=form.cleaned_data.get("expected_released")
        )
        messages.success(request, f"{agency.name}{year}年度的质量保证金结算已审批并冻结：{result.rows} 家机构。")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("settlement:annual_year", year=year)


def annual_export(request, year):
    from ..services.annual_documents import annual_export as export

    fmt = request.GET.get("format", "csv") if request.GET.get("format") in ("csv", "xlsx") else "csv"
    try:
        data = export(year=year, fmt=fmt, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("settlement:annual_year", year=year)
    return _file(data, CONTENT_TYPES[fmt], f"annual_settlements_{year}.{fmt}")


def annual_summary(request, year):
    from ..services.annual_documents import annual_summary_xlsx

    try:
        data = annual_summary_xlsx(year=year, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("settlement:annual_year", year=year)
    return _file(data, CONTENT_TYPES["xlsx"], f"annual_summary_{year}.xlsx")


def annual_statement_list(request):
    page = Paginator(selectors.annual_settlements_for(request.user).order_by("-year", "institution__code"), 30).get_page(request.GET.get("page"))
    return render(request, "settlement/annual_statement_list.html", {"page": page, "is_institution": request.user.is_institution_admin})


def annual_statement(request, pk):
    row = get_object_or_404(selectors.annual_settlements_for(request.user), pk=pk)
    months = [(f"{row.year}-{m:02d}", row.monthly_deposits.get(f"{row.year}-{m:02d}")) for m in range(1, 13)]
    # The components are stored as used (JSON); their kind is shown by its label.
    components = [{**c, "kind_label": ComponentKind(c["kind"]).label} for c in row.score_components]
    return render(request, "settlement/annual_statement.html", {"row": row, "months": months, "components": components})


def annual_statement_pdf(request, pk):
    from ..services.annual_documents import annual_statement_pdf as render_pdf

    row = get_object_or_404(selectors.annual_settlements_for(request.user), pk=pk)
    return _file(render_pdf(row), PDF, f"annual_statement_{row.institution.code}_{row.year}.pdf")


# ---- scores ---------------------------------------------------------------------------------------


def score_list(request, year):
    institutions = selectors.institutions_for(request.user)
    deposits = dict(
        MonthlySettlement.objects.filter(institution__in=institutions, period__year=year)
        .values("institution").annotate(total=Sum("deposit")).values_list("institution", "total")
    )
    scores = {
        s.institution_id: s
        for s in AssessmentScore.objects.filter(institution__in=institutions, year=year).prefetch_related("components")
    }
    listed = institutions.filter(Q(pk__in=deposits) | Q(pk__in=scores)).order_by("code")
    return render(request, "settlement/score_list.html", {
        "year": year, "rows": [(i, deposits.get(i.pk), scores.get(i.pk)) for i in listed],
        "can_act": _can_act(request.user), "import_form": ScoreImportForm(), "report": None,
    })


@require_POST
def score_import(request, year):
    form = ScoreImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, form_errors_message(form))
        return redirect("settlement:score_list", year=year)
    upload = form.cleaned_data["file"]
    try:
        stream = open_rows(upload, upload.name, columns=SCORE_COLUMNS, optional=SCORE_OPTIONAL)
        report = scores_import(rows=stream.rows, year=year, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, f"文件未导入：{exc.message}")
        return redirect("settlement:score_list", year=year)
    text = f"考核得分导入：共 {report.rows} 行，新增 {report.created}，更新 {report.updated}，未变 {report.unchanged}。"
    messages.success(request, text)
    for row_no, reason in report.rejections[:20]:
        messages.error(request, f"第{row_no}行未导入：{reason}")
    return redirect("settlement:score_list", year=year)


def score_detail(request, year, institution):
    inst = get_object_or_404(selectors.institutions_for(request.user), pk=institution)
    score = AssessmentScore.objects.filter(institution=inst, year=year).prefetch_related("components").first()
    form = None
    if _can_act(request.user):
        base = {c.kind: c.points for c in score.components.all()} if score else {}
        form = ScoreForm(initial={
            "assessment": base.get(ComponentKind.ASSESSMENT), "supervision": base.get(ComponentKind.SUPERVISION),
            "other": base.get(ComponentKind.OTHER),
        })
    objects = [score, *score.components.all()] if score else []
    history = [(e, ACTION_LABELS.get(e.action, e.action), describe_changes(e)) for e in history_for(*objects)[:50]] if objects else []
    return render(request, "settlement/score_detail.html", {
        "year": year, "institution": inst, "score": score, "form": form, "history": history,
        "components": score.components.all() if score else [],
    })


@require_POST
def score_edit(request, year, institution):
    inst = get_object_or_404(selectors.institutions_for(request.user), pk=institution)
    form = ScoreForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_message(form))
        return redirect("settlement:score_detail", year=year, institution=inst.pk)
    try:
        score = score_set(institution=inst, year=year, components=form.components(), actor=request.user)
        messages.success(request, f"已保存{inst.name}{year}年度考核得分：{score.total}。")
    except ApplicationError as exc:
        messages.error(request, f"未保存：{exc.message}")
    return redirect("settlement:score_detail", year=year, institution=inst.pk)


# ---- annual applications --------------------------------------------------------------------------


def _applications(user):
    return AnnualApplication.objects.filter(institution__in=selectors.institutions_for(user)).select_related(
        "institution", "submitted_by", "reviewed_by"
    )


def application_list(request):
    user = request.user
    year = last_year()
    opens, closes = application_window(year)
    ctx = {
        "page": Paginator(_applications(user).order_by("-year", "institution__code"), 30).get_page(request.GET.get("page")),
        "year": year, "opens": opens, "closes": closes, "today": timezone.localdate(),
        "is_institution": user.is_institution_admin, "can_submit": user.is_institution_admin or _can_act(user),
    }
    if user.is_institution_admin:
        ctx["scores"] = AssessmentScore.objects.filter(institution_id=user.institution_id).order_by("-year")
        ctx["statements"] = selectors.annual_settlements_for(user).order_by("-year")
    return render(request, "settlement/application_list.html", ctx)


def application_new(request):
    user = request.user
    institutions = None if user.is_institution_admin else selectors.institutions_for(user)
    form = AnnualApplicationForm(request.POST or None, request.FILES or None, institutions=institutions,
                                 initial={"year": last_year()})
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            institution = user.institution if user.is_institution_admin else d["institution"]
            materials = {k: d[k] for k in ("declaration_form", "cost_report", "other") if d.get(k)}
            try:
                application = annual_application_submit(
                    institution=institution, year=d["year"], materials=materials, actor=user, note=d.get("note") or ""
                )
                messages.success(request, f"已提交{application.year}年度结算申请，等待经办机构受理。")
                return redirect("settlement:application_detail", pk=application.pk)
            except ApplicationError as exc:
                messages.error(request, exc.message)
        else:
            messages.error(request, form_errors_message(form))
    return render(request, "settlement/application_form.html", {"form": form})


def application_detail(request, pk):
    application = get_object_or_404(_applications(request.user), pk=pk)
    return render(request, "settlement/application_detail.html", {
        "application": application, "materials": application.materials.select_related("uploaded_by"),
        "can_decide": _can_act(request.user), "decision_form": AnnualDecisionForm(),
        "window": application_window(application.year),
    })


@require_POST
def application_decide(request, pk):
    application = get_object_or_404(_applications(request.user), pk=pk)
    form = AnnualDecisionForm(request.POST)
    if form.is_valid():
        try:
            annual_application_decide(application=application, accept=form.cleaned_data["decision"] == "accept",
                                      note=form.cleaned_data.get("note") or "", actor=request.user)
            messages.success(request, "已办理。")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, form_errors_message(form))
    return redirect("settlement:application_detail", pk=application.pk)


def material_download(request, pk):
    material = get_object_or_404(AnnualMaterial.objects.filter(application__in=_applications(request.user)), pk=pk)
    return FileResponse(material.file.open("rb"), as_attachment=True, filename=material.original_name)
