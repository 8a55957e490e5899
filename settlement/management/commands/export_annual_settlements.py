from django.core.management.base import BaseCommand, CommandError

from core.cli import write_output
from core.errors import ApplicationError
from core.money import yuan
from settlement.management.commands.import_assessment_scores import parse_year
from settlement.services.annual_documents import annual_export, annual_totals, year_label
from settlement.services.documents import EXPORT_FORMATS


class Command(BaseCommand):
    help = (
        "导出某年度的质量保证金年度结算结果（SPEC §8）：每家协议机构一行，列为 机构编码、机构名称、年度、"
        "保证金总额、考核得分、返还金额、扣留金额。CSV 为带 BOM 的 UTF-8。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", required=True, help="结算年度 YYYY")
        parser.add_argument("--format", required=True, choices=EXPORT_FORMATS)
        parser.add_argument("-o", "--output", required=True, dest="output", help="输出文件路径")

    def handle(self, year, format, output, **options):
        year = parse_year(year)
        try:
            data = annual_export(year=year, fmt=format)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        write_output(output, data)
        t = annual_totals(year=year)
        self.stdout.write(
            f"已导出 {year_label(year)} {t['institutions']} 家机构的年度结算结果到 {output}（{format}，{len(data)} 字节）。\n"
            f"合计：保证金总额 {yuan(t['deposit_total'])}，返还 {yuan(t['released'])}，扣留 {yuan(t['forfeited'])}。"
        )
