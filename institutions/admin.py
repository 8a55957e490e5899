from django.contrib import admin

from .models import (
    ApplicationMaterial,
    ChangeFiling,
    Designation,
    DesignationApplication,
    HandlingAgency,
    Institution,
    LegalEntity,
)


@admin.register(HandlingAgency)
class HandlingAgencyAdmin(admin.ModelAdmin):
    list_display = ("name", "level", "division_code", "phone")
    list_filter = ("level",)
    search_fields = ("name", "division_code")


@admin.register(LegalEntity)
class LegalEntityAdmin(admin.ModelAdmin):
    list_display = ("uscc", "name", "uscc_valid", "uscc_problem")
    list_filter = ("uscc_valid",)
    search_fields = ("uscc", "name")


class DesignationInline(admin.TabularInline):
    model = Designation
    extra = 0
    fields = ("type", "agency", "seq_no", "as_of", "status", "designated_on")
    readonly_fields = ("seq_no", "as_of")


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "division_code", "grade", "ownership", "agency", "needs_verification")
    list_filter = ("needs_verification", "ownership", "agency", "designations__type")
    search_fields = ("code", "name", "legal_entity__uscc", "address")
    readonly_fields = ("code", "original", "created_at", "updated_at")
    autocomplete_fields = ("legal_entity", "agency")
    inlines = [DesignationInline]


@admin.register(ChangeFiling)
class ChangeFilingAdmin(admin.ModelAdmin):
    """Read-only here: filings are decided on the portal's page so that the rules apply."""

    list_display = ("institution", "status", "submitted_by", "submitted_at", "decided_by", "decided_at")
    list_filter = ("status",)
    search_fields = ("institution__name",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


class MaterialInline(admin.TabularInline):
    model = ApplicationMaterial
    extra = 0
    readonly_fields = ("kind", "file", "original_name", "size", "uploaded_by", "uploaded_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DesignationApplication)
class DesignationApplicationAdmin(admin.ModelAdmin):
    list_display = ("applicant_name", "type", "status", "agency", "submitted_at")
    list_filter = ("status", "type")
    search_fields = ("applicant_name", "uscc")
    inlines = [MaterialInline]
    readonly_fields = ("status",)
