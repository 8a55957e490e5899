"""Placeholder: filled in by the pages work."""

from django.http import HttpResponse


def case_list(request, **kwargs):
    return HttpResponse("not yet", status=501)


def case_new(request, **kwargs):
    return HttpResponse("not yet", status=501)


def statistics(request, **kwargs):
    return HttpResponse("not yet", status=501)


def public_list(request, **kwargs):
    return HttpResponse("not yet", status=501)


def case_detail(request, **kwargs):
    return HttpResponse("not yet", status=501)


def case_act(request, **kwargs):
    return HttpResponse("not yet", status=501)


def evidence_upload(request, **kwargs):
    return HttpResponse("not yet", status=501)


def explain(request, **kwargs):
    return HttpResponse("not yet", status=501)


def evidence_download(request, **kwargs):
    return HttpResponse("not yet", status=501)


def rectification_report(request, **kwargs):
    return HttpResponse("not yet", status=501)

