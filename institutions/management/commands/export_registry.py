from django.core.management.base import BaseCommand

from core.cli import write_output
from institutions.models import DesignationType
from institutions.services.registry_export import FORMATS, registry_export


class Command(BaseCommand):
    help = "导出官方协议机构名单（含机构编码）：CSV、XLSX 或 PDF。"

    def add_arguments(self, parser):
        parser.add_argument("--type", required=True, choices=DesignationType.values)
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("-o", "--output", required=True, dest="output")

    def handle(self, type, format, output, **options):
        data = registry_export(type_=type, fmt=format)
        write_output(output, data)
        self.stdout.write(f"已导出{DesignationType(type).label}名单（{format}）到 {output}（{len(data)} 字节）。")
