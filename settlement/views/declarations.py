"""Placeholder: filled in by the pages work."""

from django.http import HttpResponse


def declaration_list(request, **kwargs):
    return HttpResponse("not yet", status=501)


def declaration_new(request, **kwargs):
    return HttpResponse("not yet", status=501)


def declaration_upload(request, **kwargs):
    return HttpResponse("not yet", status=501)


def template_download(request, **kwargs):
    return HttpResponse("not yet", status=501)


def declaration_detail(request, **kwargs):
    return HttpResponse("not yet", status=501)


def import_list(request, **kwargs):
    return HttpResponse("not yet", status=501)


def import_detail(request, **kwargs):
    return HttpResponse("not yet", status=501)


def line_detail(request, **kwargs):
    return HttpResponse("not yet", status=501)


def line_withdraw(request, **kwargs):
    return HttpResponse("not yet", status=501)

