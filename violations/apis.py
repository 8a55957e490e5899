"""Placeholder: filled in by the API work."""

from rest_framework.views import APIView


class CaseListApi(APIView):
    pass


class CaseStatisticsApi(APIView):
    pass


class CaseDetailApi(APIView):
    pass


class CaseActionApi(APIView):
    pass


class CaseExplanationApi(APIView):
    pass


class CaseEvidenceApi(APIView):
    pass


class RectificationReportApi(APIView):
    pass


class MeasureListApi(APIView):
    pass


class PublicListingsApi(APIView):
    pass

