from django.apps import AppConfig


class InstitutionsConfig(AppConfig):
    name = "institutions"
    verbose_name = "协议机构登记"

    def ready(self):
        from . import audit_registration  # noqa: F401
