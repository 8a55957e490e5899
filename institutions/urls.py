from django.urls import path

from . import views

app_name = "institutions"

urlpatterns = [
    path("", views.institution_list, name="list"),
    path("mine/", views.institution_mine, name="mine"),
    path("<int:pk>/", views.institution_detail, name="detail"),
    path("<int:pk>/verify/", views.institution_verify, name="verify"),
    path("import/", views.registry_import_view, name="import"),
    path("export/", views.registry_export_view, name="export"),
    path("agencies/", views.agency_list, name="agency_list"),
    path("filings/", views.filing_list, name="filing_list"),
    path("filings/new/<int:institution_pk>/", views.filing_create, name="filing_create"),
    path("filings/<int:pk>/", views.filing_detail, name="filing_detail"),
    path("filings/<int:pk>/decide/", views.filing_decide, name="filing_decide"),
    path("applications/", views.application_list, name="application_list"),
    path("applications/new/", views.application_create, name="application_create"),
    path("applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("applications/<int:pk>/advance/", views.application_advance_view, name="application_advance"),
    path("applications/<int:pk>/materials/", views.application_material, name="application_material"),
    path("materials/<int:pk>/", views.material_download, name="material_download"),
]
