"""Declaration, review, settlement and year-end API (issues 4 and 5), in the style of
institutions/apis.py: each view validates input, calls one selector or service and renders the
result. Who may call a URL is decided by core.permissions.URL_ROLES; what they see by the scoped
selectors, so a foreign id is a 404 and never a 403. Domain errors come out through core.api as
{"code", "message", "detail"}."""

import codecs
import hashlib
import itertools
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Subquery, Sum
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
from .models import (
    AnnualApplication,
    AnnualMaterial,
    AssessmentScore,
    ImportSource,
    MonthlySettlement,
    ReviewReason,
    RunKind,
)
from .services.annual_applications import annual_application_decide, annual_application_submit
from .selectors import annual_batches_for, annual_settlements_for
from .services.annual_documents import annual_export, annual_statement_pdf, annual_summary_xlsx
from .services.declaration_files import open_rows
from .services.declaration_import import declarations_import
from .services.month_end import settlement_month_approve
from .services.periods import month_code, month_label, require_closed
from .services.receivables import adjustment_register, deduction_register, hold_lift, hold_start
from .services.review import line_decide, lines_approve_pending, reasons_for, review_progress
from .services.runs import run_progress, run_request
from .services.scores import SCORE_COLUMNS, SCORE_OPTIONAL, score_set, scores_import
from .services.year_end import require_year_over, settlement_annual_approve

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


# ---- year-end (issue 5): annual applications, assessment scores, the deposit release ---------------
# Scoped like the pages (settlement/views/annual.py) and calling the same services.


def _applications(user):
    return AnnualApplication.objects.filter(institution__in=selectors.institutions_for(user)).select_related(
        "institution", "submitted_by", "reviewed_by"
    ).order_by("-year", "institution__code", "pk")


def _application_detail(user):
    return _applications(user).prefetch_related(
        Prefetch("materials", queryset=AnnualMaterial.objects.select_related("uploaded_by"))
    )


class AnnualApplicationListApi(ListApi):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(parameters=[s.AnnualApplicationFilterSerializer], responses=s.AnnualApplicationOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.AnnualApplicationFilterSerializer, request.query_params)
        qs = _applications(request.user)
        if filters.get("year"):
            qs = qs.filter(year=filters["year"])
        if filters.get("institution"):
            qs = qs.filter(institution_id=filters["institution"])
        if filters.get("status"):
            qs = qs.filter(status=filters["status"])
        return self.paginated(qs, s.AnnualApplicationOutputSerializer)

    @extend_schema(
        request={"multipart/form-data": s.AnnualApplicationInputSerializer},
        responses={
            201: s.AnnualApplicationDetailOutputSerializer,
            400: OpenApiResponse(
                description="不在申请期内（code = not_open、deadline_passed，message 写明日期）、材料不全（materials_missing）、"
                "文件不符（bad_file_type、file_too_large、empty_file）、已受理（already_accepted）：{code, message, detail}"
            ),
            403: ERRORS[403],
            404: ERRORS[404],
        },
    )
    def post(self, request):
        """Submit the year's application, or complete a returned one (what is on file need not be sent again)."""
        data = _validated(s.AnnualApplicationInputSerializer, request.data)
        user = request.user
        if user.is_institution_admin:
            institution = _institution(user, data.get("institution")) or user.institution
        else:
            institution = _institution(user, data.get("institution"))
            if institution is None:
                raise ApplicationError("请指定协议机构（institution）。", code="institution_required")
        materials = {k: data[k] for k in ("declaration_form", "cost_report", "other") if data.get(k)}
        application = annual_application_submit(
            institution=institution, year=data["year"], materials=materials, actor=user, note=data["note"]
        )
        fresh = _application_detail(user).get(pk=application.pk)
        response = Response(s.AnnualApplicationDetailOutputSerializer(fresh).data, status=status.HTTP_201_CREATED)
        response["Location"] = reverse("api:annual-application-detail", args=[application.pk])
        return response


class AnnualApplicationDetailApi(ObjectApi):
    scope = staticmethod(_application_detail)

    @extend_schema(responses=s.AnnualApplicationDetailOutputSerializer)
    def get(self, request, pk):
        return Response(s.AnnualApplicationDetailOutputSerializer(self.get_object()).data)


class AnnualApplicationDecisionApi(ObjectApi):
    parser_classes = PARSERS
    scope = staticmethod(_application_detail)

    @extend_schema(request=s.AnnualDecisionInputSerializer, responses={200: s.AnnualApplicationDetailOutputSerializer, **ERRORS})
    def post(self, request, pk):
        application = self.get_object()
        data = _validated(s.AnnualDecisionInputSerializer, request.data)
        annual_application_decide(
            application=application, accept=data["decision"] == "accept", note=data["note"], actor=request.user
        )
        return Response(s.AnnualApplicationDetailOutputSerializer(self.get_object()).data)


# ---- assessment scores ----------------------------------------------------------------------------


def _year_scores(year: int):
    return Prefetch(
        "assessment_scores",
        queryset=AssessmentScore.objects.filter(year=year).select_related("updated_by").prefetch_related("components"),
        to_attr="year_scores",
    )


def _deposit_total(year: int):
    """The institution's deposits of the year (computed and approved months alike), as the run sums them."""
    return Subquery(
        MonthlySettlement.objects.filter(institution=OuterRef("pk"), period__year=year)
        .order_by().values("institution").annotate(total=Sum("deposit")).values("total")
    )


def _score_entry(institution, year: int) -> dict:
    scores = institution.year_scores
    return {"institution": institution, "year": year, "deposit_total": institution.deposit_total,
            "score": scores[0] if scores else None}


class ScoreListApi(ListApi):
    @extend_schema(parameters=[s.YearFilterSerializer], responses=s.ScoreOutputSerializer(many=True))
    def get(self, request):
        """Institutions in scope with deposits in the year or a score for it, each with its score and components."""
        year = _validated(s.YearFilterSerializer, request.query_params)["year"]
        deposits = MonthlySettlement.objects.filter(institution=OuterRef("pk"), period__year=year)
        scored = AssessmentScore.objects.filter(institution=OuterRef("pk"), year=year)
        qs = (
            selectors.institutions_for(request.user).filter(Q(Exists(deposits)) | Q(Exists(scored)))
            .annotate(deposit_total=_deposit_total(year)).prefetch_related(_year_scores(year)).order_by("code")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(
            s.ScoreOutputSerializer([_score_entry(i, year) for i in page], many=True).data
        )


class ScoreDetailApi(APIView):
    """One institution's score for a year. An institution administrator reads only its own (another
    institution is a 404); staff set the components (deductions from violation cases stay)."""

    parser_classes = [ExactJSONParser]

    def _entry(self, request, year: int, institution: int) -> dict:
        qs = selectors.institutions_for(request.user).annotate(deposit_total=_deposit_total(year))
        inst = get_object_or_404(qs.prefetch_related(_year_scores(year)), pk=institution)
        return _score_entry(inst, year)

    @extend_schema(responses={200: s.ScoreOutputSerializer, 404: ERRORS[404]})
    def get(self, request, year, institution):
        return Response(s.ScoreOutputSerializer(self._entry(request, year, institution)).data)

    @extend_schema(
        request=s.ScoreSetInputSerializer,
        responses={
            200: s.ScoreOutputSerializer,
            400: OpenApiResponse(
                description="分值有误（code = invalid_score：超出 0–100、超过两位小数、不是数字）、该年度已审批冻结（frozen）："
                "{code, message, detail}；什么也不改"
            ),
            403: ERRORS[403],
            404: ERRORS[404],
        },
    )
    def put(self, request, year, institution):
        entry = self._entry(request, year, institution)
        data = _validated(s.ScoreSetInputSerializer, request.data)
        score_set(institution=entry["institution"], year=year, components=[dict(c) for c in data["components"]],
                  actor=request.user)
        return Response(s.ScoreOutputSerializer(self._entry(request, year, institution)).data)

    @extend_schema(
        request=s.ScoreSetInputSerializer,
        responses={200: s.ScoreOutputSerializer, 400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404]},
        description="同 PUT（表单和不支持 PUT 的客户端）。",
    )
    def post(self, request, year, institution):
        return self.put(request, year, institution)


class ScoreImportApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.ScoreImportInputSerializer},
        responses={
            200: s.ScoreImportReportOutputSerializer,
            400: OpenApiResponse(
                description="文件被整个拒绝（code = no_deposits、bad_columns、bad_encoding、file_too_large…）：{code, message, detail}；"
                "有问题的行不在此列，它们在报告的 rejections 中逐行列出"
            ),
            403: ERRORS[403],
        },
    )
    def post(self, request):
        data = _validated(s.ScoreImportInputSerializer, request.data)
        upload = data["file"]
        limit = settings.PORTAL_MAX_TABLE_UPLOAD_BYTES
        if upload.size > limit:
            raise FileRejected(
                f"文件过大（{upload.size / 1048576:.1f} MB），考核得分文件最大 {limit / 1048576:.0f} MB。",
                code="file_too_large", detail={"size": upload.size, "limit": limit},
            )
        stream = open_rows(upload.open("rb"), upload.name, columns=SCORE_COLUMNS, optional=SCORE_OPTIONAL)
        report = scores_import(rows=stream.rows, year=data["year"], actor=request.user)
        return Response(s.ScoreImportReportOutputSerializer(report.as_dict()).data)


# ---- annual settlements ---------------------------------------------------------------------------


class AnnualSettlementListApi(ListApi):
    @extend_schema(parameters=[s.AnnualSettlementFilterSerializer], responses=s.AnnualSettlementOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.AnnualSettlementFilterSerializer, request.query_params)
        qs = annual_settlements_for(request.user).order_by("-year", "institution__code")
        if filters.get("year"):
            qs = qs.filter(year=filters["year"])
        if filters.get("institution"):
            qs = qs.filter(institution_id=filters["institution"])
        return self.paginated(qs, s.AnnualSettlementOutputSerializer)


class AnnualSettlementApi(ObjectApi):
    scope = staticmethod(annual_settlements_for)


class AnnualSettlementDetailApi(AnnualSettlementApi):
    @extend_schema(responses=s.AnnualSettlementOutputSerializer)
    def get(self, request, pk):
        return Response(s.AnnualSettlementOutputSerializer(self.get_object()).data)


class AnnualSettlementStatementApi(AnnualSettlementApi):
    content_negotiation_class = _FileTypeNegotiation

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: ERRORS[404]})
    def get(self, request, pk):
        row = self.get_object()
        return _file(annual_statement_pdf(row), "pdf", f"annual_statement_{row.institution.code}_{row.year}.pdf")


class AnnualSettlementExportApi(APIView):
    content_negotiation_class = _FileTypeNegotiation

    @extend_schema(
        parameters=[s.AnnualExportInputSerializer],
        responses={
            **{(200, CONTENT_TYPES[fmt].split(";")[0]): OpenApiTypes.BINARY for fmt in s.EXPORT_FORMATS},
            400: ERRORS[400],
        },
    )
    def get(self, request):
        """export_annual_settlements (SPEC §8): 机构编码, 机构名称, 年度, 保证金总额, 考核得分, 返还金额, 扣留金额."""
        data = _validated(s.AnnualExportInputSerializer, request.query_params)
        year, fmt = data["year"], data["format"]
        return _file(annual_export(year=year, fmt=fmt, user=request.user), fmt, f"annual_settlements_{year}.{fmt}")


class AnnualSettlementSummaryApi(APIView):
    content_negotiation_class = _FileTypeNegotiation

    @extend_schema(
        parameters=[s.YearFilterSerializer],
        responses={(200, CONTENT_TYPES["xlsx"]): OpenApiTypes.BINARY, 400: ERRORS[400]},
    )
    def get(self, request):
        """The agency's annual summary (年度结算汇总表, XLSX)."""
        year = _validated(s.YearFilterSerializer, request.query_params)["year"]
        return _file(annual_summary_xlsx(year=year, user=request.user), "xlsx", f"annual_summary_{year}.xlsx")


def _annual_batches(user):
    return annual_batches_for(user).order_by("-year", "agency__pk").annotate(
        institution_count=Count("rows"), deposit_total=Sum("rows__deposit_total"), released=Sum("rows__released"),
        forfeited=Sum("rows__forfeited"),
    )


class AnnualBatchListApi(ListApi):
    @extend_schema(parameters=[s.AnnualBatchFilterSerializer], responses=s.AnnualBatchOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.AnnualBatchFilterSerializer, request.query_params)
        qs = _annual_batches(request.user)
        if filters.get("year"):
            qs = qs.filter(year=filters["year"])
        if filters.get("agency"):
            qs = qs.filter(agency_id=filters["agency"])
        return self.paginated(qs, s.AnnualBatchOutputSerializer)


class AnnualApproveApi(APIView):
    parser_classes = PARSERS

    @extend_schema(request=s.AnnualApproveInputSerializer, responses={200: s.AnnualApproveOutputSerializer, **ERRORS})
    def post(self, request):
        """Approve an agency's year: every month of the year approved first, every institution scored;
        the year is recomputed under its lock and frozen (a second approval is a 409)."""
        data = _validated(s.AnnualApproveInputSerializer, request.data)
        agency, year = _agency(request, data.get("agency")), data["year"]
        result = settlement_annual_approve(
            year=year, agency=agency, actor=request.user, expected_released=data.get("expected_released")
        )
        batch = _annual_batches(request.user).get(year=year, agency=agency)
        message = (
            f"{agency.name}{year}年度的质量保证金结算已审批并冻结：{result.rows} 家协议机构，"
            f"保证金总额 {result.deposit_total}，返还 {result.released}，扣留 {result.forfeited}。"
        )
        return Response(s.AnnualApproveOutputSerializer({"message": message, "batch": batch}).data)


class AnnualRunCreateApi(APIView):
    parser_classes = PARSERS

    @extend_schema(request=s.AnnualRunCreateInputSerializer, responses={202: s.RunOutputSerializer, **ERRORS})
    def post(self, request):
        """Queue the year-end run (followed at settlements/runs/{id}/, like a month's)."""
        data = _validated(s.AnnualRunCreateInputSerializer, request.data)
        year = data["year"]
        require_year_over(year)  # refuse now with the reason, not later as a failed run
        pk = data.get("agency")
        agency = get_object_or_404(agencies_for(request.user), pk=pk) if pk is not None else None
        run = run_request(kind=RunKind.ANNUAL, period=date(year, 1, 1), actor=request.user, agency=agency, trigger="api")
        # Read it again: without a broker the run may already have finished in this request.
        run = selectors.runs_for(request.user).get(pk=run.pk)
        response = Response(_run(run), status=status.HTTP_202_ACCEPTED)
        response["Location"] = reverse("api:settlement-run-detail", args=[run.pk])
        return response
