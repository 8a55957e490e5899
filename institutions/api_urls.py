"""API routes under /api/ (namespace "api"). Every name here must be listed in core.permissions.URL_ROLES.

The audit trail and `me` live in their own apps' apis.py but are routed here, so that all of
the API's names sit in one list next to each other.
"""

from django.urls import path

from accounts.apis import MeApi
from audit.apis import AuditListApi

from . import apis

urlpatterns = [
    path("me/", MeApi.as_view(), name="me"),
    path("agencies/", apis.AgencyListApi.as_view(), name="agency-list"),
    path("agencies/<int:pk>/", apis.AgencyDetailApi.as_view(), name="agency-detail"),
    path("institutions/", apis.InstitutionListApi.as_view(), name="institution-list"),
    path("institutions/<int:pk>/", apis.InstitutionDetailApi.as_view(), name="institution-detail"),
    path("institutions/<int:pk>/history/", apis.InstitutionHistoryApi.as_view(), name="institution-history"),
    path("institutions/<int:pk>/verify/", apis.InstitutionVerifyApi.as_view(), name="institution-verify"),
    path("registry/import/", apis.RegistryImportApi.as_view(), name="registry-import"),
    path("registry/export/", apis.RegistryExportApi.as_view(), name="registry-export"),
    path("filings/", apis.FilingListApi.as_view(), name="filing-list"),
    path("filings/<int:pk>/", apis.FilingDetailApi.as_view(), name="filing-detail"),
    path("filings/<int:pk>/approve/", apis.FilingApproveApi.as_view(), name="filing-approve"),
    path("filings/<int:pk>/reject/", apis.FilingRejectApi.as_view(), name="filing-reject"),
    path("applications/", apis.ApplicationListApi.as_view(), name="application-list"),
    path("applications/<int:pk>/", apis.ApplicationDetailApi.as_view(), name="application-detail"),
    path("applications/<int:pk>/advance/", apis.ApplicationAdvanceApi.as_view(), name="application-advance"),
    path("applications/<int:pk>/materials/", apis.ApplicationMaterialsApi.as_view(), name="application-materials"),
    path("audit/", AuditListApi.as_view(), name="audit-list"),
]
