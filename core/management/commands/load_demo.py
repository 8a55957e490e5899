from django.core.management.base import BaseCommand

from core.demo import load_demo


class Command(BaseCommand):
    help = "载入演示数据：2026年3月的三张协议机构名单，并为每个角色创建一个用户。可重复执行。"

    def add_arguments(self, parser):
        parser.add_argument("--password", help="演示用户的密码（默认取 PORTAL_DEMO_PASSWORD）")

    def handle(self, password=None, **options):
        reports, users, password = load_demo(password)
        for report in reports:
            self.stdout.write(report.as_text().splitlines()[0])
        self.stdout.write("")
        self.stdout.write("演示账号（首次创建时设置密码；已存在的账号密码不变）：")
        for spec, created in users:
            scope = spec.agency or spec.institution or "全部"
            mark = "新建" if created else "已存在"
            self.stdout.write(f"  {spec.role:<18} {spec.username:<17} 密码 {password}   {spec.full_name}（{scope}，{mark}）")
