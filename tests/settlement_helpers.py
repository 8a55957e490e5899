"""Helpers shared by the settlement tests: declaration files and the usual steps of a month.

Plain functions, not fixtures, so each test says what it does. The registry fixtures of
tests/conftest.py provide the institutions (银川市第一人民医院 is JG000001 in the demo tables).
"""

import csv
import io
import itertools
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from settlement.models import AnnualSettlement, DeclarationLine, ImportSource, MonthlySettlement
from settlement.services.declaration_files import open_rows
from settlement.services.declaration_import import declarations_import
from settlement.services.declaration_rows import HEADERS
from settlement.services.month_end import settlement_month_approve, settlement_month_end_run
from settlement.services.review import lines_approve_pending
from settlement.services.scores import score_set

YINCHUAN = "银川市第一人民医院"
GUYUAN = "固原市人民医院"


def row(code, period="2026-10", card="640102199001011234", name="张三", category="门诊", visit="2026-10-05",
        discharge="", total="100.00", in_scope=None, self_paid="0", non_injury="0"):
    """One line of the declarations file (SPEC §8); in_scope defaults to the whole total."""
    return [code, period, card, name, category, visit, discharge, total, total if in_scope is None else in_scope,
            self_paid, non_injury]


def csv_bytes(rows, headers=HEADERS, bom=False) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    writer.writerows(rows)
    text = ("\ufeff" if bom else "") + buf.getvalue()
    return text.encode("utf-8")


def xlsx_bytes(rows, headers=HEADERS) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(list(headers))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def import_rows(rows, *, actor=None, source=ImportSource.COMMAND, institution=None, period=None, name="test.csv"):
    """Run rows through the same path as a file upload; returns the ImportReport."""
    data = csv_bytes(rows)
    stream = open_rows(io.BytesIO(data), name)
    return declarations_import(rows=stream.rows, source=source, actor=actor, institution=institution,
                               file_name=name, period=period)


def month(text: str) -> date:
    return date(int(text[:4]), int(text[5:7]), 1)


def settle(period_text: str, *, approve_as=None, agency=None):
    """Approve every pending line of the month, run the month-end, and optionally approve the
    agency's month for payment as `approve_as` (a staff user)."""
    period = month(period_text)
    lines_approve_pending(period=period, actor=None)
    result = settlement_month_end_run(period=period, actor=None)
    if approve_as is not None:
        settlement_month_approve(period=period, agency=agency or approve_as.agency, actor=approve_as)
    return result


# ---- added for the service and command tests of issue 4 ----------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")
_serial = itertools.count(1)


def travel(year, mon, day, hour=9):
    """Pin the clock (the deadlines and "is the month closed" read today's date in Asia/Shanghai)."""
    return time_machine.travel(datetime(year, mon, day, hour, 0, tzinfo=SHANGHAI), tick=True)


def lines_of(code, *amounts, period="2026-10", category="门诊", day=5):
    """One file row per in-scope amount (total = in-scope), each for a different injured worker,
    so that no two rows of a test are the same line."""
    out = []
    for amount in amounts:
        n = next(_serial)
        out.append(row(code, period=period, card=f"6401021990{n:08d}", name=f"工伤职工{n}", category=category,
                       visit=f"{period}-{day:02d}", total=str(amount)))
    return out


def declare(code, *amounts, period="2026-10", category="门诊"):
    """Declare lines as the command line does (every month accepted); returns them in order."""
    report = import_rows(lines_of(code, *amounts, period=period, category=category))
    assert (report.batch.accepted, report.batch.rejected) == (len(amounts), 0), report.as_text()
    return list(DeclarationLine.objects.filter(batch=report.batch).order_by("source_row"))


def write_file(tmp_path, data: bytes, name="declarations.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def command(name, *args, **options) -> str:
    """call_command, returning what it printed."""
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def command_refused(name, *args, **options):
    """The command must stop with a message and exit status 1 (CommandError.returncode, which
    manage.py passes to sys.exit); returns the CommandError."""
    with pytest.raises(CommandError) as exc:
        command(name, *args, **options)
    assert exc.value.returncode == 1
    return exc.value


def settlement_rows(period_text):
    """The month's settlement rows as comparable values, by institution code."""
    fields = ("institution__code", "line_count", "declared_amount", "approved_amount", "adjustment_amount",
              "deposit_rate", "deposit", "payable", "shortfall", "deduction_amount", "carried_forward",
              "released_amount", "held", "held_amount", "net_amount", "rule_version", "frozen")
    return {r["institution__code"]: r for r in MonthlySettlement.objects.filter(period=month(period_text)).values(*fields)}


# ---- added for the year-end tests of issue 5 ---------------------------------------------------------

SCORE_HEADERS = ["机构编码", "年度", "考核得分"]


def score_csv(rows) -> bytes:
    """An assessment scores file (SPEC §8): 机构编码, 年度, 考核得分."""
    return csv_bytes(rows, headers=SCORE_HEADERS)


def approve_month(period_text, staff):
    """Approve the staff member's agency's month for payment (it must have been run)."""
    return settlement_month_approve(period=month(period_text), agency=staff.agency, actor=staff)


def give_score(institution, points, *, year=2025, actor=None):
    """The institution's assessment score for the year as one imported total (what a row of
    import_assessment_scores stores)."""
    return score_set(institution=institution, year=year, actor=actor,
                     components=[{"kind": "imported", "points": str(points), "label": "综合考核得分（导入）"}])


def annual_rows(year):
    """The year's annual settlement rows as comparable values (ids included), by institution code."""
    fields = ("id", "batch_id", "institution__code", "deposit_total", "monthly_deposits", "unapproved_months", "score",
              "score_components", "released", "forfeited", "frozen")
    return {r["institution__code"]: r for r in AnnualSettlement.objects.filter(year=year).values(*fields)}


def pdf_upload(name):
    """A small PDF as a browser uploads it (an annual application's document)."""
    return SimpleUploadedFile(name, b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n", content_type="application/pdf")


def annual_documents():
    """Both documents W§28 requires with the annual application, keyed as the service and the API take them."""
    return {"declaration_form": pdf_upload("结算申报表.pdf"), "cost_report": pdf_upload("费用情况分析报告.pdf")}


def at_once(fn, times: int = 2) -> list:
    """Run `fn` in `times` threads released together (each with its own database connection, as
    two requests or workers would be); return their results. Fails on any error or a hang."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(times)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(fn())
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    assert errors == []
    assert len(results) == times
    return results
