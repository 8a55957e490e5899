from django.apps import AppConfig


class AgreementsConfig(AppConfig):
    name = "agreements"
    verbose_name = "服务协议"

    def ready(self):
        from auditlog.registry import auditlog

        from .models import Agreement, AgreementBar, SignedScan

        auditlog.register(Agreement, exclude_fields=["created_at", "updated_at", "revision"])
        auditlog.register(AgreementBar)
        auditlog.register(SignedScan)
