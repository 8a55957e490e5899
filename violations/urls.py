"""Violation case pages. Every name here must be listed in core.permissions.URL_ROLES."""

from django.urls import path

from . import views

app_name = "violations"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("statistics/", views.statistics, name="statistics"),
    path("public/", views.public_list, name="public"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/act/", views.case_act, name="act"),
    path("<int:pk>/evidence/", views.evidence_upload, name="evidence_upload"),
    path("<int:pk>/explain/", views.explain, name="explain"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence_download"),
    path("rectifications/<int:pk>/report/", views.rectification_report, name="rectification_report"),
]
