"""Month-end pages: run the month (a button that shows its progress), approve it for payment
(which freezes it), statements, the payment summary and exports, and what flows into the next
settlements (deductions, deferrals, corrections)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.forms import form_errors_message
from institutions.selectors import agencies_for

from .. import selectors
from ..forms import AdjustmentForm, ApproveForm, DeductionForm, HoldForm, HoldLiftForm, MonthField, RunForm
from ..models import PAYING, BatchStatus, Category, DeductionKind, DeclarationLine, PaymentHold, RunKind
from ..services import receivables as rec
from ..services.month_end import settlement_month_approve
from ..services.periods import is_closed, month_code, month_label
from ..services.runs import run_progress, run_request
from .declarations import CONTENT_TYPES, last_month

PDF = "application/pdf"


def _can_act(user) -> bool:
    return user.is_agency_staff or user.is_portal_admin


def _file(data: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def month_list(request):
    if month_text := request.GET.get("month"):
        try:
            return redirect("settlement:month", period=MonthField().clean(month_text))
        except Exception:
            messages.error(request, "月份应为 YYYY-MM，例如 2026-10。")
    batches = (
        selectors.batches_for(request.user)
        .exclude(status=BatchStatus.OPEN, rows__isnull=True)
        .annotate(n=Count("rows"), approved=Sum("rows__approved_amount"), net=Sum("rows__net_amount"))
        .order_by("-period", "agency__pk")
    )
    page = Paginator(batches, 30).get_page(request.GET.get("page"))
    return render(request, "settlement/month_list.html", {
        "page": page, "last_month": last_month(), "can_act": _can_act(request.user),
        "runs": selectors.runs_for(request.user).filter(kind=RunKind.MONTHLY)[:8],
    })


def month_detail(request, period):
    user = request.user
    batches = list(
        selectors.batches_for(user).filter(period=period)
        .annotate(n=Count("rows"), approved=Sum("rows__approved_amount"), deposit=Sum("rows__deposit"),
                  payable=Sum("rows__payable"), deductions=Sum("rows__deduction_amount"),
                  held=Sum("rows__held_amount"), net=Sum("rows__net_amount"))
        .order_by("agency__pk")
    )
    rows = selectors.settlements_for(user).filter(period=period).order_by("batch__agency__pk", "institution__code")
    run = None
    if (run_id := request.GET.get("run", "")).isdigit():
        run = selectors.runs_for(user).filter(pk=int(run_id)).first()
    return render(request, "settlement/month_detail.html", {
        "period": period, "month": month_code(period), "batches": batches, "rows": rows,
        "closed": is_closed(period), "can_act": _can_act(user), "run": run,
        "run_progress": run_progress(run) if run else None,
        "agencies": agencies_for(user) if _can_act(user) else [],
    })


@require_POST
def run_start(request, period):
    form = RunForm(request.POST)
    form.is_valid()
    agency = None
    if agency_id := form.cleaned_data.get("agency"):
        agency = get_object_or_404(agencies_for(request.user), pk=agency_id)
    elif not request.user.sees_all_institutions:
        agency = request.user.agency
    if not is_closed(period):
        messages.error(request, f"{month_label(period)}尚未结束，不能结算。")
        return redirect("settlement:month", period=period)
    run = run_request(kind=RunKind.MONTHLY, period=period, actor=request.user, agency=agency, trigger="page")
    return redirect(reverse("settlement:month", args=[month_code(period)]) + f"?run={run.pk}")


def run_status(request, pk):
    run = get_object_or_404(selectors.runs_for(request.user), pk=pk)
    return JsonResponse(run_progress(run))


@require_POST
def approve(request, period):
    form = ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_message(form))
        return redirect("settlement:month", period=period)
    agency = get_object_or_404(agencies_for(request.user), pk=form.cleaned_data["agency"])
    try:
        result = settlement_month_approve(
            period=period, agency=agency, actor=request.user, expected_net=form.cleaned_data.get("expected_net")
        )
        messages.success(request, f"{agency.name}{month_label(period)}的结算已审批拨付并冻结：{result.rows} 家机构，实际拨付 ¥{result.net:,}。")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("settlement:month", period=period)


def month_export(request, period):
    from ..services.documents import settlement_export

    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        fmt = "csv"
    try:
        data = settlement_export(period=period, fmt=fmt, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("settlement:month", period=period)
    return _file(data, CONTENT_TYPES[fmt], f"settlements_{month_code(period)}.{fmt}")


def month_summary(request, period):
    from ..services.documents import summary_pdf, summary_xlsx

    fmt = request.GET.get("format", "xlsx")
    try:
        if fmt == "pdf":
            return _file(summary_pdf(period=period, user=request.user), PDF, f"payment_summary_{month_code(period)}.pdf")
        data = summary_xlsx(period=period, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("settlement:month", period=period)
    return _file(data, CONTENT_TYPES["xlsx"], f"payment_summary_{month_code(period)}.xlsx")


def statement_list(request):
    rows = selectors.settlements_for(request.user).order_by("-period", "institution__code")
    month_text = request.GET.get("month", "")
    if month_text:
        try:
            rows = rows.filter(period=MonthField().clean(month_text))
        except Exception:
            messages.error(request, "月份应为 YYYY-MM。")
    if (inst := request.GET.get("institution", "")).isdigit():
        rows = rows.filter(institution_id=int(inst))
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "settlement/statement_list.html", {
        "page": page, "querystring": query.urlencode(), "month": month_text,
        "is_institution": request.user.is_institution_admin,
    })


def statement_detail(request, pk):
    row = get_object_or_404(selectors.settlements_for(request.user).select_related("batch__approved_by", "policy"), pk=pk)
    paying = Q(status__in=PAYING, carried=False)
    by_category = [
        (Category(c["category"]).label, c["n"], c["declared"], c["approved"])
        for c in DeclarationLine.objects.filter(declaration__institution=row.institution, declaration__period=row.period)
        .values("category").annotate(n=Count("pk"), declared=Sum("in_scope"), approved=Sum("approved_amount", filter=paying))
        .order_by("category")
    ]
    return render(request, "settlement/statement_detail.html", {
        "row": row, "offsets": row.offsets.select_related("deduction"), "by_category": by_category,
        "adjustments": row.adjustments.all() if row.frozen else [],
        "corrections": row.corrections.select_related("applied_in"),
        "hold": PaymentHold.objects.filter(institution=row.institution, lifted_on__isnull=True).first() if row.held else None,
        "can_act": _can_act(request.user), "adjust_form": AdjustmentForm(),
    })


def statement_pdf(request, pk):
    from ..services.documents import statement_pdf as render_statement

    row = get_object_or_404(selectors.settlements_for(request.user), pk=pk)
    return _file(render_statement(row), PDF, f"statement_{row.institution.code}_{month_code(row.period)}.pdf")


@require_POST
def adjustment_new(request, pk):
    row = get_object_or_404(selectors.settlements_for(request.user), pk=pk)
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        try:
            adj = rec.adjustment_register(corrects=row, amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"], actor=request.user)
            messages.success(request, f"已登记更正 ¥{adj.amount:,}，计入{month_label(adj.effective_from)}起的结算。")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, form_errors_message(form))
    return redirect("settlement:statement", pk=row.pk)


def receivables(request):
    institutions = selectors.institutions_for(request.user)
    holds = selectors.holds_for(request.user).order_by("lifted_on", "-started_on")
    return render(request, "settlement/receivables.html", {
        "deductions": selectors.deductions_for(request.user)[:200], "holds": holds[:200], "can_act": _can_act(request.user),
        "institutions": institutions.order_by("code"),
        "kinds": [(v, label) for v, label in DeductionKind.choices if v != DeductionKind.NEGATIVE_BALANCE],
    })


def _institution(request, form):
    return get_object_or_404(selectors.institutions_for(request.user), pk=form.cleaned_data["institution"])


@require_POST
def deduction_new(request):
    form = DeductionForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            ded = rec.deduction_register(institution=_institution(request, form), kind=d["kind"], amount=d["amount"],
                                         reason=d["reason"], basis=d["basis"], actor=request.user)
            messages.success(request, f"已登记应收 ¥{ded.amount:,}（{ded.institution}），自{month_label(ded.effective_from)}的结算起抵扣。")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, form_errors_message(form))
    return redirect("settlement:receivables")


@require_POST
def hold_new(request):
    form = HoldForm(request.POST)
    if form.is_valid():
        try:
            hold = rec.hold_start(institution=_institution(request, form), reason=form.cleaned_data["reason"],
                                  basis=form.cleaned_data["basis"], actor=request.user)
            messages.success(request, f"{hold.institution}已暂缓支付：以后的月度结算照常计算，但不拨付，直至解除。")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, form_errors_message(form))
    return redirect("settlement:receivables")


@require_POST
def hold_lift(request, pk):
    hold = get_object_or_404(selectors.holds_for(request.user), pk=pk)
    form = HoldLiftForm(request.POST)
    form.is_valid()
    try:
        rec.hold_lift(hold=hold, actor=request.user, note=form.cleaned_data.get("note", ""))
        messages.success(request, f"{hold.institution}的暂缓支付已解除：暂缓的金额随下一次月度结算拨付。")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("settlement:receivables")
