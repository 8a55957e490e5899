"""Declaration, review and settlement pages. Every name here must be listed in core.permissions.URL_ROLES."""

from django.urls import path, register_converter

from .converters import MonthConverter
from .views import annual, declarations, review, settlements

register_converter(MonthConverter, "month")

app_name = "settlement"

urlpatterns = [
    # institutions declare (staff may declare for an institution of theirs, marked 逾期 when late)
    path("declarations/", declarations.declaration_list, name="declaration_list"),
    path("declarations/new/", declarations.declaration_new, name="declaration_new"),
    path("declarations/upload/", declarations.declaration_upload, name="declaration_upload"),
    path("declarations/template.<str:fmt>", declarations.template_download, name="template_download"),
    path("declarations/<int:pk>/", declarations.declaration_detail, name="declaration_detail"),
    path("imports/", declarations.import_list, name="import_list"),
    path("imports/<int:pk>/", declarations.import_detail, name="import_detail"),
    path("lines/<int:pk>/", declarations.line_detail, name="line_detail"),
    path("lines/<int:pk>/withdraw/", declarations.line_withdraw, name="line_withdraw"),
    # agency staff review
    path("review/", review.review, name="review"),
    path("review/approve-pending/", review.bulk_approve, name="bulk_approve"),
    path("lines/<int:pk>/decide/", review.line_decide, name="line_decide"),
    # month-end settlement, statements, documents
    path("months/", settlements.month_list, name="month_list"),
    path("months/<month:period>/", settlements.month_detail, name="month"),
    path("months/<month:period>/run/", settlements.run_start, name="run_start"),
    path("months/<month:period>/approve/", settlements.approve, name="approve"),
    path("months/<month:period>/export/", settlements.month_export, name="month_export"),
    path("months/<month:period>/summary/", settlements.month_summary, name="month_summary"),
    path("runs/<int:pk>/", settlements.run_status, name="run_status"),
    path("statements/", settlements.statement_list, name="statement_list"),
    path("statements/<int:pk>/", settlements.statement_detail, name="statement"),
    path("statements/<int:pk>/pdf/", settlements.statement_pdf, name="statement_pdf"),
    path("statements/<int:pk>/adjust/", settlements.adjustment_new, name="adjustment_new"),
    path("receivables/", settlements.receivables, name="receivables"),
    path("receivables/deductions/new/", settlements.deduction_new, name="deduction_new"),
    path("receivables/holds/new/", settlements.hold_new, name="hold_new"),
    path("receivables/holds/<int:pk>/lift/", settlements.hold_lift, name="hold_lift"),
    # year-end: applications, scores, the deposit release
    path("annual/", annual.annual_list, name="annual_list"),
    path("annual/<int:year>/", annual.annual_year, name="annual_year"),
    path("annual/<int:year>/run/", annual.annual_run_start, name="annual_run_start"),
    path("annual/<int:year>/approve/", annual.annual_approve, name="annual_approve"),
    path("annual/<int:year>/export/", annual.annual_export, name="annual_export"),
    path("annual/<int:year>/summary/", annual.annual_summary, name="annual_summary"),
    path("annual/<int:year>/scores/", annual.score_list, name="score_list"),
    path("annual/<int:year>/scores/import/", annual.score_import, name="score_import"),
    path("annual/<int:year>/scores/<int:institution>/", annual.score_detail, name="score_detail"),
    path("annual/<int:year>/scores/<int:institution>/edit/", annual.score_edit, name="score_edit"),
    path("annual/statements/", annual.annual_statement_list, name="annual_statement_list"),
    path("annual/statements/<int:pk>/", annual.annual_statement, name="annual_statement"),
    path("annual/statements/<int:pk>/pdf/", annual.annual_statement_pdf, name="annual_statement_pdf"),
    path("annual/applications/", annual.application_list, name="application_list"),
    path("annual/applications/new/", annual.application_new, name="application_new"),
    path("annual/applications/<int:pk>/", annual.application_detail, name="application_detail"),
    path("annual/applications/<int:pk>/decide/", annual.application_decide, name="application_decide"),
    path("annual/materials/<int:pk>/", annual.material_download, name="annual_material"),
]
