"""The review screen (W§28: by the 25th): a month's lines with filters, a decision per line with a
reason that cites its article, and bulk approval of what is still pending. Auditors read it."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.forms import form_errors_message

from .. import selectors
from ..forms import DecisionForm, ReviewFilterForm
from ..models import Category, LineStatus, ReviewOutcome, ReviewReason
from ..services.periods import deadlines_for, month_code, policy_for
from ..services.review import lines_approve_pending, review_progress
from ..services.review import line_decide as decide_service
from .declarations import last_month


def _month(request):
    form = ReviewFilterForm(request.GET or request.POST)
    form.is_valid()
    return form.cleaned_data.get("month") or last_month(), form.filters()


def review(request):
    period, filters = _month(request)
    lines = selectors.review_lines(user=request.user, period=period, filters=filters)
    page = Paginator(lines, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    institutions = selectors.institutions_for(request.user).filter(declarations__period=period).distinct().order_by("code")
    try:
        review_due = deadlines_for("", period, policy_for("", period)).review_due
    except ApplicationError:
        review_due = None
    reasons = list(ReviewReason.objects.filter(active=True))
    return render(request, "settlement/review.html", {
        "period": period, "month": month_code(period), "filters": {k: request.GET.get(k, "") for k in ("institution", "category", "status", "q", "late")},
        "page": page, "querystring": query.urlencode(), "progress": review_progress(lines),
        "institutions": institutions, "categories": Category.choices, "statuses": LineStatus.choices,
        "outcomes": ReviewOutcome.choices, "reasons": reasons, "review_due": review_due,
        "can_decide": request.user.is_agency_staff or request.user.is_portal_admin,
        "next": request.get_full_path(),
    })


def _review_url(period) -> str:
    return reverse("settlement:review") + "?" + urlencode({"month": month_code(period)})


def _back(request, default: str):
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


@require_POST
def line_decide(request, pk):
    line = get_object_or_404(selectors.lines_for(request.user), pk=pk)
    form = DecisionForm(request.POST)
    back = _review_url(line.declaration.period)
    if not form.is_valid():
        messages.error(request, form_errors_message(form))
        return _back(request, back)
    d = form.cleaned_data
    try:
        decision = decide_service(
            line=line, outcome=d["outcome"], actor=request.user, reason_code=d["reason"], amount=d["amount"], note=d["note"],
        )
        messages.success(request, decision.message)
    except ApplicationError as exc:
        messages.error(request, f"第{line.source_row or line.pk}行（{line.name}）未更改：{exc.message}")
    return _back(request, back)


@require_POST
def bulk_approve(request):
    period, filters = _month(request)
    try:
        result = lines_approve_pending(period=period, actor=request.user, filters=filters)
        if result.approved:
            messages.success(request, result.as_text(period))
        else:
            messages.warning(request, "没有待审核的明细。" + (f"暂缓（待鉴定）{result.still_held} 条须逐条处理。" if result.still_held else ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _back(request, _review_url(period))
