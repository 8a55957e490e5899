from django.apps import AppConfig


class ViolationsConfig(AppConfig):
    name = "violations"
    verbose_name = "违规处理"

    def ready(self):
        from auditlog.registry import auditlog

        from . import models as m

        for model in (m.Case, m.Evidence, m.InvestigationNote, m.DecisionMeasure, m.Rectification, m.Appeal,
                      m.DishonestListing, m.Measure):
            auditlog.register(model)
