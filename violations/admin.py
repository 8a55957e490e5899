"""Admin: the measures are data the administrator maintains; cases change only through their
services (read-only here)."""

from django.contrib import admin

from . import models as m


@admin.register(m.Measure)
class MeasureAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "article", "score_points", "active", "position")
    list_editable = ("active", "position", "score_points")


@admin.register(m.Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("number", "institution", "source", "title", "status", "opened_by", "opened_at", "decided_by")
    list_filter = ("status", "source")
    search_fields = ("number", "title", "institution__name")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
