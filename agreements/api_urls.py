"""Agreement API routes under /api/ (namespace "api"). Every name here must be listed in
core.permissions.URL_ROLES."""

from django.urls import path

from . import apis

urlpatterns = [
    path("agreements/", apis.AgreementListApi.as_view(), name="agreement-list"),
    path("agreements/terminations/", apis.TerminationListApi.as_view(), name="agreement-terminations"),
    path("agreements/<int:pk>/", apis.AgreementDetailApi.as_view(), name="agreement-detail"),
    path("agreements/<int:pk>/actions/", apis.AgreementActionApi.as_view(), name="agreement-action"),
    path("agreements/<int:pk>/pdf/", apis.AgreementPdfApi.as_view(), name="agreement-pdf"),
    path("agreements/<int:pk>/scans/", apis.AgreementScansApi.as_view(), name="agreement-scans"),
]
