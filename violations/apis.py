"""Violation case API (issue 6 §6), in the style of institutions/apis.py and agreements/apis.py:
each view validates input, calls one selector or service and renders the result. Who may call a
URL is decided by core.permissions.URL_ROLES; what they see by the scoped selectors (cases_for),
so a foreign id is a 404 and never a 403. Every case action goes through
services.actions.perform_case_action, the same dispatcher as the page; the services check every
rule (four eyes, the explanation deadline, the fine's bounds, the legal basis…). Domain errors
come out through core.api as {"code", "message", "detail"} (400/403/404/409)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agreements.selectors import agreements_for
from core.errors import NotFound
from institutions.apis import ListApi, ObjectApi, _validated
from institutions.selectors import institutions_for
from settlement.apis import PARSERS, ExactJSONParser
from settlement.selectors import lines_for

from . import selectors
from . import serializers as s
from .models import Measure, Rectification
from .services.actions import perform_case_action
from .services.cases import case_add_evidence, case_explain, case_open, rectification_report

ERRORS = {
    400: OpenApiResponse(
        description="规则不允许（如罚款超出骗取金额2至5倍 fine_out_of_bounds、未写明依据 legal_basis_required、"
        "说明期限未满 awaiting_explanation、协议已解除 agreement_terminated）或输入有误（invalid）：{code, message, detail}"
    ),
    403: OpenApiResponse(description="无权办理（如立案人不能决定 four_eyes、不在管辖范围 out_of_scope）：{code, message, detail}"),
    404: OpenApiResponse(description="不存在或不在调用者的范围内：{code, message, detail}"),
    409: OpenApiResponse(description="案件在读取后已变化（code = stale）：{code, message, detail}"),
}


def _cases(user):
    return selectors.cases_for(user)


def _case_detail(user):
    """The case with what its detail renders, fetched up front (evidence and events come through
    the selectors, which decide what the caller may read)."""
    return _cases(user).select_related("explained_by", "closed_by").prefetch_related(
        "lines__declaration", "measures__measure", "rectifications__verified_by", "appeals__recorded_by"
    )


def _detail(user, pk) -> dict:
    case = _case_detail(user).get(pk=pk)
    return s.CaseDetailOutputSerializer(case, context={"user": user}).data


def _rectifications(user):
    """Rectifications of the caller's cases (a foreign one is a 404)."""
    return Rectification.objects.filter(case__in=_cases(user)).select_related("case", "verified_by")


class CaseListApi(ListApi):
    parser_classes = PARSERS

    @extend_schema(parameters=[s.CaseFilterSerializer], responses=s.CaseListOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.CaseFilterSerializer, request.query_params)
        return self.paginated(selectors.case_queue(user=request.user, filters=filters), s.CaseListOutputSerializer)

    @extend_schema(request=s.CaseCreateInputSerializer, responses={201: s.CaseDetailOutputSerializer, **ERRORS})
    def post(self, request):
        data = _validated(s.CaseCreateInputSerializer, request.data)
        inst = get_object_or_404(institutions_for(request.user), pk=data["institution"])
        agreement = None
        if data.get("agreement") is not None:
            agreement = get_object_or_404(agreements_for(request.user), pk=data["agreement"])
        wanted = set(data["lines"])
        lines = list(lines_for(request.user).filter(pk__in=wanted))
        if len(lines) != len(wanted):
            raise NotFound("所选申报明细不存在或不在您的范围内。", detail={"lines": sorted(wanted - {line.pk for line in lines})})
        case = case_open(
            institution=inst, agreement=agreement, source=data["source"], title=data["title"],
            description=data["description"], lines=lines, actor=request.user,
        )
        return Response(_detail(request.user, case.pk), status=status.HTTP_201_CREATED)


class CaseApi(ObjectApi):
    scope = staticmethod(_cases)


class CaseDetailApi(CaseApi):
    scope = staticmethod(_case_detail)

    @extend_schema(responses={200: s.CaseDetailOutputSerializer, 404: ERRORS[404]})
    def get(self, request, pk):
        return Response(s.CaseDetailOutputSerializer(self.get_object(), context={"user": request.user}).data)


class CaseActionApi(CaseApi):
    parser_classes = PARSERS

    @extend_schema(request=s.CaseActionInputSerializer, responses={200: s.CaseActionOutputSerializer, **ERRORS})
    def post(self, request, pk):
        case = self.get_object()
        data = _validated(s.CaseActionInputSerializer, request.data)
        message = perform_case_action(case=case, actor=request.user, action=data["action"], data=data)
        case = _case_detail(request.user).get(pk=case.pk)
        return Response(s.CaseActionOutputSerializer({"message": message, "case": case}, context={"user": request.user}).data)


class CaseExplanationApi(CaseApi):
    """The institution's answer to the notice: JSON {explanation}, or multipart with its files."""

    parser_classes = [ExactJSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={"application/json": s.CaseExplanationInputSerializer, "multipart/form-data": s.CaseExplanationInputSerializer},
        responses={200: s.CaseDetailOutputSerializer, **ERRORS},
    )
    def post(self, request, pk):
        case = self.get_object()
        data = _validated(s.CaseExplanationInputSerializer, request.data)
        case_explain(case=case, explanation=data["explanation"], attachments=data["files"], actor=request.user,
                     expected_revision=data.get("expected_revision"))
        return Response(_detail(request.user, case.pk))


class CaseEvidenceApi(CaseApi):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.EvidenceInputSerializer},
        responses={201: s.EvidenceOutputSerializer, **ERRORS},
    )
    def post(self, request, pk):
        case = self.get_object()
        data = _validated(s.EvidenceInputSerializer, request.data)
        evidence = case_add_evidence(case=case, upload=data["file"], note=data["note"], actor=request.user)
        return Response(s.EvidenceOutputSerializer(evidence).data, status=status.HTTP_201_CREATED)


class RectificationReportApi(ObjectApi):
    scope = staticmethod(_rectifications)
    parser_classes = PARSERS

    @extend_schema(request=s.RectificationReportInputSerializer, responses={200: s.RectificationOutputSerializer, **ERRORS})
    def post(self, request, pk):
        rectification = self.get_object()
        data = _validated(s.RectificationReportInputSerializer, request.data)
        rectification = rectification_report(rectification=rectification, report=data["report"], actor=request.user)
        return Response(s.RectificationOutputSerializer(self.get_object()).data)


class CaseStatisticsApi(APIView):
    @extend_schema(parameters=[s.StatisticsFilterSerializer], responses=s.StatisticsOutputSerializer)
    def get(self, request):
        filters = _validated(s.StatisticsFilterSerializer, request.query_params)
        year = filters.get("year")
        stats = selectors.statistics(user=request.user, year=year)
        return Response(s.StatisticsOutputSerializer({**stats, "year": year}).data)


class MeasureListApi(APIView):
    """The measures a decision may take, each citing its article (data, maintained in the admin)."""

    @extend_schema(responses=s.MeasureOutputSerializer(many=True))
    def get(self, request):
        # Not scoped data: the same measures for everyone (as the review reasons in settlement/apis.py).
        return Response(s.MeasureOutputSerializer(Measure.objects.filter(active=True), many=True).data)


class PublicListingsApi(APIView):
    """M§43, R§28, D§30: terminated agreements and seriously dishonest entities — no login needed."""

    permission_classes = [AllowAny]

    @extend_schema(auth=[], responses=s.PublicListingsOutputSerializer)
    def get(self, request):
        return Response(s.PublicListingsOutputSerializer(selectors.public_listings()).data)
