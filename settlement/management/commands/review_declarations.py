from django.core.management.base import BaseCommand, CommandError

from core.cli import parse_month
from core.errors import ApplicationError
from settlement.selectors import review_lines
from settlement.services.periods import month_label
from settlement.services.review import lines_approve_pending, review_progress


class Command(BaseCommand):
    help = (
        "审核某月的申报明细。--approve-all-pending：将该月所有待审核的明细按申报的统筹范围内费用审核通过"
        "（暂缓的医疗事故明细不受影响）。不带该选项时只列出该月的审核进度。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="结算月份 YYYY-MM")
        parser.add_argument("--approve-all-pending", action="store_true", dest="approve_all_pending",
                            help="批量通过该月全部待审核明细")

    def handle(self, month, approve_all_pending=False, **options):
        period = parse_month(month)
        if approve_all_pending:
            try:
                result = lines_approve_pending(period=period, actor=None)
            except ApplicationError as exc:
                raise CommandError(exc.message) from None
            self.stdout.write(result.as_text(period))
            self.stdout.write(f"approved={result.approved} amount={result.amount} carried={result.carried} held={result.still_held}")
        progress = review_progress(review_lines(user=None, period=period, filters={}))
        counts = "，".join(f"{v['label']} {v['n']}" for v in progress.values())
        self.stdout.write(f"{month_label(period)}审核进度：{counts}。")
