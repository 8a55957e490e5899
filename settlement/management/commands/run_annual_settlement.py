from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from settlement.management.commands.import_assessment_scores import parse_year
from settlement.services.year_end import settlement_annual_run


class Command(BaseCommand):
    help = (
        "运行某年度的质量保证金年度结算（SPEC §5）：返还金额＝保证金总额×考核得分/100（四舍五入到分），"
        "其余扣留。未录入考核得分的机构列出并留待以后运行；可重复运行，已审批的年度不重算。"
    )

    def add_arguments(self, parser):
        parser.add_argument("year", help="结算年度 YYYY")

    def handle(self, year, **options):
        try:
            result = settlement_annual_run(year=parse_year(year), actor=None)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(result.as_text())
