"""Placeholder: filled in by the API work."""

from rest_framework.views import APIView


class DeclarationListApi(APIView):
    pass


class DeclarationDetailApi(APIView):
    pass


class DeclarationLinesApi(APIView):
    pass


class DeclarationImportApi(APIView):
    pass


class DeclarationImportDetailApi(APIView):
    pass


class LineListApi(APIView):
    pass


class LinesApprovePendingApi(APIView):
    pass


class LineDetailApi(APIView):
    pass


class LineDecisionApi(APIView):
    pass


class ReviewReasonListApi(APIView):
    pass


class SettlementListApi(APIView):
    pass


class SettlementDetailApi(APIView):
    pass


class SettlementStatementApi(APIView):
    pass


class MonthBatchListApi(APIView):
    pass


class MonthApproveApi(APIView):
    pass


class RunCreateApi(APIView):
    pass


class RunDetailApi(APIView):
    pass


class SettlementExportApi(APIView):
    pass


class SettlementSummaryApi(APIView):
    pass


class AdjustmentListApi(APIView):
    pass


class DeductionListApi(APIView):
    pass


class HoldListApi(APIView):
    pass


class HoldLiftApi(APIView):
    pass

