"""Violation case API under /api/ (namespace "api"). Every name here must be listed in core.permissions.URL_ROLES."""

from django.urls import path

from . import apis

urlpatterns = [
    path("cases/", apis.CaseListApi.as_view(), name="case-list"),
    path("cases/statistics/", apis.CaseStatisticsApi.as_view(), name="case-statistics"),
    path("cases/<int:pk>/", apis.CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<int:pk>/actions/", apis.CaseActionApi.as_view(), name="case-action"),
    path("cases/<int:pk>/explanation/", apis.CaseExplanationApi.as_view(), name="case-explanation"),
    path("cases/<int:pk>/evidence/", apis.CaseEvidenceApi.as_view(), name="case-evidence"),
    path("rectifications/<int:pk>/report/", apis.RectificationReportApi.as_view(), name="rectification-report"),
    path("measures/", apis.MeasureListApi.as_view(), name="measure-list"),
    path("public/violations/", apis.PublicListingsApi.as_view(), name="public-violations"),
]
