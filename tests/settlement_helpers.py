"""Helpers shared by the settlement tests: declaration files and the usual steps of a month.

Plain functions, not fixtures, so each test says what it does. The registry fixtures of
tests/conftest.py provide the institutions (银川市第一人民医院 is JG000001 in the demo tables).
"""

import csv
import io
from datetime import date

from settlement.models import ImportSource
from settlement.services.declaration_files import open_rows
from settlement.services.declaration_import import declarations_import
from settlement.services.declaration_rows import HEADERS
from settlement.services.month_end import settlement_month_approve, settlement_month_end_run
from settlement.services.review import lines_approve_pending

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
