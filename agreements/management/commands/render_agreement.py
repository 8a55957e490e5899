from django.core.management.base import BaseCommand, CommandError

from agreements.services.documents import agreement_pdf, current_agreement
from core.cli import write_output
from institutions.models import DesignationType, Institution


class Command(BaseCommand):
    help = "生成机构当前服务协议的 PDF（按协议范本逐条生成，含双方信息和期限）。"

    def add_arguments(self, parser):
        parser.add_argument("code", metavar="机构编码")
        parser.add_argument("--type", required=True, choices=DesignationType.values)
        parser.add_argument("-o", "--output", required=True, dest="output")

    def handle(self, code, type, output, **options):
        institution = Institution.objects.filter(code=code.strip()).first()
        if institution is None:
            raise CommandError(f"找不到机构编码为“{code}”的机构。")
        agreement = current_agreement(institution, type)
        if agreement is None:
            raise CommandError(f"{institution.name}（{code}）没有{DesignationType(type).label}服务协议。")
        data = agreement_pdf(agreement)
        write_output(output, data)
        self.stdout.write(
            f"已生成 {institution.name} 的{DesignationType(type).label}服务协议 {agreement.number}"
            f"（{agreement.get_status_display()}）到 {output}（{len(data)} 字节）。"
        )
