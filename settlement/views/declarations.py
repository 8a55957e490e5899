"""Declaration pages: institutions declare last month's lines (form or file) and follow each line's
outcome; staff declare for an institution of theirs (late ones marked 逾期). Every lookup goes
through the scoped selectors, so a foreign id is a 404."""

import csv
import hashlib
import io
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.selectors import ACTION_LABELS, describe_changes, history_for
from core.errors import ApplicationError
from core.forms import form_errors_message

from .. import selectors
from ..forms import ItemFormSet, LineEntryForm, MonthField, UploadForm
from ..models import ImportSource, LineItem, LineStatus
from ..services.declaration_files import open_rows
from ..services.declaration_import import declarations_import
from ..services.declaration_rows import HEADERS
from ..services.periods import add_months, deadlines_for, month_start, policy_for
from ..services.review import lines_withdraw, review_progress

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _is_institution(user) -> bool:
    return user.is_institution_admin


def _staff_institutions(user):
    """Staff pick an institution of their scope; an institution administrator declares its own."""
    return None if _is_institution(user) else selectors.institutions_for(user)


def last_month():
    return add_months(month_start(timezone.localdate()), -1)


def declaration_window(institution, period):
    """The deadlines of that institution's month, for the pages (None without policy parameters)."""
    try:
        return deadlines_for(institution.division_code, period, policy_for(institution.division_code, period))
    except ApplicationError:
        return None


def declaration_list(request):
    user = request.user
    month = MonthField(required=False).clean(request.GET.get("month", "")) if request.GET.get("month") else None
    qs = selectors.declaration_list(user=user, period=month)
    if (inst := request.GET.get("institution", "")).isdigit():
        qs = qs.filter(institution_id=int(inst))
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {
        "page": page, "querystring": query.urlencode(), "month": month,
        "is_institution": _is_institution(user), "can_declare": user.is_institution_admin or user.is_agency_staff or user.is_portal_admin,
        "imports": selectors.imports_for(user)[:10], "today": timezone.localdate(),
    }
    if _is_institution(user) and user.institution:
        ctx["window"] = declaration_window(user.institution, last_month())
        ctx["last_month"] = last_month()
    return render(request, "settlement/declaration_list.html", ctx)


def _report_messages(request, report) -> None:
    b = report.batch
    if b.accepted:
        text = f"已申报 {b.accepted} 条明细。"
        if b.late:
            text += "已过申报截止日，标记为逾期申报。"
        messages.success(request, text)
    if b.duplicates:
        messages.warning(request, f"{b.duplicates} 条与已申报的明细完全相同，未重复计入。")
    if b.rejected:
        messages.error(request, f"{b.rejected} 行被拒绝，未保存：" + "；".join(f"第{r}行：{why}" for r, why in report.rejections[:5]))


def declaration_new(request):
    user = request.user
    form = LineEntryForm(request.POST or None, institutions=_staff_institutions(user),
                         initial={"period": f"{last_month():%Y-%m}"})
    items = ItemFormSet(request.POST or None, prefix="items")
    if request.method == "POST":
        if form.is_valid() and items.is_valid():
            cells = form.cells()
            if _is_institution(user):
                cells["code"] = user.institution.code
            item_rows = [f.cleaned_data for f in items if f.cleaned_data]
            problem = _items_problem(item_rows, cells["total"])
            if problem:
                messages.error(request, problem)
            else:
                try:
                    with transaction.atomic():
                        report = declarations_import(
                            rows=[(1, cells)], source=ImportSource.FORM, actor=user,
                            institution=form.cleaned_data.get("institution"),
                        )
                        line = report.batch.lines.first()
                        if line is not None and item_rows:
                            LineItem.objects.bulk_create([LineItem(line=line, **row) for row in item_rows])
                except ApplicationError as exc:
                    messages.error(request, exc.message)
                else:
                    if report.batch.rejected:
                        # The typed values stay in the form; the reason is the row checker's.
                        messages.error(request, "未保存：" + report.rejections[0][1] + "。")
                    elif report.batch.duplicates:
                        messages.warning(request, "该明细与已申报的明细完全相同，未重复计入。")
                    else:
                        _report_messages(request, report)
                        return redirect("settlement:declaration_detail", pk=line.declaration_id)
        else:
            messages.error(request, form_errors_message(form) if not form.is_valid() else "费用项目有误，请检查。")
    return render(request, "settlement/declaration_form.html", {"form": form, "items": items})


def _items_problem(rows, total_text) -> str:
    if not rows:
        return ""
    total = sum((r["amount"] for r in rows), start=Decimal("0.00"))
    try:
        declared = Decimal(str(total_text).strip())
    except InvalidOperation:
        return ""  # the row checker reports the bad total
    if total != declared:
        return f"费用项目金额合计 {total} 与总费用 {declared} 不符，未保存。"
    return ""


def declaration_upload(request):
    user = request.user
    form = UploadForm(request.POST or None, request.FILES or None, institutions=_staff_institutions(user))
    report = None
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            try:
                stream = open_rows(upload, upload.name)
                report = declarations_import(
                    rows=stream.rows, source=ImportSource.UPLOAD, actor=user, file_name=upload.name,
                    sha256=digest.hexdigest(), institution=form.cleaned_data.get("institution"),
                )
            except ApplicationError as exc:
                messages.error(request, f"文件未导入：{exc.message}")
            else:
                if report.refused_for_deadline:
                    messages.error(request, report.rejections[0][1] + "。")
                else:
                    _report_messages(request, report)
        else:
            messages.error(request, form_errors_message(form))
    return render(request, "settlement/declaration_upload.html", {"form": form, "report": report, "headers": HEADERS})


def template_download(request, fmt):
    """The declarations file's columns (SPEC §8), as CSV or XLSX, with one example row."""
    example = ["JG000001", "2026-10", "640102199001011234", "张三", "住院", "2026-10-01", "2026-10-10",
               "10000.00", "9000.00", "800.00", "200.00"]
    if user_code := getattr(getattr(request.user, "institution", None), "code", ""):
        example[0] = user_code
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(HEADERS)
        writer.writerow(example)
        data = ("\ufeff" + buf.getvalue()).encode("utf-8")
    elif fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "月度申报"
        ws.append(HEADERS)
        ws.append(example)
        for col in "ABCDEFGHIJK":
            ws.column_dimensions[col].width = 16
        out = io.BytesIO()
        wb.save(out)
        data = out.getvalue()
    else:
        return HttpResponse("未知格式", status=404)
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="declarations_template.{fmt}"'
    return response


def declaration_detail(request, pk):
    declaration = get_object_or_404(selectors.declarations_for(request.user), pk=pk)
    lines = declaration.lines.select_related("reason").order_by("source_row", "pk")
    status = request.GET.get("status", "")
    if status in LineStatus.values:
        lines = lines.filter(status=status)
    page = Paginator(lines, 50).get_page(request.GET.get("page"))
    return render(request, "settlement/declaration_detail.html", {
        "declaration": declaration, "page": page, "status": status, "statuses": LineStatus.choices,
        "querystring": f"status={status}" if status else "",
        "progress": review_progress(declaration.lines.all()),
        "window": declaration_window(declaration.institution, declaration.period),
        "is_institution": _is_institution(request.user),
        "settlement": declaration.institution.monthly_settlements.filter(period=declaration.period).first(),
    })


def import_list(request):
    page = Paginator(selectors.imports_for(request.user), 25).get_page(request.GET.get("page"))
    return render(request, "settlement/import_list.html", {"page": page})


def import_detail(request, pk):
    batch = get_object_or_404(selectors.imports_for(request.user), pk=pk)
    page = Paginator(selectors.rejections_for(request.user, batch), 100).get_page(request.GET.get("page"))
    declarations = selectors.declarations_for(request.user).filter(lines__batch=batch).distinct()
    return render(request, "settlement/import_detail.html", {
        "batch": batch, "page": page, "headers": HEADERS, "declarations": declarations,
    })


def line_detail(request, pk):
    line = get_object_or_404(selectors.lines_for(request.user).select_related("reviewed_by", "batch"), pk=pk)
    history = [(e, ACTION_LABELS.get(e.action, e.action), describe_changes(e)) for e in history_for(line)[:50]]
    return render(request, "settlement/line_detail.html", {
        "line": line, "items": line.items.all(), "history": history,
        "is_institution": _is_institution(request.user),
    })


@require_POST
def line_withdraw(request, pk):
    line = get_object_or_404(selectors.lines_for(request.user), pk=pk)
    try:
        lines_withdraw(lines=[line], actor=request.user)
        messages.success(request, f"已撤回明细：{line.name} {line.visit_date:%Y-%m-%d}。")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("settlement:declaration_detail", pk=line.declaration_id)
