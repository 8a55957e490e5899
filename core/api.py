"""API error shape: {"code", "message", "detail"} for domain errors and DRF's own."""

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response({"code": exc.code, "message": exc.message, "detail": exc.detail}, status=exc.status)
    if isinstance(exc, Http404):
        return Response({"code": "not_found", "message": "未找到。", "detail": {}}, status=status.HTTP_404_NOT_FOUND)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        message = "提交的数据有误。"
        code = "invalid"
    else:
        message = str(getattr(exc, "detail", exc))
        code = getattr(exc, "default_code", "error")
    response.data = {"code": code, "message": message, "detail": response.data}
    return response
