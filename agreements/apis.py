"""Agreement API (issue 3 §5), in the style of institutions/apis.py: each view validates input,
calls one selector or service and renders the result. Who may call a URL is decided by
core.permissions.URL_ROLES; what they see by agreements_for(user), so a foreign id is a 404.
Domain errors come out through core.api as {"code", "message", "detail"} (400/403/409)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from institutions.apis import ListApi, ObjectApi, _FileTypeNegotiation, _validated
from institutions.selectors import institutions_for

from . import selectors
from . import serializers as s
from .services.documents import agreement_pdf
from .services.drafting import agreement_create_draft
from .services.scans import agreement_upload_scan
from .views import perform_action

ERRORS = {
    400: OpenApiResponse(description="规则不允许（如未满30日通知期、签订前缺少必填项）：{code, message, detail}"),
    403: OpenApiResponse(description="角色无权办理：{code, message, detail}"),
    409: OpenApiResponse(description="协议在读取后已被修改（code = stale）或已有生效协议：{code, message, detail}"),
}


def _agreements(user):
    return selectors.agreements_for(user).select_related("predecessor")


def _detail(agreement):
    return s.AgreementDetailOutputSerializer(agreement).data


class AgreementListApi(ListApi):
    @extend_schema(parameters=[s.AgreementFilterSerializer], responses=s.AgreementListOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.AgreementFilterSerializer, request.query_params)
        return self.paginated(selectors.agreement_list(user=request.user, filters=filters), s.AgreementListOutputSerializer)

    @extend_schema(request=s.AgreementCreateInputSerializer, responses={201: s.AgreementDetailOutputSerializer, **ERRORS})
    def post(self, request):
        data = _validated(s.AgreementCreateInputSerializer, request.data)
        inst = get_object_or_404(institutions_for(request.user), pk=data["institution"])
        agreement = agreement_create_draft(
            institution=inst, type_=data["type"], actor=request.user, valid_from=data.get("valid_from"),
            valid_to=data.get("valid_to"), signed_on=data.get("signed_on"), leader_name=data["leader_name"],
            managers=data["managers"],
        )
        return Response(_detail(agreement), status=status.HTTP_201_CREATED)


class AgreementApi(ObjectApi):
    scope = staticmethod(_agreements)


class AgreementDetailApi(AgreementApi):
    @extend_schema(responses=s.AgreementDetailOutputSerializer)
    def get(self, request, pk):
        return Response(_detail(self.get_object()))


class AgreementActionApi(AgreementApi):
    @extend_schema(request=s.AgreementActionInputSerializer, responses={200: s.AgreementActionOutputSerializer, **ERRORS})
    def post(self, request, pk):
        agreement = self.get_object()
        data = _validated(s.AgreementActionInputSerializer, request.data)
        outcome = perform_action(agreement=agreement, actor=request.user, action=data["action"], data=data)
        fresh = _agreements(request.user).get(pk=outcome.agreement.pk)
        return Response(s.AgreementActionOutputSerializer({"message": outcome.message, "agreement": fresh}).data)


class AgreementPdfApi(AgreementApi):
    content_negotiation_class = _FileTypeNegotiation

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        agreement = self.get_object()
        response = HttpResponse(agreement_pdf(agreement), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{agreement.number}.pdf"'
        return response


class AgreementScansApi(AgreementApi):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": s.ScanInputSerializer},
                   responses={201: s.SignedScanOutputSerializer, 400: ERRORS[400]})
    def post(self, request, pk):
        agreement = self.get_object()
        data = _validated(s.ScanInputSerializer, request.data)
        scan = agreement_upload_scan(agreement=agreement, upload=data["file"], actor=request.user)
        return Response(s.SignedScanOutputSerializer(scan).data, status=status.HTTP_201_CREATED)


class TerminationListApi(ListApi):
    """M§43: the published terminations — no login needed."""

    permission_classes = [AllowAny]

    @extend_schema(auth=[], responses=s.TerminationOutputSerializer(many=True))
    def get(self, request):
        qs = selectors.public_terminations().select_related("bar")
        return self.paginated(qs, s.TerminationOutputSerializer)
