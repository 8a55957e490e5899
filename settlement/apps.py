from django.apps import AppConfig


class SettlementConfig(AppConfig):
    name = "settlement"
    verbose_name = "申报与结算"

    def ready(self):
        from auditlog.registry import auditlog

        from . import models as m

        # A line's review is what people change; its declared cells arrive set-based from files
        # (the DeclarationImport that brought them is logged) and are never edited.
        auditlog.register(
            m.DeclarationLine,
            include_fields=["status", "approved_amount", "reason", "review_note", "reviewed_by", "carried", "carried_into"],
        )
        for model in (
            m.SettlementPolicy, m.ReviewReason, m.Declaration, m.DeclarationImport, m.BulkReview, m.MonthlyBatch,
            m.SettlementRun, m.Deduction, m.PaymentHold, m.SettlementAdjustment, m.HoldRelease,
        ):
            auditlog.register(model)
