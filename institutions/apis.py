"""Registry API (HackSoft style): each view validates input, calls one selector or service and
renders the result. Who may call which URL is decided by core.permissions.URL_ROLES; what they
see is decided by the scoped selectors, so a foreign id is a 404 and never a 403. Domain errors
(core.errors.ApplicationError) become {"code", "message", "detail"} in core.api."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from audit.apis import LogEntryOutputSerializer
from audit.selectors import history_for
from core.cli import parse_month

from . import selectors
from . import serializers as s
from .services import applications as application_services
from .services import filings as filing_services
from .services.registry_export import registry_export
from .services.registry_import import registry_import
from .services.verification import institution_mark_verified

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ListApi(APIView):
    # A plain APIView has no pagination; declaring the class lets drf-spectacular document the
    # {count, next, previous, results} envelope that paginated() returns.
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    def paginated(self, queryset, serializer_class) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


class ObjectApi(APIView):
    """A URL naming one object (<pk>). `scope(user)` is the caller's queryset from the selectors."""

    scope = None

    def get_object(self):
        return get_object_or_404(self.scope(self.request.user), pk=self.kwargs["pk"])

    def permission_denied(self, request, message=None, code=None):
        # A role refused by URL_ROLES still gets 404 for an id outside its scope, so that a
        # foreign id answers the same on every route; only its own objects get the 403.
        if request.user.is_authenticated:
            self.get_object()
        super().permission_denied(request, message=message, code=code)


# ---- agencies ----------------------------------------------------------------------------------


class AgencyListApi(ListApi):
    @extend_schema(responses=s.AgencyOutputSerializer(many=True))
    def get(self, request):
        return self.paginated(selectors.agencies_for(request.user), s.AgencyOutputSerializer)


class AgencyDetailApi(ObjectApi):
    scope = staticmethod(selectors.agencies_for)

    @extend_schema(responses=s.AgencyOutputSerializer)
    def get(self, request, pk):
        return Response(s.AgencyOutputSerializer(self.get_object()).data)


# ---- institutions ------------------------------------------------------------------------------


def _institutions(user):
    return selectors.institutions_for(user).prefetch_related("designations__agency")


class InstitutionApi(ObjectApi):
    scope = staticmethod(_institutions)


class InstitutionListApi(ListApi):
    @extend_schema(parameters=[s.InstitutionFilterSerializer], responses=s.InstitutionListOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.InstitutionFilterSerializer, request.query_params)
        qs = selectors.institution_list(user=request.user, filters=filters)
        return self.paginated(qs, s.InstitutionListOutputSerializer)


class InstitutionDetailApi(InstitutionApi):
    @extend_schema(responses=s.InstitutionDetailOutputSerializer)
    def get(self, request, pk):
        return Response(s.InstitutionDetailOutputSerializer(self.get_object()).data)


class InstitutionHistoryApi(ListApi, InstitutionApi):
    @extend_schema(responses=LogEntryOutputSerializer(many=True))
    def get(self, request, pk):
        inst = self.get_object()
        # The same objects as the history on the institution page.
        entries = history_for(inst, inst.legal_entity, *inst.designations.all(), *inst.filings.all())
        return self.paginated(entries, LogEntryOutputSerializer)


class InstitutionVerifyApi(InstitutionApi):
    @extend_schema(request=s.NoteInputSerializer, responses=s.InstitutionDetailOutputSerializer)
    def post(self, request, pk):
        inst = self.get_object()
        data = _validated(s.NoteInputSerializer, request.data)
        institution_mark_verified(institution=inst, note=data["note"], actor=request.user)
        return Response(s.InstitutionDetailOutputSerializer(self.get_object()).data)


# ---- registry tables ---------------------------------------------------------------------------


class RegistryImportApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.RegistryImportInputSerializer},
        responses={
            200: s.ImportReportOutputSerializer,
            400: OpenApiResponse(description="文件被拒绝（整个文件未导入）：{code, message, detail}"),
        },
    )
    def post(self, request):
        data = _validated(s.RegistryImportInputSerializer, request.data)
        upload = data["file"]
        report = registry_import(
            fh=upload.open("rb"), type_=data["type"], name=upload.name,
            as_of=parse_month(data["as_of"]) if data.get("as_of") else None, actor=request.user,
        )
        return Response(s.ImportReportOutputSerializer(report.as_dict()).data)


class _FileTypeNegotiation(DefaultContentNegotiation):
    """Here `?format=` names the exported file type, not one of DRF's renderers (its default
    URL_FORMAT_OVERRIDE would answer 404 for format=csv). Error bodies stay JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class RegistryExportApi(APIView):
    content_negotiation_class = _FileTypeNegotiation

    @extend_schema(
        parameters=[s.RegistryExportInputSerializer],
        responses={(200, media.split(";")[0]): OpenApiTypes.BINARY for media in CONTENT_TYPES.values()},
    )
    def get(self, request):
        data = _validated(s.RegistryExportInputSerializer, request.query_params)
        type_, fmt = data["type"], data["format"]
        # Scoped: a city agency exports only the institutions it may see.
        content = registry_export(type_=type_, fmt=fmt, institutions=selectors.institutions_for(request.user))
        response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
        filename = f"registry_{type_}_{timezone.localdate():%Y-%m-%d}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


# ---- change filings ----------------------------------------------------------------------------


class FilingListApi(ListApi):
    @extend_schema(parameters=[s.FilingFilterSerializer], responses=s.FilingOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.FilingFilterSerializer, request.query_params)
        filings = selectors.filings_for(request.user)
        if filters.get("status"):
            filings = filings.filter(status=filters["status"])
        return self.paginated(filings, s.FilingOutputSerializer)

    @extend_schema(request=s.FilingCreateInputSerializer, responses={201: s.FilingOutputSerializer})
    def post(self, request):
        data = _validated(s.FilingCreateInputSerializer, request.data)
        inst = get_object_or_404(selectors.institutions_for(request.user), pk=data["institution"])
        filing = filing_services.filing_submit(
            institution=inst, changes=data["changes"], reason=data["reason"],
            effective_date=data.get("effective_date"), actor=request.user,
        )
        return Response(s.FilingOutputSerializer(filing).data, status=status.HTTP_201_CREATED)


class FilingApi(ObjectApi):
    scope = staticmethod(selectors.filings_for)


class FilingDetailApi(FilingApi):
    @extend_schema(responses=s.FilingOutputSerializer)
    def get(self, request, pk):
        return Response(s.FilingOutputSerializer(self.get_object()).data)


class FilingApproveApi(FilingApi):
    @extend_schema(request=s.NoteInputSerializer, responses=s.FilingOutputSerializer)
    def post(self, request, pk):
        filing = self.get_object()
        data = _validated(s.NoteInputSerializer, request.data)
        filing = filing_services.filing_approve(filing=filing, actor=request.user, note=data["note"])
        return Response(s.FilingOutputSerializer(filing).data)


class FilingRejectApi(FilingApi):
    @extend_schema(request=s.NoteInputSerializer, responses=s.FilingOutputSerializer)
    def post(self, request, pk):
        filing = self.get_object()
        data = _validated(s.NoteInputSerializer, request.data)
        filing = filing_services.filing_reject(filing=filing, actor=request.user, note=data["note"])
        return Response(s.FilingOutputSerializer(filing).data)


# ---- new designations --------------------------------------------------------------------------


class ApplicationListApi(ListApi):
    @extend_schema(parameters=[s.ApplicationFilterSerializer], responses=s.ApplicationOutputSerializer(many=True))
    def get(self, request):
        filters = _validated(s.ApplicationFilterSerializer, request.query_params)
        apps = selectors.applications_for(request.user)
        if filters.get("status"):
            apps = apps.filter(status=filters["status"])
        return self.paginated(apps, s.ApplicationOutputSerializer)

    @extend_schema(request=s.ApplicationCreateInputSerializer, responses={201: s.ApplicationDetailOutputSerializer})
    def post(self, request):
        data = _validated(s.ApplicationCreateInputSerializer, request.data)
        app = application_services.application_submit(actor=request.user, data=dict(data))
        return Response(s.ApplicationDetailOutputSerializer(app).data, status=status.HTTP_201_CREATED)


class ApplicationApi(ObjectApi):
    scope = staticmethod(selectors.applications_for)


class ApplicationDetailApi(ApplicationApi):
    @extend_schema(responses=s.ApplicationDetailOutputSerializer)
    def get(self, request, pk):
        return Response(s.ApplicationDetailOutputSerializer(self.get_object()).data)


class ApplicationAdvanceApi(ApplicationApi):
    @extend_schema(request=s.ApplicationAdvanceInputSerializer, responses=s.ApplicationDetailOutputSerializer)
    def post(self, request, pk):
        app = self.get_object()
        data = _validated(s.ApplicationAdvanceInputSerializer, request.data)
        app = application_services.application_advance(
            application=app, action=data["action"], actor=request.user, note=data["note"],
            expected_status=data["expected_status"] or None,
        )
        return Response(s.ApplicationDetailOutputSerializer(app).data)


class ApplicationMaterialsApi(ApplicationApi):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.MaterialInputSerializer}, responses={201: s.MaterialOutputSerializer}
    )
    def post(self, request, pk):
        app = self.get_object()
        data = _validated(s.MaterialInputSerializer, request.data)
        material = application_services.application_add_material(
            application=app, kind=data["kind"], upload=data["file"], actor=request.user
        )
        return Response(s.MaterialOutputSerializer(material).data, status=status.HTTP_201_CREATED)
