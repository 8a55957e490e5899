"""Demo declarations for load_demo: two months of a few institutions, relative to today.

Last year's November and December and the month before last are declared, reviewed, settled and
approved for payment (frozen), with last year's scores and year-end run; last month is declared
and partly reviewed (one line reduced, one refused, one held for a
medical-accident appraisal, the rest pending), so each page has something to show. Idempotent:
the lines are deduplicated by their fingerprint and approved months are left alone.
"""

import random
from datetime import date, timedelta

from django.utils import timezone

from accounts.models import User
from institutions.models import Institution

from .models import BatchStatus, DeclarationLine, ImportSource, LineStatus, MonthlyBatch
from .services.declaration_import import declarations_import
from .services.month_end import settlement_month_approve, settlement_month_end_run
from .services.periods import add_months, month_code, month_start
from .services.reminders import reminders_refresh
from .services.review import line_decide, lines_approve_pending

INSTITUTIONS = ["银川市第一人民医院", "银川市第二人民医院", "固原市人民医院", "宁夏医科大学总医院"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
CATEGORIES = [("住院", 0.35), ("门诊", 0.45), ("康复", 0.15), ("辅助器具", 0.05)]


def _lines(institution: Institution, period: date, rng: random.Random, count: int):
    for n in range(count):
        category = rng.choices([c for c, _ in CATEGORIES], [w for _, w in CATEGORIES])[0]
        day = rng.randint(1, 25)
        visit = period + timedelta(days=day - 1)
        discharge = ""
        if category == "住院":
            total_fen = rng.randint(300000, 4000000)
            discharge = (visit + timedelta(days=rng.randint(2, 5))).isoformat()
        elif category == "门诊":
            total_fen = rng.randint(8000, 120000)
        elif category == "康复":
            total_fen = rng.randint(50000, 600000)
        else:
            total_fen = rng.randint(200000, 1500000)
        self_fen = total_fen * rng.randint(0, 12) // 100
        non_injury_fen = total_fen * rng.choice([0, 0, 0, 3, 5]) // 100
        in_scope_fen = total_fen - self_fen - non_injury_fen
        card = f"6401{rng.randint(10**13, 10**14 - 1)}"
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", rng.choice(GIVEN)])
        yield n + 1, {
            "code": institution.code, "period": month_code(period), "card_no": card, "name": name,
            "category": category, "visit_date": visit.isoformat(), "discharge_date": discharge,
            "total": _fen(total_fen), "in_scope": _fen(in_scope_fen),
            "self_paid": _fen(self_fen), "non_injury": _fen(non_injury_fen),
        }


def _fen(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _declare_and_settle(institutions, period: date, count: int, clerks: dict, region) -> None:
    """Declare `count` lines per institution for the month, approve them, settle and approve the month."""
    for inst in institutions:
        rng = random.Random(f"{inst.code}-{period}")
        declarations_import(rows=_lines(inst, period, rng, count), source=ImportSource.COMMAND, actor=None,
                            file_name=f"demo-{inst.code}-{month_code(period)}.csv")
    if MonthlyBatch.objects.filter(period=period, status=BatchStatus.APPROVED).exists():
        return
    lines_approve_pending(period=period, actor=region)
    settlement_month_end_run(period=period, actor=None)
    for batch in MonthlyBatch.objects.filter(period=period, status=BatchStatus.CALCULATED).select_related("agency"):
        settlement_month_approve(period=period, agency=batch.agency, actor=clerks.get(batch.agency_id, region))


def load_demo_annual() -> None:
    """Last year's November and December settled and approved, scores for all but one institution
    (so the year-end page names it), the year-end run computed, and one annual application."""
    from django.core.files.base import ContentFile

    from .models import AnnualApplication, AnnualBatch
    from .services.annual_applications import annual_application_submit
    from .services.scores import score_set
    from .services.year_end import settlement_annual_run

    year = timezone.localdate().year - 1
    clerks = {u.agency_id: u for u in User.objects.filter(username__in=["staff_yinchuan", "staff_guyuan"])}
    region = User.objects.get(username="staff_region")
    institutions = list(Institution.objects.filter(name__in=INSTITUTIONS).order_by("code"))
    for month in (11, 12):
        _declare_and_settle(institutions, date(year, month, 1), 8, clerks, region)
    if AnnualBatch.objects.filter(year=year, status=BatchStatus.APPROVED).exists():
        return
    for inst in institutions[:-1]:
        rng = random.Random(f"score-{inst.code}-{year}")
        score_set(institution=inst, year=year, actor=region, components=[
            {"kind": "assessment", "points": f"{rng.randint(5200, 6800) / 100:.2f}", "label": "年度考核（满分70）"},
            {"kind": "supervision", "points": f"{rng.randint(2200, 3000) / 100:.2f}", "label": "日常监督检查（满分30）"},
        ])
    settlement_annual_run(year=year, actor=None)
    hospital = Institution.objects.filter(name=INSTITUTIONS[0]).first()
    if hospital and not AnnualApplication.objects.filter(institution=hospital, year=year).exists():
        annual_application_submit(
            institution=hospital, year=year, actor=clerks.get(hospital.agency_id, region), note="演示数据",
            materials={
                "declaration_form": ContentFile("结算申报表（演示）".encode(), name=f"结算申报表{year}.pdf"),
                "cost_report": ContentFile("费用情况分析报告（演示）".encode(), name=f"费用情况分析报告{year}.pdf"),
            },
        )


def load_demo_settlement() -> None:
    today = timezone.localdate()
    last = add_months(month_start(today), -1)
    before = add_months(last, -1)
    clerks = {u.agency_id: u for u in User.objects.filter(username__in=["staff_yinchuan", "staff_guyuan"])}
    region = User.objects.get(username="staff_region")
    institutions = list(Institution.objects.filter(name__in=INSTITUTIONS).order_by("code"))
    _declare_and_settle(institutions, before, 14, clerks, region)
    for inst in institutions:
        rng = random.Random(f"{inst.code}-{last}")
        declarations_import(rows=_lines(inst, last, rng, 12), source=ImportSource.COMMAND, actor=None,
                            file_name=f"demo-{inst.code}-{month_code(last)}.csv")

    reminders_refresh()

    # Last month: a few decisions, the rest left for the reviewer.
    pending = DeclarationLine.objects.filter(declaration__period=last, status=LineStatus.PENDING).order_by("pk")
    if pending.count() == DeclarationLine.objects.filter(declaration__period=last).count():
        samples = list(pending[:3])
        if len(samples) == 3:
            first, second, third = samples
            line_decide(line=first, outcome="reduce", actor=region, reason_code="out_of_catalogue",
                        amount=_fen(int(first.in_scope * 100) * 8 // 10), note="部分药品超出工伤保险药品目录")
            line_decide(line=second, outcome="refuse", actor=region, reason_code="non_injury",
                        note="治疗高血压（非工伤病情）")
            line_decide(line=third, outcome="hold", actor=region, reason_code="medical_accident",
                        note="医疗纠纷，待医疗事故鉴定结论")
