"""Declaration, review and settlement API (issue 4), in the style of institutions/apis.py: each view
validates input, calls one selector or service and renders the result. Who may call a URL is
decided by core.permissions.URL_ROLES; what they see by the scoped selectors, so a foreign id is a
404 and never a 403. Domain errors come out through core.api as {"code", "message", "detail"}."""

import codecs
import hashlib
import itertools
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.utils import json
from rest_framework.views import APIView

from accounts.models import Role
from core.errors import ApplicationError, FileRejected
from institutions.apis import CONTENT_TYPES, ListApi, ObjectApi, _FileTypeNegotiation, _validated
from institutions.selectors import agencies_for, institutions_for

from . import selectors
from . import serializers as s
from .models import ImportSource, ReviewReason
from .services.declaration_files import open_rows
from .services.declaration_import import declarations_import
from .services.month_end import settlement_month_approve
from .services.periods import month_code, month_label, require_closed
from .services.receivables import adjustment_register, deduction_register, hold_lift, hold_start
from .services.review import line_decide, lines_approve_pending, reasons_for, review_progress
from .services.runs import run_progress, run_request

ERRORS = {
    400: OpenApiResponse(description="输入有误（code = invalid）或规则不允许：{code, message, detail}"),
    403: OpenApiResponse(description="角色无权办理：{code, message, detail}"),
    404: OpenApiResponse(description="不存在或不在调用者的范围内：{code, message, detail}"),
    409: OpenApiResponse(description="已审批冻结或在读取后已变化：{code, message, detail}"),
}
IMPORT_RESPONSES = {
    201: s.DeclarationImportReportOutputSerializer,
    400: OpenApiResponse(
        description="全部行被拒绝（code = rejected，detail 为同样的报告；逾期时 message 写明申报截止日期），"
        "或文件被整个拒绝（code = file_rejected、bad_columns、bad_encoding、file_too_large…）：{code, message, detail}",
    ),
    403: ERRORS[403],
    404: ERRORS[404],
}


def _file(content: bytes, fmt: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _institution(user, pk):
    """An institution named in a request body: outside the caller's scope it is a 404."""
    return get_object_or_404(institutions_for(user), pk=pk) if pk is not None else None


# ---- declarations -------------------------------------------------------------------------------


class ExactJSONParser(JSONParser):
    """A JSON number is read as a Decimal, never a float, so an amount keeps the digits it was sent
    with (12.10 stays "12.10"; 0.1 + 0.2 never happens)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.load(codecs.getreader(encoding)(stream), parse_float=Decimal)
        except ValueError as exc:
            raise ParseError(f"JSON 格式错误：{exc}") from None


# Bodies of the other actions: JSON (numbers exact), or a form as the browsable API sends it.
PARSERS = [ExactJSONParser, FormParser, MultiPartParser]


class _ImportApi(APIView):
    def respond(self, report):
        """201 with the report; 400 "rejected" when every row was refused. The batch and its refused
        rows stay stored either way, so the caller can open them by the batch id."""
        body = s.DeclarationImportReportOutputSerializer(report.as_dict()).data
        batch = report.batch
        if batch.rows and batch.rejected == batch.rows:
            if report.refused_for_deadline:
                message = report.rejections[0][1]  # it names the deadline that has passed
            else:
                message = f"提交的 {batch.rows} 行全部被拒绝，未新增任何明细；各行原因见 detail.rejections。"
            return Response({"code": "rejected", "message": message, "detail": body}, status=status.HTTP_400_BAD_REQUEST)
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Location"] = reverse("api:declaration-import-detail", args=[batch.pk])
        return response


class DeclarationListApi(ListApi):
    @extend_schema(parameters=[s.DeclarationFilterSerializer], responses=s.DeclarationListOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.DeclarationFilterSerializer, request.query_params)
        qs = selectors.declaration_list(
            user=request.user, period=filters.get("month"), institution=filters.get("institution")
        )
        return self.paginated(qs, s.DeclarationListOutputSerializer)


class DeclarationDetailApi(ObjectApi):
    scope = staticmethod(lambda user: selectors.declaration_list(user=user))

    @extend_schema(responses=s.DeclarationDetailOutputSerializer)
    def get(self, request, pk):
        declaration = self.get_object()
        progress = review_progress(declaration.lines.all())
        declaration.totals = [{"status": status_, **values} for status_, values in progress.items()]
        return Response(s.DeclarationDetailOutputSerializer(declaration).data)


class DeclarationLinesApi(_ImportApi):
    """Lines as JSON: the same checks, deadlines and report as a file (one batch, source 接口)."""

    parser_classes = [ExactJSONParser]

    @extend_schema(request=s.DeclarationLinesInputSerializer, responses=IMPORT_RESPONSES)
    def post(self, request):
        data = _validated(s.DeclarationLinesInputSerializer, request.data)
        report = declarations_import(
            rows=data["lines"], source=ImportSource.API, actor=request.user,
            institution=_institution(request.user, data.get("institution")),
        )
        return self.respond(report)


class DeclarationImportApi(_ImportApi):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": s.DeclarationImportInputSerializer}, responses=IMPORT_RESPONSES)
    def post(self, request):
        data = _validated(s.DeclarationImportInputSerializer, request.data)
        institution = _institution(request.user, data.get("institution"))
        upload = data["file"]
        limit = settings.PORTAL_MAX_DECLARATION_UPLOAD_BYTES
        if upload.size > limit:
            raise FileRejected(
                f"文件过大（{upload.size / 1048576:.1f} MB），申报文件最大 {limit / 1048576:.0f} MB；请按月份或机构拆分后提交。",
                code="file_too_large", detail={"size": upload.size, "limit": limit},
            )
        fh = upload.open("rb")
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        fh.seek(0)
        stream = open_rows(fh, upload.name)  # FileRejected (400) for a file of the wrong shape
        # The header is checked when the first row is read: read it here, so that a file of the
        # wrong shape is refused before the import opens its batch and staging table.
        first = next(stream.rows, None)
        if first is None:
            raise FileRejected("文件中没有申报数据行（只有表头）。", code="no_rows")
        report = declarations_import(
            rows=itertools.chain([first], stream.rows), source=ImportSource.API, actor=request.user, institution=institution,
            file_name=upload.name, sha256=digest.hexdigest(),
        )
        return self.respond(report)


class _RejectionPages(PageNumberPagination):
    page_size = 1000


class DeclarationImportDetailApi(ObjectApi):
    scope = staticmethod(selectors.imports_for)

    @extend_schema(
        parameters=[OpenApiParameter("page", int, description="被拒绝的行的页码（每页1000行）")],
        responses=s.ImportDetailOutputSerializer,
    )
    def get(self, request, pk):
        batch = self.get_object()
        paginator = _RejectionPages()
        page = paginator.paginate_queryset(selectors.rejections_for(request.user, batch), request, view=self)
        rejections = {
            "count": paginator.page.paginator.count, "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(), "results": s.ImportRejectionOutputSerializer(page, many=True).data,
        }
        return Response(s.ImportDetailOutputSerializer(batch, context={"rejections": rejections}).data)


# ---- lines and their review ---------------------------------------------------------------------


class LineListApi(ListApi):
    @extend_schema(parameters=[s.LineFilterSerializer], responses=s.LineOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.LineFilterSerializer, request.query_params)
        period = filters.pop("month")
        if request.user.role == Role.INSTITUTION_ADMIN:
            # Its own lines only (lines_for scopes them), each with the outcome and reason the agency gave.
            qs = selectors.lines_for(request.user).filter(declaration__period=period)
            if filters.get("institution"):
                qs = qs.filter(declaration__institution_id=filters["institution"])
            for field in ("category", "status"):
                if filters.get(field):
                    qs = qs.filter(**{field: filters[field]})
            if filters.get("late"):
                qs = qs.filter(late=True)
            if q := (filters.get("q") or "").strip():
                qs = qs.filter(Q(name__icontains=q) | Q(card_no__icontains=q))
        else:
            qs = selectors.review_lines(user=request.user, period=period, filters=filters)
        return self.paginated(qs, s.LineOutputSerializer)


class LineApi(ObjectApi):
    scope = staticmethod(selectors.lines_for)


class LineDetailApi(LineApi):
    @extend_schema(responses=s.LineDetailOutputSerializer)
    def get(self, request, pk):
        return Response(s.LineDetailOutputSerializer(self.get_object()).data)


class LineDecisionApi(LineApi):
    parser_classes = PARSERS

    @extend_schema(request=s.LineDecisionInputSerializer, responses={200: s.LineDecisionOutputSerializer, **ERRORS})
    def post(self, request, pk):
        line = self.get_object()
        data = _validated(s.LineDecisionInputSerializer, request.data)
        decision = line_decide(
            line=line, outcome=data["outcome"], actor=request.user, reason_code=data["reason"],
            amount=data["amount"], note=data["note"],
        )
        fresh = self.get_object()
        return Response(s.LineDecisionOutputSerializer({"message": decision.message, "line": fresh}).data)


class LinesApprovePendingApi(APIView):
    parser_classes = PARSERS

    @extend_schema(request=s.ApprovePendingInputSerializer, responses={200: s.BulkApproveOutputSerializer, **ERRORS})
    def post(self, request):
        data = _validated(s.ApprovePendingInputSerializer, request.data)
        filters = {
            "institution": _institution(request.user, data.get("institution")),
            "category": data.get("category") or "",
        }
        result = lines_approve_pending(period=data["month"], actor=request.user, filters=filters)
        body = {
            "approved": result.approved, "amount": result.amount, "carried": result.carried,
            "held": result.still_held, "message": result.as_text(data["month"]),
        }
        return Response(s.BulkApproveOutputSerializer(body).data)


class ReviewReasonListApi(APIView):
    """Reasons are data, each citing its article (maintained in the admin, never in code)."""

    @extend_schema(parameters=[s.ReviewReasonFilterSerializer], responses=s.ReviewReasonOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.ReviewReasonFilterSerializer, request.query_params)
        if filters.get("outcome"):
            reasons = reasons_for(filters["outcome"], filters.get("category") or "")
        else:
            # Not scoped data: the same reasons for everyone (a selector belongs in selectors.py; reported).
            reasons = ReviewReason.objects.filter(active=True)
        return Response(s.ReviewReasonOutputSerializer(reasons, many=True).data)


# ---- settlements ---------------------------------------------------------------------------------


class SettlementListApi(ListApi):
    @extend_schema(parameters=[s.SettlementFilterSerializer], responses=s.SettlementOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.SettlementFilterSerializer, request.query_params)
        qs = selectors.settlements_for(request.user)
        if filters.get("month"):
            qs = qs.filter(period=filters["month"])
        if filters.get("institution"):
            qs = qs.filter(institution_id=filters["institution"])
        return self.paginated(qs, s.SettlementOutputSerializer)


class SettlementApi(ObjectApi):
    scope = staticmethod(selectors.settlements_for)


class SettlementDetailApi(SettlementApi):
    scope = staticmethod(
        lambda user: selectors.settlements_for(user).prefetch_related("offsets__deduction", "adjustments")
    )

    @extend_schema(responses=s.SettlementDetailOutputSerializer)
    def get(self, request, pk):
        return Response(s.SettlementDetailOutputSerializer(self.get_object()).data)


class SettlementStatementApi(SettlementApi):
    content_negotiation_class = _FileTypeNegotiation

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: ERRORS[404]})
    def get(self, request, pk):
        row = self.get_object()
        from .services.documents import statement_pdf  # noqa: PLC0415 (written alongside; loaded when asked)

        return _file(statement_pdf(row), "pdf", f"statement_{row.institution.code}_{month_code(row.period)}.pdf")


def _batches(user):
    def total(field):
        return Sum(f"rows__{field}")

    return selectors.batches_for(user).order_by("-period", "agency__pk").annotate(
        institution_count=Count("rows"), approved_amount=total("approved_amount"), deposit=total("deposit"),
        payable=total("payable"), deduction_amount=total("deduction_amount"), held_amount=total("held_amount"),
        net_amount=total("net_amount"),
    )


class MonthBatchListApi(ListApi):
    @extend_schema(parameters=[s.MonthBatchFilterSerializer], responses=s.MonthBatchOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.MonthBatchFilterSerializer, request.query_params)
        qs = _batches(request.user)
        if filters.get("month"):
            qs = qs.filter(period=filters["month"])
        if filters.get("agency"):
            qs = qs.filter(agency_id=filters["agency"])
        return self.paginated(qs, s.MonthBatchOutputSerializer)


def _agency(request, pk):
    """The agency named in the body (404 outside the caller's scope), else the caller's own."""
    if pk is not None:
        return get_object_or_404(agencies_for(request.user), pk=pk)
    if request.user.agency_id is None:
        raise ApplicationError("请指定经办机构（agency）。", code="agency_required")
    return request.user.agency


class MonthApproveApi(APIView):
    parser_classes = PARSERS

    @extend_schema(request=s.MonthApproveInputSerializer, responses={200: s.MonthApproveOutputSerializer, **ERRORS})
    def post(self, request):
        data = _validated(s.MonthApproveInputSerializer, request.data)
        agency, period = _agency(request, data.get("agency")), data["month"]
        result = settlement_month_approve(
            period=period, agency=agency, actor=request.user, expected_net=data.get("expected_net")
        )
        batch = _batches(request.user).get(period=period, agency=agency)
        message = (
            f"{agency.name}{month_label(period)}的结算已审批拨付并冻结：{result.rows} 家协议机构，"
            f"审核通过 {result.approved}，质量保证金 {result.deposit}，实际拨付 {result.net}。"
        )
        return Response(s.MonthApproveOutputSerializer({"message": message, "batch": batch}).data)


def _run(run):
    run.progress = run_progress(run)
    return s.RunOutputSerializer(run).data


class RunCreateApi(APIView):
    parser_classes = PARSERS

    @extend_schema(request=s.RunCreateInputSerializer, responses={202: s.RunOutputSerializer, **ERRORS})
    def post(self, request):
        data = _validated(s.RunCreateInputSerializer, request.data)
        pk = data.get("agency")
        agency = get_object_or_404(agencies_for(request.user), pk=pk) if pk is not None else None
        require_closed(data["month"])  # refuse now with the reason, not later as a failed run
        run = run_request(kind="monthly", period=data["month"], actor=request.user, agency=agency, trigger="api")
        # Read it again: without a broker the run may already have finished in this request.
        run = selectors.runs_for(request.user).get(pk=run.pk)
        response = Response(_run(run), status=status.HTTP_202_ACCEPTED)
        response["Location"] = reverse("api:settlement-run-detail", args=[run.pk])
        return response


class RunDetailApi(ObjectApi):
    scope = staticmethod(selectors.runs_for)

    @extend_schema(responses=s.RunOutputSerializer)
    def get(self, request, pk):
        return Response(_run(self.get_object()))


class SettlementExportApi(APIView):
    content_negotiation_class = _FileTypeNegotiation

    @extend_schema(
        parameters=[s.SettlementExportInputSerializer],
        responses={
            **{(200, CONTENT_TYPES[fmt].split(";")[0]): OpenApiTypes.BINARY for fmt in s.EXPORT_FORMATS},
            400: ERRORS[400],
        },
    )
    def get(self, request):
        data = _validated(s.SettlementExportInputSerializer, request.query_params)
        from .services.documents import settlement_export  # noqa: PLC0415 (written alongside)

        period, fmt = data["month"], data["format"]
        content = settlement_export(period=period, fmt=fmt, user=request.user)
        return _file(content, fmt, f"settlements_{month_code(period)}.{fmt}")


class SettlementSummaryApi(APIView):
    content_negotiation_class = _FileTypeNegotiation

    @extend_schema(
        parameters=[s.SettlementSummaryInputSerializer],
        responses={
            **{(200, CONTENT_TYPES[fmt].split(";")[0]): OpenApiTypes.BINARY for fmt in s.SUMMARY_FORMATS},
            400: ERRORS[400],
        },
    )
    def get(self, request):
        data = _validated(s.SettlementSummaryInputSerializer, request.query_params)
        from .services.documents import summary_pdf, summary_xlsx  # noqa: PLC0415 (written alongside)

        period, fmt = data["month"], data["format"]
        render = summary_pdf if fmt == "pdf" else summary_xlsx
        return _file(render(period=period, user=request.user), fmt, f"payment_summary_{month_code(period)}.{fmt}")


# ---- receivables: corrections, deductions, deferrals --------------------------------------------


class AdjustmentListApi(ListApi):
    parser_classes = PARSERS

    @extend_schema(parameters=[s.InstitutionFilterSerializer], responses=s.AdjustmentOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.InstitutionFilterSerializer, request.query_params)
        qs = selectors.adjustments_for(request.user)
        if filters.get("institution"):
            qs = qs.filter(institution_id=filters["institution"])
        return self.paginated(qs, s.AdjustmentOutputSerializer)

    @extend_schema(request=s.AdjustmentCreateInputSerializer, responses={201: s.AdjustmentOutputSerializer, **ERRORS})
    def post(self, request):
        data = _validated(s.AdjustmentCreateInputSerializer, request.data)
        corrects = get_object_or_404(selectors.settlements_for(request.user), pk=data["settlement"])
        adjustment = adjustment_register(corrects=corrects, amount=data["amount"], reason=data["reason"], actor=request.user)
        fresh = selectors.adjustments_for(request.user).get(pk=adjustment.pk)
        return Response(s.AdjustmentOutputSerializer(fresh).data, status=status.HTTP_201_CREATED)


class DeductionListApi(ListApi):
    parser_classes = PARSERS

    @extend_schema(parameters=[s.InstitutionFilterSerializer], responses=s.DeductionOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.InstitutionFilterSerializer, request.query_params)
        qs = selectors.deductions_for(request.user)
        if filters.get("institution"):
            qs = qs.filter(institution_id=filters["institution"])
        return self.paginated(qs, s.DeductionOutputSerializer)

    @extend_schema(request=s.DeductionCreateInputSerializer, responses={201: s.DeductionOutputSerializer, **ERRORS})
    def post(self, request):
        data = _validated(s.DeductionCreateInputSerializer, request.data)
        deduction = deduction_register(
            institution=_institution(request.user, data["institution"]), kind=data["kind"], amount=data["amount"],
            reason=data["reason"], basis=data["basis"], source_label=data["source_label"], actor=request.user,
        )
        fresh = selectors.deductions_for(request.user).get(pk=deduction.pk)
        return Response(s.DeductionOutputSerializer(fresh).data, status=status.HTTP_201_CREATED)


class HoldListApi(ListApi):
    parser_classes = PARSERS

    @extend_schema(parameters=[s.HoldFilterSerializer], responses=s.HoldOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.HoldFilterSerializer, request.query_params)
        qs = selectors.holds_for(request.user)
        if filters.get("institution"):
            qs = qs.filter(institution_id=filters["institution"])
        if filters.get("active") is not None:
            qs = qs.filter(lifted_on__isnull=filters["active"])
        return self.paginated(qs, s.HoldOutputSerializer)

    @extend_schema(request=s.HoldCreateInputSerializer, responses={201: s.HoldOutputSerializer, **ERRORS})
    def post(self, request):
        data = _validated(s.HoldCreateInputSerializer, request.data)
        hold = hold_start(
            institution=_institution(request.user, data["institution"]), reason=data["reason"], basis=data["basis"],
            source_label=data["source_label"], actor=request.user,
        )
        return Response(s.HoldOutputSerializer(selectors.holds_for(request.user).get(pk=hold.pk)).data, status=status.HTTP_201_CREATED)


class HoldLiftApi(ObjectApi):
    parser_classes = PARSERS

    scope = staticmethod(selectors.holds_for)

    @extend_schema(request=s.HoldLiftInputSerializer, responses={200: s.HoldOutputSerializer, **ERRORS})
    def post(self, request, pk):
        hold = self.get_object()
        data = _validated(s.HoldLiftInputSerializer, request.data)
        hold_lift(hold=hold, actor=request.user, note=data["note"])
        return Response(s.HoldOutputSerializer(self.get_object()).data)
