"""Monthly declarations into the portal (SPEC §4, §8): import_declarations and the declarations_import
service behind every way of declaring (file upload, form, API, command line).

A file of the wrong shape is refused whole; a bad row is refused with its row number and reason and
never stops the good ones; the same line sent twice is stored once; institutions declare last
month by the 10th (W§28), the agency's own tools may accept a late declaration and mark it 逾期.
"""

import hashlib
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from core.errors import FileRejected, PermissionDenied
from settlement.models import (
    Declaration,
    DeclarationImport,
    DeclarationLine,
    ImportRejection,
    ImportSource,
    LineStatus,
    MonthlyBatch,
)
from settlement.services import declaration_import
from settlement.services.declaration_files import open_rows
from settlement.services.declaration_import import declarations_import
from settlement.services.declaration_rows import HEADERS
from tests.settlement_helpers import (
    at_once,
    GUYUAN,
    YINCHUAN,
    command,
    command_refused,
    csv_bytes,
    declare,
    import_rows,
    lines_of,
    month,
    row,
    settle,
    travel,
    write_file,
    xlsx_bytes,
)


def _stored():
    return {
        "imports": DeclarationImport.objects.count(),
        "rejections": ImportRejection.objects.count(),
        "declarations": Declaration.objects.count(),
        "lines": DeclarationLine.objects.count(),
    }


NOTHING = {"imports": 0, "rejections": 0, "declarations": 0, "lines": 0}


def _counts(batch):
    batch.refresh_from_db()
    return {"rows": batch.rows, "accepted": batch.accepted, "duplicates": batch.duplicates, "rejected": batch.rejected}


def _last_batch():
    return DeclarationImport.objects.order_by("-pk").first()


# ---- files that import ----------------------------------------------------------------------------


def _two_rows_as_text(code):
    return [
        [code, "2026-10", "640102199001011234", "张三", "住院", "2026-10-03", "2026-10-09", "1234.5", "1000", "200.50", "34"],
        [code, "2026-10", "640102199202022345", "李四", "门诊", "2026-10-05", "", "88.80", "88.80", "", ""],
    ]


def _two_rows_as_xlsx_cells(code):
    """What a spreadsheet holds: dates as dates, amounts as numbers, blanks as empty cells."""
    return [
        [code, "2026-10", "640102199001011234", "张三", "住院", datetime(2026, 10, 3), datetime(2026, 10, 9), 1234.5, 1000, 200.5, 34],
        [code, "2026-10", "640102199202022345", "李四", "门诊", datetime(2026, 10, 5), None, 88.8, 88.8, None, None],
    ]


@pytest.mark.parametrize("kind", ["csv", "csv_with_bom", "xlsx"])
def test_a_declarations_file_in_csv_with_or_without_bom_or_xlsx_imports_every_line(institution, tmp_path, kind):
    hospital = institution(YINCHUAN)
    if kind == "xlsx":
        data, name = xlsx_bytes(_two_rows_as_xlsx_cells(hospital.code)), "declarations.xlsx"
    else:
        data, name = csv_bytes(_two_rows_as_text(hospital.code), bom=kind == "csv_with_bom"), "declarations.csv"
    path = write_file(tmp_path, data, name)

    with travel(2026, 11, 5):  # before the deadline: nothing is late
        out = command("import_declarations", path)

    assert "rows=2 accepted=2 duplicates=0 rejected=0" in out
    batch = _last_batch()
    assert (batch.source, batch.file_name, batch.institution, batch.late) == (ImportSource.COMMAND, path, None, False)
    assert batch.sha256 == hashlib.sha256(data).hexdigest()
    declaration = Declaration.objects.get()
    assert (declaration.institution, declaration.period, declaration.late) == (hospital, date(2026, 10, 1), False)
    got = list(
        DeclarationLine.objects.order_by("source_row").values_list(
            "source_row", "card_no", "name", "category", "visit_date", "discharge_date",
            "total", "in_scope", "self_paid", "non_injury", "status", "approved_amount", "late",
        )
    )
    assert got == [
        (2, "640102199001011234", "张三", "inpatient", date(2026, 10, 3), date(2026, 10, 9),
         Decimal("1234.50"), Decimal("1000.00"), Decimal("200.50"), Decimal("34.00"), LineStatus.PENDING, None, False),
        (3, "640102199202022345", "李四", "outpatient", date(2026, 10, 5), None,
         Decimal("88.80"), Decimal("88.80"), Decimal("0.00"), Decimal("0.00"), LineStatus.PENDING, None, False),
    ]
    assert all(line.batch_id == batch.pk for line in DeclarationLine.objects.all())


def test_header_cells_with_stray_spaces_line_breaks_and_a_format_hint_are_accepted(institution, tmp_path):
    headers = [" 机构 编码 ", "结算月份 (YYYY-MM)", "社会保障\n卡号", "姓\u3000名", "类别（住院|门诊|康复|辅助器具）",
               "就诊日期", "出院\r\n日期", "总费用", "统筹范围内\n费用", "个人自付 ", "非工伤费用（元）"]
    code = institution(YINCHUAN).code
    csv_path = write_file(tmp_path, csv_bytes(lines_of(code, "10.00", "20.00"), headers=headers), "a.csv")
    xlsx_path = write_file(tmp_path, xlsx_bytes(lines_of(code, "30.00"), headers=headers), "b.xlsx")

    assert "rows=2 accepted=2 duplicates=0 rejected=0" in command("import_declarations", csv_path)
    assert "rows=1 accepted=1 duplicates=0 rejected=0" in command("import_declarations", xlsx_path)
    assert sorted(DeclarationLine.objects.values_list("in_scope", flat=True)) == [
        Decimal("10.00"), Decimal("20.00"), Decimal("30.00")
    ]


def test_an_xlsx_whose_month_cell_excel_turned_into_a_date_is_read_as_that_month(institution, tmp_path):
    """Excel turns 2026-10 typed in a cell into the date 2026-10-01: the clerk still means October."""
    code = institution(YINCHUAN).code
    cells = [code, datetime(2026, 10, 1), "640102199001011234", "张三", "门诊", datetime(2026, 10, 5), None, 50, 50, 0, 0]
    out = command("import_declarations", write_file(tmp_path, xlsx_bytes([cells]), "excel.xlsx"))
    assert "rows=1 accepted=1 duplicates=0 rejected=0" in out, out
    assert DeclarationLine.objects.get().declaration.period == date(2026, 10, 1)


# ---- files of the wrong shape ------------------------------------------------------------------------


def _truncated_xlsx(code):
    data = xlsx_bytes(lines_of(code, "10.00"))
    return data[: len(data) // 2]


def _gbk_after_the_first_64_kb(code):
    """A UTF-8 file with one GBK-encoded row past the part that is sniffed before reading."""
    good = csv_bytes(lines_of(code, *["10.00"] * 1500))
    assert len(good) > 64 * 1024
    return good + ",".join(lines_of(code, "20.00")[0]).replace("工伤职工", "张三丰").encode("gbk") + b"\r\n"


WRONG_SHAPES = {
    # case: (file bytes for an institution code, file name, phrases of the message)
    "missing column": (lambda code: csv_bytes([r[:-1] for r in lines_of(code, "10.00")], headers=HEADERS[:-1]),
                       "a.csv", ["缺少列：非工伤费用"]),
    "unknown column": (lambda code: csv_bytes([r + ["x"] for r in lines_of(code, "10.00")], headers=HEADERS + ["备注"]),
                       "a.csv", ["无法识别的列：备注"]),
    "no header": (lambda code: csv_bytes(lines_of(code, "10.00"), headers=["代码", "月份"]), "a.csv", ["找不到表头"]),
    "empty file": (lambda code: b"", "a.csv", ["文件为空"]),
    "GBK-encoded CSV": (lambda code: csv_bytes(lines_of(code, "10.00")).decode("utf-8").encode("gbk"), "a.csv",
                        ["GBK", "UTF-8"]),
    "damaged XLSX": (_truncated_xlsx, "a.xlsx", ["无法读取 XLSX 文件"]),
    "GBK bytes deep in the file": (lambda code: _gbk_after_the_first_64_kb(code), "a.csv", ["非 UTF-8 字符", "整个文件未导入"]),
}


@pytest.mark.parametrize("case", list(WRONG_SHAPES))
def test_a_file_of_the_wrong_shape_is_refused_whole_with_a_message_and_nothing_is_stored(
    institution, users, tmp_path, case
):
    make, name, phrases = WRONG_SHAPES[case]
    data = make(institution(YINCHUAN).code)
    path = write_file(tmp_path, data, name)

    error = command_refused("import_declarations", path)
    for phrase in phrases:
        assert phrase in str(error), f"{phrase!r} not in {error}"
    assert path in str(error)
    assert _stored() == NOTHING

    # The same file uploaded by a clerk through the service behind the pages and the API.
    with pytest.raises(FileRejected) as exc:
        stream = open_rows(io.BytesIO(data), name)
        declarations_import(rows=stream.rows, source=ImportSource.UPLOAD, actor=users["staff_yinchuan"], file_name=name)
    assert all(phrase in exc.value.message for phrase in phrases)
    assert _stored() == NOTHING


# ---- bad rows ------------------------------------------------------------------------------------------


def test_each_bad_row_is_refused_with_its_row_number_and_reason_and_the_good_rows_are_kept(institution, tmp_path):
    yc, gy = institution(YINCHUAN).code, institution(GUYUAN).code
    rows = [
        row(yc, card="A02", total="100.00"),                                             # 2 good
        row("JG999999", card="A03"),                                                      # 3 unknown institution
        row(yc, card="A04", total="12.3.4"),                                              # 4 malformed amount
        row(yc, card="A05", total="10.00", in_scope="abc"),                               # 5 malformed amount
        row(yc, card="A06", total="10.00", in_scope="15.00", self_paid="-5.00"),          # 6 negative amount
        row(yc, card="A07", total="10.005"),                                              # 7 three decimals
        row(yc, card="A08", total="100.00", in_scope="80.00", self_paid="10.00", non_injury="5.00"),  # 8 parts ≠ total
        row(yc, card="A09", period="2026-12", visit="2026-12-01"),                        # 9 month not closed
        row(yc, card="A10", period="2026-11", visit="2026-11-02"),                        # 10 the current month
        row(yc, card="A11", name=""),                                                     # 11 blank name
        row(yc, card="A12", total="", in_scope="12.00"),                                  # 12 blank total
        row(gy, card="A13", total="50.00"),                                               # 13 good
        row(yc, card="", category="急诊"),                                                 # 14 blank card, bad category
    ]
    path = write_file(tmp_path, csv_bytes(rows))
    with travel(2026, 11, 23):
        out = command("import_declarations", path)

    assert "rows=13 accepted=2 duplicates=0 rejected=11" in out
    expected = {
        3: ["机构编码“JG999999”不存在或不属于您可申报的机构"],
        4: ["总费用“12.3.4”不是有效金额"],
        5: ["统筹范围内费用“abc”不是有效金额"],
        6: ["个人自付“-5.00”为负数"],
        7: ["总费用“10.005”超过两位小数"],
        8: ["统筹范围内费用＋个人自付＋非工伤费用＝95.00，与总费用 100.00 不符"],
        9: ["2026年12月尚未结束"],
        10: ["2026年11月尚未结束"],
        11: ["姓名不能为空"],
        12: ["总费用不能为空"],
        14: ["社会保障卡号不能为空", "类别“急诊”无效"],
    }
    stored = {r.row_no: r for r in ImportRejection.objects.filter(batch=_last_batch())}
    assert sorted(stored) == sorted(expected)
    for row_no, phrases in expected.items():
        for phrase in phrases:
            assert phrase in stored[row_no].reason, (row_no, stored[row_no].reason)
            assert f"拒绝 第{row_no}行：" in out
        assert stored[row_no].cells == rows[row_no - 2], row_no  # the cells as sent
    assert list(DeclarationLine.objects.order_by("source_row").values_list("source_row", "card_no", "in_scope")) == [
        (2, "A02", Decimal("100.00")), (13, "A13", Decimal("50.00"))
    ]
    assert set(Declaration.objects.values_list("institution__code", "period")) == {
        (yc, date(2026, 10, 1)), (gy, date(2026, 10, 1))
    }


def test_reimporting_the_same_file_adds_nothing_and_12_5_is_the_same_amount_as_12_50(institution, tmp_path):
    code = institution(YINCHUAN).code
    rows = [
        row(code, card="C1", total="12.50", visit="2026-10-05"),
        row(code, card="C2", total="30.00", in_scope="20.00", self_paid="10.00"),
        row(code, card="C3", total="7.00"),
        row("JG999999", card="C4"),
    ]
    path = write_file(tmp_path, csv_bytes(rows))
    assert "rows=4 accepted=3 duplicates=0 rejected=1" in command("import_declarations", path)
    first = list(DeclarationLine.objects.order_by("pk").values_list("pk", "fingerprint", "source_row", "batch"))

    assert "rows=4 accepted=0 duplicates=3 rejected=1" in command("import_declarations", path)
    assert _counts(_last_batch()) == {"rows": 4, "accepted": 0, "duplicates": 3, "rejected": 1}

    # The same lines typed differently: 12.5 / 12.50, 2026/10/5 / 2026-10-05, blank / 0 for zero parts.
    retyped = [
        row(code, card="C1", total="12.5", visit="2026/10/5", self_paid="", non_injury="0.00"),
        row(code, card="C2", total="30", in_scope="20.0", self_paid="10"),
        row(code, card="C3", total="7.00"),
        row(code, card="C3", total="7.01"),  # one fen more is another line
    ]
    out = command("import_declarations", write_file(tmp_path, csv_bytes(retyped), "retyped.csv"))
    assert "rows=4 accepted=1 duplicates=3 rejected=0" in out
    assert list(DeclarationLine.objects.order_by("pk").values_list("pk", "fingerprint", "source_row", "batch"))[:3] == first
    assert DeclarationLine.objects.count() == 4
    assert Declaration.objects.count() == 1


def test_an_exact_duplicate_row_inside_one_file_is_counted_once(institution, tmp_path):
    code = institution(YINCHUAN).code
    a, b = lines_of(code, "45.60", "45.60")
    out = command("import_declarations", write_file(tmp_path, csv_bytes([a, b, a])))
    assert "rows=3 accepted=2 duplicates=1 rejected=0" in out
    assert list(DeclarationLine.objects.order_by("source_row").values_list("source_row", "card_no")) == [
        (2, a[2]), (3, b[2])
    ]


def test_month_option_fills_a_blank_month_and_refuses_rows_of_another_month(institution, tmp_path):
    code = institution(YINCHUAN).code
    rows = [
        row(code, period="", card="M1"),
        row(code, period="2026-10", card="M2"),
        row(code, period="2026-09", card="M3", visit="2026-09-05"),
    ]
    path = write_file(tmp_path, csv_bytes(rows))

    out = command("import_declarations", path, month="2026-10")
    assert "rows=3 accepted=2 duplicates=0 rejected=1" in out
    assert "拒绝 第4行：结算月份“2026-09”与指定的月份 2026-10 不符" in out
    assert set(DeclarationLine.objects.values_list("card_no", "declaration__period")) == {
        ("M1", date(2026, 10, 1)), ("M2", date(2026, 10, 1))
    }

    # Without --month a blank month is an error of its row.
    out = command("import_declarations", write_file(tmp_path, csv_bytes([row(code, period="", card="M4")]), "b.csv"))
    assert "拒绝 第2行：结算月份不能为空" in out

    for bad in ("2026-13", "10/2026", "2026-1"):
        error = command_refused("import_declarations", path, month=bad)
        assert f"--month 的值“{bad}”无效" in str(error)
    assert DeclarationLine.objects.count() == 2


# ---- deadlines (W§28: by the 10th of the next month) ---------------------------------------------------


def test_an_institution_declares_october_until_10_november_and_is_refused_from_the_11th(institution, users):
    admin = users["hospital_admin"]
    code = institution(YINCHUAN).code

    with travel(2026, 11, 10, hour=23):
        report = import_rows(lines_of(code, "100.00"), actor=admin, source=ImportSource.UPLOAD)
    assert _counts(report.batch) == {"rows": 1, "accepted": 1, "duplicates": 0, "rejected": 0}
    assert report.batch.institution == admin.institution
    assert DeclarationLine.objects.get().late is False

    before = _stored()
    with travel(2026, 11, 11, hour=0):  # midnight in Ningxia (still the 10th in UTC)
        report = import_rows(lines_of(code, "200.00", "300.00"), actor=admin, source=ImportSource.UPLOAD)
    assert _counts(report.batch) == {"rows": 2, "accepted": 0, "duplicates": 0, "rejected": 2}
    assert report.refused_for_deadline
    for row_no, reason in report.rejections:
        assert "2026年10月费用的申报已于2026年11月10日截止" in reason
        assert "逾期申报请联系经办机构" in reason
    assert [r for r, _ in report.rejections] == [2, 3]
    assert _stored() == {**before, "imports": before["imports"] + 1, "rejections": before["rejections"] + 2}
    assert Declaration.objects.get().late is False


def test_agency_staff_and_the_command_may_declare_after_the_deadline_and_it_is_marked_late(
    institution, users, tmp_path
):
    yc, gy = institution(YINCHUAN).code, institution(GUYUAN).code
    with travel(2026, 11, 11):
        report = import_rows(lines_of(yc, "100.00"), actor=users["staff_yinchuan"], source=ImportSource.UPLOAD)
        out = command("import_declarations", write_file(tmp_path, csv_bytes(lines_of(gy, "60.00"))))

    assert _counts(report.batch) == {"rows": 1, "accepted": 1, "duplicates": 0, "rejected": 0}
    assert report.batch.late is True
    assert "rows=1 accepted=1 duplicates=0 rejected=0" in out and "（含逾期申报）" in out
    assert _last_batch().late is True
    assert set(DeclarationLine.objects.values_list("declaration__institution__code", "late")) == {(yc, True), (gy, True)}
    assert set(Declaration.objects.values_list("institution__code", "late")) == {(yc, True), (gy, True)}


# ---- scope --------------------------------------------------------------------------------------------


def test_an_institution_administrator_cannot_declare_for_another_institution(institution, users):
    admin = users["hospital_admin"]
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    with travel(2026, 11, 5):
        report = import_rows(lines_of(gy.code, "100.00") + lines_of(yc.code, "20.00"), actor=admin,
                             source=ImportSource.UPLOAD)
        assert _counts(report.batch) == {"rows": 2, "accepted": 1, "duplicates": 0, "rejected": 1}
        assert report.rejections == [(2, f"机构编码“{gy.code}”不存在或不属于您可申报的机构")]

        # Naming the other institution explicitly does not help either.
        report = import_rows(lines_of(gy.code, "100.00"), actor=admin, source=ImportSource.UPLOAD, institution=gy)
        assert _counts(report.batch)["rejected"] == 1
    assert not Declaration.objects.filter(institution=gy).exists()
    assert not DeclarationLine.objects.filter(declaration__institution=gy).exists()
    assert not MonthlyBatch.objects.filter(agency=gy.agency).exists()


def test_a_city_clerk_cannot_declare_for_another_agencys_institution_and_an_auditor_not_at_all(institution, users):
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    report = import_rows(lines_of(gy.code, "100.00") + lines_of(yc.code, "20.00"), actor=users["staff_yinchuan"],
                         source=ImportSource.UPLOAD)
    assert _counts(report.batch) == {"rows": 2, "accepted": 1, "duplicates": 0, "rejected": 1}
    assert "不存在或不属于您可申报的机构" in report.rejections[0][1]
    assert not DeclarationLine.objects.filter(declaration__institution=gy).exists()

    report = import_rows(lines_of(gy.code, "100.00"), actor=users["staff_guyuan"], source=ImportSource.UPLOAD)
    assert _counts(report.batch)["accepted"] == 1  # its own agency's clerk may

    before = _stored()
    with pytest.raises(PermissionDenied):
        import_rows(lines_of(yc.code, "30.00"), actor=users["auditor_yinchuan"], source=ImportSource.UPLOAD)
    assert _stored() == before


def test_a_row_for_a_month_frozen_after_the_checks_began_is_still_refused_with_its_cells(
    institution, users, monkeypatch
):
    """The checks read the frozen months once; the month lock taken before inserting catches a month
    approved meanwhile, refuses its rows with their row numbers and keeps their cells."""
    yc, gy = institution(YINCHUAN).code, institution(GUYUAN).code
    declare(yc, "10.00")
    settle("2026-10", approve_as=users["staff_yinchuan"])

    real = declaration_import._MonthRule

    def unaware(**kwargs):  # as if the approval had committed just after the checks loaded the months
        rule = real(**kwargs)
        rule.frozen = set()
        return rule

    monkeypatch.setattr(declaration_import, "_MonthRule", unaware)
    rows = lines_of(gy, "40.00") + lines_of(yc, "50.00")
    report = import_rows(rows)
    assert _counts(report.batch) == {"rows": 2, "accepted": 1, "duplicates": 0, "rejected": 1}
    (rejection,) = ImportRejection.objects.filter(batch=report.batch)
    assert rejection.row_no == 3
    assert "2026年10月的结算已审批拨付并冻结" in rejection.reason
    assert not DeclarationLine.objects.filter(in_scope=Decimal("50.00")).exists()
    assert rejection.cells[:4] == rows[1][:4], "the refused row's cells are kept, as for every refused row"


# ---- two imports at once ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_file_at_the_same_time_store_each_line_once(institution, tmp_path):
    assert connection.vendor == "postgresql"
    rows = lines_of(institution(YINCHUAN).code, *[f"{n}.25" for n in range(1, 151)])
    rows += lines_of(institution(GUYUAN).code, *[f"{n}.75" for n in range(1, 51)])
    path = write_file(tmp_path, csv_bytes(rows))
    at_once(lambda: command("import_declarations", path))

    assert DeclarationLine.objects.count() == 200
    assert DeclarationLine.objects.values("fingerprint").distinct().count() == 200
    assert Declaration.objects.count() == 2
    assert MonthlyBatch.objects.filter(period=month("2026-10")).count() == 2
    batches = [_counts(b) for b in DeclarationImport.objects.all()]
    assert sorted(b["accepted"] for b in batches) == [0, 200]
    assert sorted(b["duplicates"] for b in batches) == [0, 200]
