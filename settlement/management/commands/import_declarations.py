import hashlib

from django.core.management.base import BaseCommand, CommandError

from core.cli import open_input, parse_month
from core.errors import ApplicationError
from settlement.models import ImportSource
from settlement.services.declaration_files import open_rows
from settlement.services.declaration_import import declarations_import


def file_sha256(fh) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: fh.read(1024 * 1024), b""):
        digest.update(chunk)
    fh.seek(0)
    return digest.hexdigest()


class Command(BaseCommand):
    help = (
        "导入月度申报文件（CSV UTF-8 或 XLSX，SPEC §8 的列）。经办机构的工具：任何月份都接受，"
        "超过申报截止日的标记为逾期。重复导入同一文件不会重复计入。"
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--month", help="结算月份 YYYY-MM：空白的结算月份按此填写，其他月份的行被拒绝")

    def handle(self, path, month=None, **options):
        period = parse_month(month) if month else None
        with open_input(path) as fh:
            try:
                rows = open_rows(fh, path)
                report = declarations_import(
                    rows=rows.rows, source=ImportSource.COMMAND, actor=None, file_name=path,
                    sha256=file_sha256(fh), period=period,
                )
            except ApplicationError as exc:
                raise CommandError(f"{path}：{exc.message}") from None
        self.stdout.write(report.as_text())
