"""Annual settlement documents (SPEC §5, §8 export_annual_settlements): the interchange export,
the institution's annual statement (质量保证金年度结算单) and the agency's annual summary."""

import csv
import io
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from core.errors import ApplicationError
from settlement.models import AnnualSettlement
from settlement.services.annual_documents import (
    ANNUAL_EXPORT_COLUMNS,
    annual_export,
    annual_statement_context,
    annual_statement_pdf,
    annual_summary_xlsx,
)
from settlement.services.month_end import settlement_month_approve
from settlement.services.scores import score_add_deduction, score_set, scores_import
from settlement.services.year_end import settlement_annual_approve, settlement_annual_run
from tests.settlement_helpers import GUYUAN, YINCHUAN, command, command_refused, import_rows, month, row, settle

YEAR = 2025
YINCHUAN_2 = "银川市第二人民医院"
YINCHUAN_3 = "银川市妇幼保健院"
NO_SCORE = "银川市中医医院"
MONTHS = ("2025-03", "2025-05", "2025-07")
AMOUNT = re.compile(r"^\d+\.\d{2}$")


def _year(institution):
    """Declare and settle (not approve) three months of 2025, score four institutions and run the year:

    银川一院  333.33 (March) + 9000.00 (July) → deposit 33.33 + 900.00 = 933.33; score 70 + 20.5 − 5 = 85.50
    银川二院  500.00 (May)  → deposit 50.00;  score 33.33 (50.00 × 33.33 / 100 = 16.665 → 16.67, half up)
    妇幼保健院 200.00 (May)  → deposit 20.00;  score 0
    固原医院   1000.05 (May) → deposit 100.01; score 100
    中医医院   120.00 (May)  → deposit 12.00;  no score, so not settled
    """
    codes = {name: institution(name).code for name in (YINCHUAN, YINCHUAN_2, YINCHUAN_3, GUYUAN, NO_SCORE)}
    import_rows([
        row(codes[YINCHUAN], period="2025-03", visit="2025-03-05", card="640102199001011234", name="张三", total="333.33"),
        row(codes[YINCHUAN], period="2025-07", visit="2025-07-08", card="640102199202021111", name="李四", total="9000.00"),
        row(codes[YINCHUAN_2], period="2025-05", visit="2025-05-06", card="640102198505053333", name="王五", total="500.00"),
        row(codes[YINCHUAN_3], period="2025-05", visit="2025-05-07", card="640102198606064444", name="赵六", total="200.00"),
        row(codes[GUYUAN], period="2025-05", visit="2025-05-09", card="640402198803033333", name="孙七", total="1000.05"),
        row(codes[NO_SCORE], period="2025-05", visit="2025-05-10", card="640102197707077777", name="周八", total="120.00"),
    ])
    for m in MONTHS:
        settle(m)
    score_set(institution=institution(YINCHUAN), year=YEAR, actor=None, components=[
        {"kind": "assessment", "label": "年度考核", "points": "70", "note": "市社保局年度考核"},
        {"kind": "supervision", "label": "日常监督检查", "points": "20.5"},
    ])
    score_add_deduction(institution=institution(YINCHUAN), year=YEAR, points="5", label="超标准收费扣分",
                        source_label="WG-2025-0007", actor=None)
    report = scores_import(year=YEAR, actor=None, rows=[
        (2, {"code": codes[YINCHUAN_2], "year": "2025", "score": "33.33"}),
        (3, {"code": codes[YINCHUAN_3], "year": "2025", "score": "0"}),
        (4, {"code": codes[GUYUAN], "year": "2025", "score": "100"}),
    ])
    assert report.rejections == []
    settlement_annual_run(year=YEAR)
    return codes


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


# ---- the interchange export -----------------------------------------------------------------------


def test_csv_has_bom_the_seven_columns_and_released_plus_forfeited_is_the_deposit(institution):
    """released = round_half_up(deposit_total × score / 100) for a fractional score, 100 and 0, and
    released + forfeited == deposit_total on every row; an institution without a score is not listed."""
    codes = _year(institution)
    data = annual_export(year=YEAR, fmt="csv")

    assert data.startswith("\ufeff".encode())
    header, *rows = _csv(data)
    assert header == list(ANNUAL_EXPORT_COLUMNS) == ["机构编码", "机构名称", "年度", "保证金总额", "考核得分", "返还金额", "扣留金额"]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    by_name = {r[1]: r for r in rows}
    assert by_name[YINCHUAN] == [codes[YINCHUAN], YINCHUAN, "2025", "933.33", "85.50", "798.00", "135.33"]
    assert by_name[YINCHUAN_2][2:] == ["2025", "50.00", "33.33", "16.67", "33.33"]  # 16.665 rounds half up
    assert by_name[YINCHUAN_3][2:] == ["2025", "20.00", "0.00", "0.00", "20.00"]
    assert by_name[GUYUAN][2:] == ["2025", "100.01", "100.00", "100.01", "0.00"]
    assert NO_SCORE not in by_name
    for r in rows:
        assert all(AMOUNT.match(cell) for cell in r[3:]), r
        deposit, score, released, forfeited = (Decimal(c) for c in r[3:])
        assert released == (deposit * score / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert released + forfeited == deposit


def test_xlsx_holds_the_same_rows_as_numeric_cells(institution):
    _year(institution)
    expected = _csv(annual_export(year=YEAR, fmt="csv"))
    ws = load_workbook(io.BytesIO(annual_export(year=YEAR, fmt="xlsx"))).active

    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]] == expected[0]
    assert len(rows) == len(expected) == 5
    for cells, want in zip(rows[1:], expected[1:]):
        assert [c.value for c in cells[:3]] == want[:3]
        for cell, text in zip(cells[3:], want[3:]):
            assert cell.data_type == "n" and cell.number_format == "0.00"
            assert Decimal(str(cell.value)).quantize(Decimal("0.01")) == Decimal(text)


def test_city_clerk_and_institution_see_only_their_own(institution, users):
    _year(institution)
    clerk = users["staff_guyuan"]
    rows = _csv(annual_export(year=YEAR, fmt="csv", user=clerk))[1:]
    assert [r[1] for r in rows] == [GUYUAN]
    assert all(AnnualSettlement.objects.get(institution__code=r[0], year=YEAR).batch.agency_id == clerk.agency_id for r in rows)

    assert [r[1] for r in _csv(annual_export(year=YEAR, fmt="csv", user=users["hospital_admin"]))[1:]] == [YINCHUAN]

    ws = load_workbook(io.BytesIO(annual_summary_xlsx(year=YEAR, user=clerk))).active
    assert {r[2] for r in ws.iter_rows(min_row=4, values_only=True) if r[1]} == {GUYUAN}
    with pytest.raises(ApplicationError):
        annual_summary_xlsx(year=YEAR, user=users["hospital_admin"])  # an institution has no agency summary


def test_export_refuses_a_year_without_settlement_and_an_unknown_format(institution):
    with pytest.raises(ApplicationError) as exc:
        annual_export(year=2024, fmt="csv")
    assert exc.value.code == "no_settlement"
    assert exc.value.message == "2024年度尚无年度结算结果，请先运行年度结算（run_annual_settlement 2024）。"
    with pytest.raises(ApplicationError, match="2026年度尚未结束") as exc:
        annual_summary_xlsx(year=2026)
    assert exc.value.code == "no_settlement"
    _year(institution)
    with pytest.raises(ApplicationError) as exc:
        annual_export(year=YEAR, fmt="pdf")
    assert exc.value.code == "invalid_format"


# ---- the command ------------------------------------------------------------------------------------


def test_command_writes_the_file_and_reports_totals(institution, tmp_path):
    _year(institution)
    path = tmp_path / "2025.csv"
    out = command("export_annual_settlements", "--year", "2025", "--format", "csv", "-o", str(path))

    assert path.read_bytes() == annual_export(year=YEAR, fmt="csv")
    assert f"已导出 2025年度 4 家机构的年度结算结果到 {path}" in out
    assert "保证金总额 ¥1,103.34，返还 ¥914.68，扣留 ¥188.66" in out

    path = tmp_path / "2025.xlsx"
    command("export_annual_settlements", "--year", "2025", "--format", "xlsx", "-o", str(path))
    assert load_workbook(path).active.max_row == 5


def test_command_refuses_a_year_without_settlement(institution, tmp_path):
    _year(institution)
    exc = command_refused("export_annual_settlements", "--year", "2024", "--format", "csv", "-o", str(tmp_path / "x.csv"))
    assert "2024年度尚无年度结算结果" in str(exc) and "run_annual_settlement 2024" in str(exc)
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--year", "2025x", "--format", "csv"], "年度“2025x”无效，应为四位年份"),
        (["--year", "25", "--format", "csv"], "无效，应为四位年份"),
        (["--year", "2025", "--format", "pdf"], "invalid choice"),
    ],
)
def test_command_refuses_bad_arguments(db, tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_annual_settlements", *args, "-o", str(tmp_path / "x.csv"))
    assert not (tmp_path / "x.csv").exists()


def test_command_refuses_an_unwritable_path(institution, tmp_path):
    _year(institution)
    exc = command_refused("export_annual_settlements", "--year", "2025", "--format", "csv", "-o", str(tmp_path / "no" / "x.csv"))
    assert "无法写入" in str(exc)


# ---- the statement -----------------------------------------------------------------------------------


def test_statement_shows_months_components_and_split_with_banner_before_approval(institution, users):
    codes = _year(institution)
    settled = AnnualSettlement.objects.get(institution=institution(YINCHUAN), year=YEAR)
    draft = _pdf_text(annual_statement_pdf(settled))

    assert "工伤保险质量保证金年度结算单" in draft
    assert YINCHUAN in draft and codes[YINCHUAN] in draft and "银川市社会保险事业管理中心" in draft
    assert all(f"2025年{m}月" in draft for m in range(1, 13))  # every month, with "—" where none
    assert "¥33.33" in draft and "¥900.00" in draft and draft.count("—") >= 10
    assert "年度考核" in draft and "日常监督检查" in draft and "20.50" in draft
    assert "超标准收费扣分" in draft and "-5.00" in draft and "WG-2025-0007" in draft  # a deduction and its source
    assert "85.50" in draft and "¥933.33" in draft
    assert "¥798.00" in draft and "柒佰玖拾捌元整" in draft and "¥135.33" in draft
    assert "未审批（仅供核对）" in draft and "已审批" not in draft.replace("未审批", "")
    assert "计算时本经办机构以下月份的月度结算尚未审批" in draft and "2025年3月、2025年5月、2025年7月" in draft
    assert "第1页共1页" in draft

    ctx = annual_statement_context(settled)
    assert [m["amount"] for m in ctx["months"]] == ["—", "—", "¥33.33", "—", "—", "—", "¥900.00", "—", "—", "—", "—", "—"]
    assert not ctx["stale"]
    score_set(institution=institution(YINCHUAN), year=YEAR, actor=None,
              components=[{"kind": "assessment", "points": "90"}])
    assert annual_statement_context(settled)["stale"]  # the score changed after the run: the statement says so


def test_statement_shows_the_approver_once_the_year_is_approved(institution, users):
    codes = _year(institution)
    scores_import(year=YEAR, actor=None, rows=[(2, {"code": codes[NO_SCORE], "year": "2025", "score": "60"})])
    staff = users["staff_yinchuan"]
    for m in MONTHS:
        settlement_month_approve(period=month(m), agency=staff.agency, actor=staff)
    settlement_annual_approve(year=YEAR, agency=staff.agency, actor=staff)

    settled = AnnualSettlement.objects.get(institution=institution(YINCHUAN), year=YEAR)
    with translation.override("en"):  # a clerk reading the pages in English still prints a Chinese paper
        final = _pdf_text(annual_statement_pdf(settled))
    assert "已审批" in final and "银川经办员" in final
    assert "未审批" not in final and "尚未审批" not in final
    assert "¥798.00" in final and "考核得分" in final


# ---- the agency summary ------------------------------------------------------------------------------


def test_summary_has_subtotals_per_agency_and_a_grand_total(institution):
    _year(institution)
    ws = load_workbook(io.BytesIO(annual_summary_xlsx(year=YEAR))).active
    values = [[c.value for c in r] for r in ws.iter_rows()]
    header = values[2]
    assert header == ["序号", "机构编码", "机构名称", "保证金总额", "考核得分", "返还金额", "扣留金额"]
    deposit, score, released, forfeited = (header.index(h) for h in ("保证金总额", "考核得分", "返还金额", "扣留金额"))

    lines = {r[2]: r for r in values[3:] if isinstance(r[0], int)}
    assert set(lines) == {YINCHUAN, YINCHUAN_2, YINCHUAN_3, GUYUAN}
    assert Decimal(str(lines[YINCHUAN][score])) == Decimal("85.5")
    subtotals = {
        r[0]: tuple(Decimal(str(r[i])) for i in (deposit, released, forfeited)) for r in values if str(r[0]).startswith("小计")
    }
    assert subtotals == {
        "小计：银川市社会保险事业管理中心（3 家）": (Decimal("1003.33"), Decimal("814.67"), Decimal("188.66")),
        "小计：固原市社会保险事业管理中心（1 家）": (Decimal("100.01"), Decimal("100.01"), Decimal("0")),
    }
    total = next(r for r in values if str(r[0]).startswith("合计"))
    assert total[0] == "合计（2 个经办机构，4 家协议机构）"
    assert tuple(Decimal(str(total[i])) for i in (deposit, released, forfeited)) == (
        Decimal("1103.34"), Decimal("914.68"), Decimal("188.66")
    )
    assert total[score] is None  # a score has no sum
    assert "尚未审批；计算时月度结算未审批：2025年3月、2025年5月、2025年7月" in values[3][0]
    assert ws.column_dimensions["C"].width >= 30 and ws["A3"].font.b
