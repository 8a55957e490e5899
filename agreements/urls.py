"""Agreement pages. Every name here must be listed in core.permissions.URL_ROLES."""

from django.urls import path

from . import views

app_name = "agreements"

urlpatterns = [
    path("", views.agreement_list, name="list"),
    path("new/", views.agreement_create, name="create"),
    path("terminations/", views.public_terminations, name="public_terminations"),
    path("<int:pk>/", views.agreement_detail, name="detail"),
    path("<int:pk>/act/", views.agreement_act, name="act"),
    path("<int:pk>/term/", views.agreement_complete_term, name="complete_term"),
    path("<int:pk>/pdf/", views.agreement_pdf_download, name="pdf"),
    path("<int:pk>/scans/", views.scan_upload, name="scan_upload"),
    path("scans/<int:pk>/", views.scan_download, name="scan_download"),
]
