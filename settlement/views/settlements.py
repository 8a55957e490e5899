"""Placeholder: filled in by the pages work."""

from django.http import HttpResponse


def month_list(request, **kwargs):
    return HttpResponse("not yet", status=501)


def month_detail(request, **kwargs):
    return HttpResponse("not yet", status=501)


def run_start(request, **kwargs):
    return HttpResponse("not yet", status=501)


def approve(request, **kwargs):
    return HttpResponse("not yet", status=501)


def month_export(request, **kwargs):
    return HttpResponse("not yet", status=501)


def month_summary(request, **kwargs):
    return HttpResponse("not yet", status=501)


def run_status(request, **kwargs):
    return HttpResponse("not yet", status=501)


def statement_list(request, **kwargs):
    return HttpResponse("not yet", status=501)


def statement_detail(request, **kwargs):
    return HttpResponse("not yet", status=501)


def statement_pdf(request, **kwargs):
    return HttpResponse("not yet", status=501)


def adjustment_new(request, **kwargs):
    return HttpResponse("not yet", status=501)


def receivables(request, **kwargs):
    return HttpResponse("not yet", status=501)


def deduction_new(request, **kwargs):
    return HttpResponse("not yet", status=501)


def hold_new(request, **kwargs):
    return HttpResponse("not yet", status=501)


def hold_lift(request, **kwargs):
    return HttpResponse("not yet", status=501)

