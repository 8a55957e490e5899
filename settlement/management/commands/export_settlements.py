from django.core.management.base import BaseCommand, CommandError

from core.cli import parse_month, write_output
from core.errors import ApplicationError
from core.money import yuan
from settlement.services.documents import EXPORT_FORMATS, settlement_export, settlement_totals
from settlement.services.periods import month_label


class Command(BaseCommand):
    help = (
        "导出某月的月度结算结果（SPEC §8）：每家协议机构一行，列为 机构编码、机构名称、结算月份、审核通过金额、"
        "质量保证金、应拨付金额、抵扣金额、实际拨付金额。CSV 为带 BOM 的 UTF-8。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="结算月份 YYYY-MM")
        parser.add_argument("--format", required=True, choices=EXPORT_FORMATS)
        parser.add_argument("-o", "--output", required=True, dest="output", help="输出文件路径")

    def handle(self, month, format, output, **options):
        period = parse_month(month)
        try:
            data = settlement_export(period=period, fmt=format)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        write_output(output, data)
        t = settlement_totals(period=period)
        self.stdout.write(
            f"已导出 {month_label(period)} {t['institutions']} 家机构的结算结果到 {output}（{format}，{len(data)} 字节）。\n"
            f"合计：审核通过 {yuan(t['approved_amount'])}，质量保证金 {yuan(t['deposit'])}，应拨付 {yuan(t['payable'])}，"
            f"抵扣 {yuan(t['deduction_amount'])}，实际拨付 {yuan(t['net_amount'])}。"
        )
