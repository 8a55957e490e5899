"""Admin: the administrator maintains the policy parameters and the review reasons (data, SPEC §1);
declarations and settlements are read-only here — every change goes through the services, and a
frozen month is refused by the database besides (migration 0003)."""

from django.contrib import admin

from . import models as m


@admin.register(m.SettlementPolicy)
class SettlementPolicyAdmin(admin.ModelAdmin):
    list_display = ("region_code", "valid_from", "declaration_due_day", "review_due_day", "deposit_rate", "rule_version")
    list_filter = ("region_code",)


@admin.register(m.ReviewReason)
class ReviewReasonAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "article", "outcomes", "categories", "note_required", "active", "position")
    list_editable = ("active", "position")
    search_fields = ("code", "label", "article")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(m.Declaration)
class DeclarationAdmin(ReadOnlyAdmin):
    list_display = ("institution", "period", "late", "created_at")
    list_filter = ("period", "late")
    search_fields = ("institution__name", "institution__code")


@admin.register(m.DeclarationLine)
class DeclarationLineAdmin(ReadOnlyAdmin):
    list_display = ("declaration", "name", "category", "visit_date", "in_scope", "status", "approved_amount", "carried")
    list_filter = ("status", "category", "carried", "late")
    search_fields = ("card_no", "name")
    list_select_related = ("declaration__institution",)
    show_full_result_count = False  # a month can hold a million lines


@admin.register(m.DeclarationImport)
class DeclarationImportAdmin(ReadOnlyAdmin):
    list_display = ("pk", "source", "institution", "file_name", "submitted_by", "submitted_at", "rows", "accepted", "duplicates", "rejected")
    list_filter = ("source",)


@admin.register(m.MonthlyBatch)
class MonthlyBatchAdmin(ReadOnlyAdmin):
    list_display = ("period", "agency", "status", "calculated_at", "approved_by", "approved_at")
    list_filter = ("status", "period")


@admin.register(m.MonthlySettlement)
class MonthlySettlementAdmin(ReadOnlyAdmin):
    list_display = ("period", "institution", "approved_amount", "deposit", "payable", "deduction_amount", "net_amount", "held", "frozen")
    list_filter = ("period", "frozen", "held")
    search_fields = ("institution__name", "institution__code")


@admin.register(m.SettlementRun)
class SettlementRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "kind", "period", "agency", "status", "trigger", "requested_by", "requested_at", "finished_at")
    list_filter = ("kind", "status")


@admin.register(m.Deduction)
class DeductionAdmin(ReadOnlyAdmin):
    list_display = ("institution", "kind", "amount", "effective_from", "source_label", "created_at")
    list_filter = ("kind",)


@admin.register(m.PaymentHold)
class PaymentHoldAdmin(ReadOnlyAdmin):
    list_display = ("institution", "started_on", "lifted_on", "source_label")


@admin.register(m.SettlementAdjustment)
class SettlementAdjustmentAdmin(ReadOnlyAdmin):
    list_display = ("institution", "corrects", "amount", "effective_from", "applied_in", "created_at")


@admin.register(m.AnnualBatch)
class AnnualBatchAdmin(ReadOnlyAdmin):
    list_display = ("year", "agency", "status", "calculated_at", "approved_by", "approved_at")
    list_filter = ("status", "year")


@admin.register(m.AnnualSettlement)
class AnnualSettlementAdmin(ReadOnlyAdmin):
    list_display = ("year", "institution", "deposit_total", "score", "released", "forfeited", "frozen")
    list_filter = ("year", "frozen")
    search_fields = ("institution__name", "institution__code")


@admin.register(m.AssessmentScore)
class AssessmentScoreAdmin(ReadOnlyAdmin):
    list_display = ("year", "institution", "total", "updated_by", "updated_at")
    list_filter = ("year",)
    search_fields = ("institution__name", "institution__code")


@admin.register(m.AnnualApplication)
class AnnualApplicationAdmin(ReadOnlyAdmin):
    list_display = ("year", "institution", "status", "late", "submitted_by", "submitted_at")
    list_filter = ("year", "status")
