from django.core.management.base import BaseCommand, CommandError

from core.cli import open_input, parse_month
from core.errors import ApplicationError
from institutions.models import DesignationType
from institutions.services.registry_import import registry_import


class Command(BaseCommand):
    help = "导入官方协议机构名单（附件4–6）：CSV（UTF-8）或 XLSX。重复导入不产生变化。"

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--type", required=True, choices=DesignationType.values)
        parser.add_argument("--as-of", dest="as_of", help="名单日期 YYYY-MM")

    def handle(self, path, type, as_of=None, **options):
        as_of_date = parse_month(as_of, "--as-of") if as_of else None
        with open_input(path) as fh:
            try:
                report = registry_import(fh=fh, type_=type, name=path, as_of=as_of_date)
            except ApplicationError as exc:
                raise CommandError(f"{path}：{exc.message}") from None
        self.stdout.write(report.as_text())
