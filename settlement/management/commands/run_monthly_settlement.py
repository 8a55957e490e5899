from django.core.management.base import BaseCommand, CommandError

from core.cli import parse_month
from core.errors import ApplicationError
from settlement.services.month_end import settlement_month_end_run


class Command(BaseCommand):
    help = (
        "运行某月的月度结算（SPEC §4）：每个经办机构、每家协议机构一行，审核通过金额的90%拨付、10%预留质量保证金。"
        "可重复运行，结果相同；已审批拨付（冻结）的月份不重算。"
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="结算月份 YYYY-MM")

    def handle(self, month, **options):
        period = parse_month(month, "结算月份")
        try:
            result = settlement_month_end_run(period=period, actor=None)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(result.as_text())
