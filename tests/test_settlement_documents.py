"""Settlement documents (SPEC §4 "Documents", §8 export_settlements): the interchange export,
the institution's statement (结算单) and the agency's payment summary (拨付汇总表)."""

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from core.errors import ApplicationError
from settlement.models import DeclarationLine, MonthlySettlement
from settlement.services.documents import (
    EXPORT_COLUMNS,
    category_table,
    mask_card,
    rmb_upper,
    settlement_export,
    statement_context,
    statement_pdf,
    summary_pdf,
    summary_xlsx,
)
from settlement.services.month_end import settlement_month_approve
from settlement.services.receivables import adjustment_register, deduction_register, hold_start
from settlement.services.review import line_decide
from tests.settlement_helpers import GUYUAN, YINCHUAN, import_rows, month, row, settle

OCTOBER = date(2026, 10, 1)
CARD = "640102199001011234"
AMOUNT = re.compile(r"^-?\d+\.\d{2}$")


def _october(institution, *, refuse=False):
    """银川一院 declares 333.33 + 9000.00 (and, if asked, a line of 500.00 that is refused);
    固原市人民医院 declares 1000.05. Lines are approved and the month is settled, not approved."""
    yinchuan, guyuan = institution(YINCHUAN).code, institution(GUYUAN).code
    rows = [
        row(yinchuan, card=CARD, name="张三", total="333.33"),
        row(yinchuan, card="640102199202021111", name="李四", category="住院", visit="2026-10-08",
            discharge="2026-10-12", total="9000.00"),
        row(guyuan, card="640402198803033333", name="王五", total="1000.05"),
    ]
    if refuse:
        rows.append(row(yinchuan, card="640102197705056666", name="赵六", visit="2026-10-20", total="500.00"))
    import_rows(rows)
    if refuse:
        line = DeclarationLine.objects.get(name="赵六")
        line_decide(line=line, outcome="refuse", actor=None, reason_code="non_injury")


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


# ---- the interchange export -----------------------------------------------------------------------


def test_csv_has_bom_the_eight_columns_and_two_decimal_amounts(institution):
    """Deposit is round_half_up(9333.33 × 10%) = 933.33 and payable + deposit == approved on every row."""
    _october(institution)
    settle("2026-10")
    data = settlement_export(period=OCTOBER, fmt="csv")

    assert data.startswith("\ufeff".encode())
    header, *rows = _csv(data)
    assert header == list(EXPORT_COLUMNS) == [
        "机构编码", "机构名称", "结算月份", "审核通过金额", "质量保证金", "应拨付金额", "抵扣金额", "实际拨付金额"
    ]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    by_name = {r[1]: r for r in rows}
    assert by_name[YINCHUAN][2:] == ["2026-10", "9333.33", "933.33", "8400.00", "0.00", "8400.00"]
    assert by_name[GUYUAN][2:] == ["2026-10", "1000.05", "100.01", "900.04", "0.00", "900.04"]
    for r in rows:
        assert all(AMOUNT.match(cell) for cell in r[3:]), r
        approved, deposit, payable = (Decimal(c) for c in r[3:6])
        assert payable + deposit == approved


def test_xlsx_holds_the_same_rows_as_numeric_cells(institution):
    _october(institution)
    settle("2026-10")
    expected = _csv(settlement_export(period=OCTOBER, fmt="csv"))
    ws = load_workbook(io.BytesIO(settlement_export(period=OCTOBER, fmt="xlsx"))).active

    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]] == expected[0]
    assert len(rows) == len(expected)
    for cells, want in zip(rows[1:], expected[1:]):
        assert [c.value for c in cells[:3]] == want[:3]
        for cell, text in zip(cells[3:], want[3:]):
            assert cell.data_type == "n" and cell.number_format == "0.00"
            assert Decimal(str(cell.value)).quantize(Decimal("0.01")) == Decimal(text)


def test_city_clerk_exports_only_institutions_of_their_agency(institution, users):
    _october(institution)
    settle("2026-10")
    clerk = users["staff_guyuan"]
    rows = _csv(settlement_export(period=OCTOBER, fmt="csv", user=clerk))[1:]

    assert [r[1] for r in rows] == [GUYUAN]
    assert all(MonthlySettlement.objects.get(institution__code=r[0], period=OCTOBER).batch.agency_id == clerk.agency_id
               for r in rows)


def test_export_refuses_a_month_without_settlement_and_an_unknown_format(institution):
    with pytest.raises(ApplicationError) as exc:
        settlement_export(period=date(2026, 9, 1), fmt="csv")
    assert exc.value.code == "no_settlement"
    assert "2026年9月尚无结算结果" in exc.value.message and "run_monthly_settlement 2026-09" in exc.value.message
    with pytest.raises(ApplicationError):
        settlement_export(period=OCTOBER, fmt="pdf")


# ---- the command ------------------------------------------------------------------------------------


def test_command_writes_the_file_and_reports_totals(institution, tmp_path):
    _october(institution)
    settle("2026-10")
    out = io.StringIO()
    path = tmp_path / "oct.xlsx"
    call_command("export_settlements", "--month", "2026-10", "--format", "xlsx", "-o", str(path), stdout=out)

    assert load_workbook(path).active.max_row == 3
    assert f"已导出 2026年10月 2 家机构的结算结果到 {path}" in out.getvalue()
    assert "实际拨付 ¥9,300.04" in out.getvalue()


def test_command_refuses_a_month_without_settlement(institution, tmp_path):
    _october(institution)
    settle("2026-10")
    with pytest.raises(CommandError, match="2026年9月尚无结算结果") as exc:
        call_command("export_settlements", "--month", "2026-09", "--format", "csv", "-o", str(tmp_path / "x.csv"))
    assert exc.value.returncode == 1
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-13", "--format", "csv"], "无效，应为 YYYY-MM"),
        (["--month", "10/2026", "--format", "csv"], "无效，应为 YYYY-MM"),
        (["--month", "2026-10", "--format", "pdf"], "invalid choice"),
    ],
)
def test_command_refuses_bad_arguments(db, tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_settlements", *args, "-o", str(tmp_path / "x.csv"))
    assert not (tmp_path / "x.csv").exists()


def test_command_refuses_an_unwritable_path(institution, tmp_path):
    _october(institution)
    settle("2026-10")
    with pytest.raises(CommandError, match="无法写入"):
        call_command("export_settlements", "--month", "2026-10", "--format", "csv", "-o", str(tmp_path / "no" / "x.csv"))


# ---- the statement -----------------------------------------------------------------------------------


def test_statement_shows_banner_before_and_approver_after_approval(institution, users):
    _october(institution, refuse=True)
    settle("2026-10")
    settled = MonthlySettlement.objects.get(institution=institution(YINCHUAN), period=OCTOBER)

    draft = _pdf_text(statement_pdf(settled))
    assert "工伤保险医疗费用月度结算单" in draft
    assert YINCHUAN in draft and "2026年10月" in draft
    assert "¥8,400.00" in draft and "捌仟肆佰元整" in draft
    assert "未审批（仅供核对）" in draft and "已审批拨付" not in draft
    assert "治疗非工伤病情的费用" in draft and "6401**********6666" in draft  # the refused line
    assert CARD not in draft and "640102197705056666" not in draft  # card numbers are masked

    settle("2026-10", approve_as=users["staff_yinchuan"])
    settled = MonthlySettlement.objects.get(institution=institution(YINCHUAN), period=OCTOBER)  # rebuilt on approval
    final = _pdf_text(statement_pdf(settled))
    assert "已审批拨付" in final and "银川经办员" in final
    assert "未审批" not in final


def test_category_table_is_one_query(institution, django_assert_num_queries):
    _october(institution, refuse=True)
    settle("2026-10")
    settled = MonthlySettlement.objects.get(institution=institution(YINCHUAN), period=OCTOBER)
    with django_assert_num_queries(1):
        table = category_table(settled)
    assert [c["label"] for c in table] == ["住院", "门诊", "康复", "辅助器具"]
    outpatient, inpatient = table[1], table[0]
    assert (outpatient["lines"], outpatient["declared"], outpatient["approved"], outpatient["refused"]) == (
        2, Decimal("833.33"), Decimal("333.33"), 1
    )
    assert (inpatient["lines"], inpatient["approved"]) == (1, Decimal("9000.00"))


def test_statement_lists_offsets_hold_and_what_was_carried_in(institution, users):
    """September is approved with a held line; the line is approved afterwards and a correction is
    registered, so both come into October; a recovery is offset and a deferral holds the payment."""
    staff = users["staff_yinchuan"]
    inst = institution(YINCHUAN)
    import_rows([row(inst.code, period="2026-09", visit="2026-09-03", name="陈静", total="1200.00")])
    held = DeclarationLine.objects.get(name="陈静")
    line_decide(line=held, outcome="hold", actor=None, reason_code="medical_accident")
    settle("2026-09", approve_as=staff)
    line_decide(line=held, outcome="approve", actor=staff, reason_code="appraisal_cleared")
    september = MonthlySettlement.objects.get(institution=inst, period=month("2026-09"))
    adjustment_register(corrects=september, amount="-200.00", reason="重复计费扣回", actor=staff)
    deduction_register(institution=inst, kind="recovery", amount="100.00", reason="追回超标准收费", actor=staff,
                       source_label="WG-2026-0001", effective_from=OCTOBER)
    hold_start(institution=inst, reason="案件调查期间暂缓支付", actor=staff, on=date(2026, 11, 1))
    _october(institution)
    settle("2026-10")

    settled = MonthlySettlement.objects.get(institution=inst, period=OCTOBER)
    ctx = statement_context(settled)
    assert settled.adjustment_amount == Decimal("1000.00")  # 1200.00 carried in, −200.00 corrected
    assert [line["name"] for line in ctx["carried_lines"]] == ["陈静"]
    assert [c["amount"] for c in ctx["corrections"]] == ["-¥200.00"]
    assert [(o["kind"], o["amount"], o["source"]) for o in ctx["offsets"]] == [("追回已支付费用", "¥100.00", "WG-2026-0001")]
    assert ctx["hold"].reason == "案件调查期间暂缓支付"
    assert ctx["money"]["net"] == "¥0.00" and settled.held_amount == settled.payable - Decimal("100.00")
    assert not ctx["stale"]
    line_decide(line=DeclarationLine.objects.get(card_no=CARD, declaration__period=OCTOBER), outcome="reduce", actor=staff,
                reason_code="price_breach", amount="300.00")
    assert statement_context(settled)["stale"]  # reviewed after the run: the statement says so

    settlement_month_approve(period=OCTOBER, agency=staff.agency, actor=staff)
    settled = MonthlySettlement.objects.get(institution=inst, period=OCTOBER)  # rebuilt under the lock on approval
    frozen = statement_context(settled)  # once approved, what was carried in is read from the stamps
    assert [line["name"] for line in frozen["carried_lines"]] == ["陈静"]
    assert [c["amount"] for c in frozen["corrections"]] == ["-¥200.00"]


# ---- the payment summary -----------------------------------------------------------------------------


def test_summary_has_subtotals_per_agency_and_a_grand_total(institution, users):
    _october(institution)
    settle("2026-10", approve_as=users["staff_yinchuan"])

    ws = load_workbook(io.BytesIO(summary_xlsx(period=OCTOBER))).active
    values = [[c.value for c in r] for r in ws.iter_rows()]
    header = values[2]
    net = header.index("实际拨付金额")
    subtotals = {r[0]: Decimal(str(r[net])) for r in values if str(r[0]).startswith("小计")}
    assert subtotals == {
        "小计：银川市社会保险事业管理中心（1 家）": Decimal("8400"),
        "小计：固原市社会保险事业管理中心（1 家）": Decimal("900.04"),
    }
    total = next(r for r in values if str(r[0]).startswith("合计"))
    assert Decimal(str(total[net])) == Decimal("9300.04")
    assert Decimal(str(total[header.index("审核通过金额")])) == Decimal("10333.38")
    assert ws.column_dimensions["C"].width >= 30 and ws["A3"].font.b

    text = _pdf_text(summary_pdf(period=OCTOBER))
    assert "工伤保险医疗费用月度拨付汇总表" in text
    assert "小计：银川市社会保险事业管理中心（1家）" in text and "小计：固原市社会保险事业管理中心（1家）" in text
    assert "合计（2个经办机构，2家协议机构）" in text and "¥9,300.04" in text
    assert "审批人：银川经办员" in text


def test_city_clerk_summary_holds_only_their_agency(institution, users):
    _october(institution)
    settle("2026-10")
    with translation.override("en"):  # a clerk reading the pages in English still prints Chinese papers
        data = summary_xlsx(period=OCTOBER, user=users["staff_guyuan"])
    ws = load_workbook(io.BytesIO(data)).active
    names = {r[2] for r in ws.iter_rows(min_row=4, values_only=True) if r[1]}
    assert names == {GUYUAN}
    assert ws["A4"].value == "固原市社会保险事业管理中心（已计算；尚未审批拨付）"
    with pytest.raises(ApplicationError):
        summary_xlsx(period=OCTOBER, user=users["hospital_admin"])  # an institution has no payment summary


def test_amounts_in_capitals_and_masked_cards():
    assert rmb_upper(Decimal("1005.20")) == "壹仟零伍元贰角整"
    assert rmb_upper(Decimal("100010000.05")) == "壹亿零壹万元零伍分"
    assert mask_card("640102199001011234") == "6401**********1234"
