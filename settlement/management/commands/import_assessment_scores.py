from django.core.management.base import BaseCommand, CommandError

from core.cli import open_input
from core.errors import ApplicationError
from settlement.services.declaration_files import open_rows
from settlement.services.scores import SCORE_COLUMNS, SCORE_OPTIONAL, scores_import


def parse_year(value: str) -> int:
    text = (value or "").strip()
    if len(text) != 4 or not text.isdigit() or int(text) < 1900:
        raise CommandError(f"年度“{value}”无效，应为四位年份，例如 2025。")
    return int(text)


class Command(BaseCommand):
    help = (
        "导入年度考核得分（CSV UTF-8 或 XLSX，列：机构编码, 年度, 考核得分；得分 0–100，最多两位小数）。"
        "有问题的行逐行列出原因，其余行照常导入；重复导入不产生变化。"
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--year", required=True, help="考核年度 YYYY")

    def handle(self, path, year, **options):
        year = parse_year(year)
        with open_input(path) as fh:
            try:
                stream = open_rows(fh, path, columns=SCORE_COLUMNS, optional=SCORE_OPTIONAL)
                report = scores_import(rows=stream.rows, year=year, actor=None)
            except ApplicationError as exc:
                raise CommandError(f"{path}：{exc.message}") from None
        self.stdout.write(report.as_text())
