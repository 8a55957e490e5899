"""Declaration, review and settlement API under /api/ (namespace "api"). Every name here must be
listed in core.permissions.URL_ROLES."""

from django.urls import path

from . import apis

urlpatterns = [
    path("declarations/", apis.DeclarationListApi.as_view(), name="declaration-list"),
    path("declarations/<int:pk>/", apis.DeclarationDetailApi.as_view(), name="declaration-detail"),
    path("declarations/lines/", apis.DeclarationLinesApi.as_view(), name="declaration-lines"),
    path("declarations/import/", apis.DeclarationImportApi.as_view(), name="declaration-import"),
    path("declarations/imports/<int:pk>/", apis.DeclarationImportDetailApi.as_view(), name="declaration-import-detail"),
    path("lines/", apis.LineListApi.as_view(), name="line-list"),
    path("lines/approve-pending/", apis.LinesApprovePendingApi.as_view(), name="lines-approve-pending"),
    path("lines/<int:pk>/", apis.LineDetailApi.as_view(), name="line-detail"),
    path("lines/<int:pk>/decision/", apis.LineDecisionApi.as_view(), name="line-decision"),
    path("review-reasons/", apis.ReviewReasonListApi.as_view(), name="review-reasons"),
    path("settlements/", apis.SettlementListApi.as_view(), name="settlement-list"),
    path("settlements/<int:pk>/", apis.SettlementDetailApi.as_view(), name="settlement-detail"),
    path("settlements/<int:pk>/statement/", apis.SettlementStatementApi.as_view(), name="settlement-statement"),
    path("settlements/months/", apis.MonthBatchListApi.as_view(), name="settlement-months"),
    path("settlements/months/approve/", apis.MonthApproveApi.as_view(), name="settlement-approve"),
    path("settlements/runs/", apis.RunCreateApi.as_view(), name="settlement-runs"),
    path("settlements/runs/<int:pk>/", apis.RunDetailApi.as_view(), name="settlement-run-detail"),
    path("settlements/export/", apis.SettlementExportApi.as_view(), name="settlement-export"),
    path("settlements/summary/", apis.SettlementSummaryApi.as_view(), name="settlement-summary"),
    path("settlements/adjustments/", apis.AdjustmentListApi.as_view(), name="settlement-adjustments"),
    path("settlements/deductions/", apis.DeductionListApi.as_view(), name="settlement-deductions"),
    path("settlements/holds/", apis.HoldListApi.as_view(), name="settlement-holds"),
    path("settlements/holds/<int:pk>/lift/", apis.HoldLiftApi.as_view(), name="settlement-hold-lift"),
    # year-end (issue 5); its runs are followed at settlements/runs/<pk>/ like a month's
    path("annual-applications/", apis.AnnualApplicationListApi.as_view(), name="annual-application-list"),
    path("annual-applications/<int:pk>/", apis.AnnualApplicationDetailApi.as_view(), name="annual-application-detail"),
    path("annual-applications/<int:pk>/decision/", apis.AnnualApplicationDecisionApi.as_view(), name="annual-application-decision"),
    path("scores/", apis.ScoreListApi.as_view(), name="score-list"),
    path("scores/import/", apis.ScoreImportApi.as_view(), name="score-import"),
    path("scores/<int:year>/<int:institution>/", apis.ScoreDetailApi.as_view(), name="score-detail"),
    path("annual-settlements/", apis.AnnualSettlementListApi.as_view(), name="annual-settlement-list"),
    path("annual-settlements/<int:pk>/", apis.AnnualSettlementDetailApi.as_view(), name="annual-settlement-detail"),
    path("annual-settlements/<int:pk>/statement/", apis.AnnualSettlementStatementApi.as_view(), name="annual-settlement-statement"),
    path("annual-settlements/export/", apis.AnnualSettlementExportApi.as_view(), name="annual-settlement-export"),
    path("annual-settlements/summary/", apis.AnnualSettlementSummaryApi.as_view(), name="annual-settlement-summary"),
    path("annual-settlements/years/", apis.AnnualBatchListApi.as_view(), name="annual-settlement-years"),
    path("annual-settlements/years/approve/", apis.AnnualApproveApi.as_view(), name="annual-settlement-approve"),
    path("annual-settlements/runs/", apis.AnnualRunCreateApi.as_view(), name="annual-settlement-runs"),
]
