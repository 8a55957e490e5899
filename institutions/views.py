"""Registry pages. Every lookup goes through a scoped selector: a foreign id is a 404."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.selectors import ACTION_LABELS, describe_changes, history_for
from core.errors import ApplicationError

from . import selectors
from .forms import (
    AdvanceForm,
    ApplicationForm,
    ChangeFilingForm,
    DecisionForm,
    MaterialForm,
    RegistryImportForm,
    VerifyForm,
)
from .models import ApplicationMaterial, DesignationType, FilingStatus, Ownership
from .services import applications as application_services
from .services import filings as filing_services
from .services.registry_export import FORMATS, registry_export
from .services.registry_import import registry_import
from .services.verification import institution_mark_verified

FILTER_KEYS = ("q", "region", "type", "grade", "ownership", "agency", "needs_verification")


def institution_list(request):
    filters = {k: request.GET.get(k, "") for k in FILTER_KEYS}
    qs = selectors.institution_list(user=request.user, filters=filters)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "institutions/list.html", {
        "page": page,
        "filters": filters,
        "querystring": query.urlencode(),
        "types": DesignationType.choices,
        "grades": selectors.grade_choices(request.user),
        "regions": selectors.region_choices(request.user),
        "ownerships": Ownership.choices,
        "agencies": selectors.agencies_for(request.user),
        "formats": FORMATS,
    })


def institution_mine(request):
    inst = selectors.institutions_for(request.user).first()
    if inst is None:
        raise Http404
    return redirect("institutions:detail", pk=inst.pk)


def _history_rows(*objects):
    return [(e, ACTION_LABELS.get(e.action, e.action), describe_changes(e)) for e in history_for(*objects)[:100]]


def institution_detail(request, pk):
    inst = get_object_or_404(selectors.institutions_for(request.user), pk=pk)
    designations = list(inst.designations.select_related("agency"))
    filings = list(inst.filings.select_related("submitted_by", "decided_by"))
    return render(request, "institutions/detail.html", {
        "inst": inst,
        "designations": designations,
        "filings": filings,
        "applications": selectors.applications_for(request.user).filter(institution=inst),
        "history": _history_rows(inst, inst.legal_entity, *designations, *filings),
        "verify_form": VerifyForm(),
        "original": [(DesignationType(t).label if t in DesignationType.values else t, cells)
                     for t, cells in inst.original.items()],
    })


@require_POST
def institution_verify(request, pk):
    inst = get_object_or_404(selectors.institutions_for(request.user), pk=pk)
    form = VerifyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请填写核实说明。")
    else:
        try:
            institution_mark_verified(institution=inst, note=form.cleaned_data["note"], actor=request.user)
            messages.success(request, "已标记为核实。")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("institutions:detail", pk=inst.pk)


def registry_import_view(request):
    form = RegistryImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        as_of = form.cleaned_data.get("as_of")
        try:
            from core.cli import parse_month

            report = registry_import(
                fh=upload.open("rb"), type_=form.cleaned_data["type"], name=upload.name,
                as_of=parse_month(as_of) if as_of else None, actor=request.user,
            )
            messages.success(request, "导入完成，结果见下方报告。")
        except ApplicationError as exc:
            messages.error(request, f"文件“{upload.name}”未导入：{exc.message}")
    return render(request, "institutions/import.html", {"form": form, "report": report})


def registry_export_view(request):
    type_ = request.GET.get("type", "")
    fmt = request.GET.get("format", "")
    if type_ not in DesignationType.values or fmt not in FORMATS:
        messages.error(request, "请选择名单类型和导出格式（CSV、XLSX 或 PDF）。")
        return redirect("institutions:list")
    data = registry_export(type_=type_, fmt=fmt, institutions=selectors.institutions_for(request.user))
    content_types = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pdf": "application/pdf",
    }
    response = HttpResponse(data, content_type=content_types[fmt])
    filename = f"registry_{type_}_{timezone.localdate():%Y-%m-%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def agency_list(request):
    return render(request, "institutions/agency_list.html", {"agencies": selectors.agencies_for(request.user)})


# ---- change filings -------------------------------------------------------------------------

def filing_list(request):
    filings = selectors.filings_for(request.user)
    status = request.GET.get("status", "")
    if status in FilingStatus.values:
        filings = filings.filter(status=status)
    page = Paginator(filings, 25).get_page(request.GET.get("page"))
    return render(request, "institutions/filing_list.html", {"page": page, "status": status, "statuses": FilingStatus.choices})


def filing_create(request, institution_pk):
    inst = get_object_or_404(selectors.institutions_for(request.user), pk=institution_pk)
    form = ChangeFilingForm.for_institution(inst, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            filing = filing_services.filing_submit(
                institution=inst, changes=form.changes(), reason=form.cleaned_data["reason"],
                effective_date=form.cleaned_data.get("effective_date"), actor=request.user,
            )
            messages.success(request, "变更备案已提交，等待经办机构审核。")
            return redirect("institutions:filing_detail", pk=filing.pk)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return render(request, "institutions/filing_form.html", {"form": form, "inst": inst})


def filing_detail(request, pk):
    filing = get_object_or_404(selectors.filings_for(request.user), pk=pk)
    return render(request, "institutions/filing_detail.html", {
        "filing": filing, "form": DecisionForm(), "history": _history_rows(filing),
        "can_decide": filing.status == FilingStatus.PENDING and (request.user.is_agency_staff or request.user.is_portal_admin)
        and filing.submitted_by_id != request.user.pk,
    })


@require_POST
def filing_decide(request, pk):
    filing = get_object_or_404(selectors.filings_for(request.user), pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请选择审核结果。")
        return redirect("institutions:filing_detail", pk=pk)
    try:
        if form.cleaned_data["decision"] == "approve":
            filing_services.filing_approve(filing=filing, actor=request.user, note=form.cleaned_data["note"])
            messages.success(request, "已同意备案，登记信息已更新。")
        else:
            filing_services.filing_reject(filing=filing, actor=request.user, note=form.cleaned_data["note"])
            messages.success(request, "已退回该变更备案。")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("institutions:filing_detail", pk=pk)


# ---- new designations (W§7, W§9) ------------------------------------------------------------

def application_list(request):
    apps = selectors.applications_for(request.user)
    page = Paginator(apps, 25).get_page(request.GET.get("page"))
    return render(request, "institutions/application_list.html", {"page": page})


def application_create(request):
    form = ApplicationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            app = application_services.application_submit(actor=request.user, data=dict(form.cleaned_data))
            messages.success(request, "申请已提交，请上传申请材料。")
            return redirect("institutions:application_detail", pk=app.pk)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return render(request, "institutions/application_form.html", {"form": form})


def application_detail(request, pk):
    app = get_object_or_404(selectors.applications_for(request.user), pk=pk)
    return render(request, "institutions/application_detail.html", {
        "app": app,
        "materials": app.materials.all(),
        "material_form": MaterialForm(),
        "actions": application_services.available_actions(app)
        if (request.user.is_agency_staff or request.user.is_portal_admin) else [],
        "history": _history_rows(app, *app.materials.all()),
    })


@require_POST
def application_advance_view(request, pk):
    app = get_object_or_404(selectors.applications_for(request.user), pk=pk)
    form = AdvanceForm(request.POST)
    if form.is_valid():
        try:
            application_services.application_advance(
                application=app, action=form.cleaned_data["action"], actor=request.user,
                note=form.cleaned_data["note"], expected_status=form.cleaned_data["expected_status"] or None,
            )
            messages.success(request, "已办理。")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("institutions:application_detail", pk=pk)


@require_POST
def application_material(request, pk):
    app = get_object_or_404(selectors.applications_for(request.user), pk=pk)
    form = MaterialForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "请选择材料类型并选择文件。")
    else:
        try:
            application_services.application_add_material(
                application=app, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"], actor=request.user
            )
            messages.success(request, "材料已上传。")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("institutions:application_detail", pk=pk)


def material_download(request, pk):
    material = get_object_or_404(
        ApplicationMaterial.objects.filter(application__in=selectors.applications_for(request.user)), pk=pk
    )
    return FileResponse(material.file.open("rb"), as_attachment=True, filename=material.original_name)
