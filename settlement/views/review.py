"""Placeholder: filled in by the pages work."""

from django.http import HttpResponse


def review(request, **kwargs):
    return HttpResponse("not yet", status=501)


def bulk_approve(request, **kwargs):
    return HttpResponse("not yet", status=501)


def line_decide(request, **kwargs):
    return HttpResponse("not yet", status=501)

