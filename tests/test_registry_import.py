"""import_registry / export_registry (SPEC §2, §8): the three official tables of March 2026."""

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from core.demo import DATA_DIR, TABLES
from institutions.models import (
    Designation,
    DesignationType,
    HandlingAgency,
    Institution,
    LegalEntity,
)
from institutions.services.registry_import import registry_import

ROW_COUNTS = {"medical": 74, "rehabilitation": 14, "devices": 5}
AS_OF = date(2026, 3, 1)


def _path(type_: str) -> Path:
    return DATA_DIR / dict(TABLES)[type_]


def _read_rows(type_: str) -> list[list[str]]:
    with open(_path(type_), encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _csv_bytes(rows: list[list[str]], bom: bool = False) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def _import(data: bytes, type_: str, name: str = "table.csv"):
    return registry_import(fh=io.BytesIO(data), type_=type_, name=name, as_of=AS_OF)


def _import_file(type_: str):
    with open(_path(type_), "rb") as fh:
        return registry_import(fh=fh, type_=type_, name=_path(type_).name, as_of=AS_OF)


def _row(rows: list[list[str]], seq_no: str) -> list[str]:
    return next(r for r in rows[1:] if r[0] == seq_no)


def _flagged(report) -> dict[str, list[str]]:
    return {r.seq_no: r.flags for r in report.flagged_rows}


# ---- first import ---------------------------------------------------------------------------


def test_three_tables_give_74_medical_14_rehabilitation_5_devices_designations(registry):
    for type_, n in ROW_COUNTS.items():
        assert Designation.objects.filter(type=type_).count() == n
        assert len(registry[type_].rows) == n
        assert registry[type_].rejected == 0
    # Institutions listed in two tables (e.g. 宁夏医科大学总医院) are registered once.
    assert Institution.objects.count() < sum(ROW_COUNTS.values())
    inst = Institution.objects.get(name="宁夏医科大学总医院")
    assert set(inst.designations.values_list("type", flat=True)) == {"medical", "rehabilitation"}


def test_first_import_creates_every_row(db):
    reports = [_import_file(t) for t in ROW_COUNTS]
    for report in reports:
        assert report.created == ROW_COUNTS[report.type]
        assert report.updated == report.unchanged == report.rejected == 0


def test_medical_8_is_flagged_by_seq_no_with_the_format_reason(registry):
    flagged = _flagged(registry["medical"])
    assert set(flagged) == {"8"}
    assert any("格式错误" in f and "19位" in f for f in flagged["8"])
    text = registry["medical"].as_text()
    assert "待核实 序号 8" in text and "19位" in text
    assert "flagged=1" in text


def test_rehabilitation_6_is_flagged_by_seq_no_with_the_check_character_reason(registry):
    flagged = _flagged(registry["rehabilitation"])
    assert set(flagged) == {"6"}
    assert any("校验位" in f and "应为 K" in f for f in flagged["6"])
    assert "待核实 序号 6" in registry["rehabilitation"].as_text()


def test_flagged_rows_are_stored_with_needs_verification_and_the_code_as_printed(registry):
    army = Institution.objects.get(name__startswith="中国人民解放军联勤保障部队第九四二医院")
    sanatorium = Institution.objects.get(name="宁夏回族自治区工人疗养院")
    for inst in (army, sanatorium):
        assert inst.needs_verification is True
        assert inst.legal_entity.uscc_valid is False
        assert inst.verification_notes
    # Never "corrected": the codes are kept exactly as the tables print them.
    assert army.legal_entity.uscc == "A1100000MK0054/7650"
    assert sanatorium.legal_entity.uscc == "12640000454003273X"
    assert "19位" in army.verification_notes
    assert "应为 K" in sanatorium.verification_notes
    # Only these two are flagged.
    assert Institution.objects.filter(needs_verification=True).count() == 2


def test_devices_rows_get_the_yinchuan_city_agency(registry):
    yinchuan = HandlingAgency.objects.get(name="银川市社会保险事业管理中心")
    devices = Designation.objects.filter(type=DesignationType.DEVICES).select_related("institution")
    assert devices.count() == 5
    for d in devices:
        assert d.agency == yinchuan
        assert d.institution.agency == yinchuan


def test_devices_table_alone_creates_the_city_agency(db):
    report = _import_file("devices")
    assert report.created == 5
    assert "银川市社会保险事业管理中心" in report.agencies_created
    agency = HandlingAgency.objects.get(name="银川市社会保险事业管理中心")
    assert agency.level == "city" and agency.division_code == "640100"


def test_names_with_stray_spaces_are_squashed_and_the_original_kept(registry):
    inst = Institution.objects.get(name="银川友善假肢矫形器有限公司")
    assert inst.original["devices"]["协议机构名称"] == "银川友善假肢矫形器有限 公司"
    assert not Institution.objects.filter(name__contains=" ").exists()
    row = next(r for r in registry["devices"].rows if r.seq_no == "1")
    assert any("空格" in n and "有限 公司" in n for n in row.notes)


def test_trailing_spaces_in_codes_and_grades_are_removed(registry):
    inst = Institution.objects.get(name="自治区第五人民医院")  # code printed with a trailing space
    assert inst.legal_entity.uscc == "12640000454500093H"
    assert inst.needs_verification is False
    assert Institution.objects.get(name="吴忠市张氏正骨医院有限公司").grade == "一级其他"


def test_several_phones_in_one_cell_become_a_list(registry):
    inst = Institution.objects.get(name="银川友善假肢矫形器有限公司")
    assert inst.phones == ["0951-8949795", "13995407569"]
    assert inst.original["devices"]["联系电话"] == "0951-8949795/13995407569"
    single = Institution.objects.get(name="银川市第一人民医院")
    assert single.phones == ["0951-6997018"]


def test_extension_is_kept_and_em_dash_normalised(registry):
    army_police = Institution.objects.get(name="中国人民武装警察部队宁夏回族自治区总队医院")
    assert army_police.phones == ["0951-4078114转38320"]
    shizuishan = Designation.objects.get(type="rehabilitation", institution__name="石嘴山市第一人民医院")
    assert shizuishan.agency_phone == "0952-2650318"  # printed 0952—2650318


def test_one_legal_entity_runs_several_institutions(registry):
    entity = LegalEntity.objects.get(uscc="12640100454040971K")
    names = set(entity.institutions.values_list("name", flat=True))
    assert names == {"银川市第一人民医院", "银川市第一人民医院康复医院"}


# ---- re-import ------------------------------------------------------------------------------


def test_reimporting_all_three_changes_nothing_and_writes_no_audit_entry(registry):
    entries = LogEntry.objects.count()
    counts = (Institution.objects.count(), Designation.objects.count(), LegalEntity.objects.count(),
              HandlingAgency.objects.count())
    for type_, n in ROW_COUNTS.items():
        report = _import_file(type_)
        assert (report.created, report.updated, report.rejected) == (0, 0, 0)
        assert report.unchanged == n
        assert report.agencies_created == []
        assert f"created=0 updated=0 unchanged={n}" in report.as_text()
    assert LogEntry.objects.count() == entries
    assert counts == (Institution.objects.count(), Designation.objects.count(), LegalEntity.objects.count(),
                      HandlingAgency.objects.count())


def test_reimport_still_reports_the_flagged_rows(registry):
    again = _import_file("medical")
    assert set(_flagged(again)) == {"8"}
    again = _import_file("rehabilitation")
    assert set(_flagged(again)) == {"6"}


def test_institution_codes_are_unique_and_stable_across_reimport(registry):
    before = dict(Institution.objects.values_list("pk", "code"))
    assert len(set(before.values())) == len(before)
    assert all(re.fullmatch(r"JG\d{6}", c) for c in before.values())
    for type_ in ROW_COUNTS:
        report = _import_file(type_)
        assert all(r.institution_code == before[Institution.objects.get(code=r.institution_code).pk]
                   for r in report.rows)
    assert dict(Institution.objects.values_list("pk", "code")) == before


def test_report_rows_carry_the_institution_code(registry):
    row = next(r for r in registry["medical"].rows if r.seq_no == "1")
    assert row.institution_code == Institution.objects.get(name="银川市第一人民医院").code


def test_changed_address_updates_the_institution_and_leaves_a_history_entry(registry):
    rows = _read_rows("medical")
    row = _row(rows, "2")
    assert row[3] == "银川市第二人民医院"
    old_address = row[6]
    row[6] = "银川市金凤区北京中路999号"
    inst = Institution.objects.get(name="银川市第二人民医院")
    last_entry = LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    report = _import(_csv_bytes(rows), "medical")

    assert (report.created, report.updated, report.unchanged) == (0, 1, 73)
    changed = next(r for r in report.rows if r.status == "updated")
    assert changed.seq_no == "2" and any("地址" in n for n in changed.notes)
    inst.refresh_from_db()
    assert inst.address == "银川市金凤区北京中路999号"
    assert inst.code == changed.institution_code
    about_inst = list(LogEntry.objects.filter(
        pk__gt=last_entry, content_type=ContentType.objects.get_for_model(Institution), object_pk=str(inst.pk)
    ))
    assert len(about_inst) == 1
    entry = about_inst[0]
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.changes_dict["address"] == [old_address, "银川市金凤区北京中路999号"]

    # The same changed file again: nothing more.
    again = _import(_csv_bytes(rows), "medical")
    assert (again.updated, again.unchanged) == (0, 74)


def test_changed_row_in_a_file_the_report_counts_in_the_command_output(registry, tmp_path):
    rows = _read_rows("rehabilitation")
    _row(rows, "7")[7] = "0952-3325012"
    path = tmp_path / "rehab.csv"
    path.write_bytes(_csv_bytes(rows))
    out = io.StringIO()
    call_command("import_registry", str(path), type="rehabilitation", as_of="2026-03", stdout=out)
    assert "created=0 updated=1 unchanged=13" in out.getvalue()
    assert Institution.objects.get(name="石嘴山市第一人民医院").phones == ["0952-3325012"]


# ---- formats --------------------------------------------------------------------------------

MESSY_HEADERS = {
    "序号": "序  号",
    "地址": "地      址",
    "医疗等级": "医疗\n等级",
    "统一社会信用代码": "统一社会\n信用代码",
    "联系电话": " 联系电话 ",
}


def _xlsx_bytes(type_: str) -> bytes:
    from openpyxl import Workbook

    rows = _read_rows(type_)
    wb = Workbook()
    ws = wb.active
    ws.append([f"{type_} 宁夏工伤保险协议机构基础信息情况表（2026年3月）"])
    ws.append([MESSY_HEADERS.get(h, h) for h in rows[0]])
    for row in rows[1:]:
        ws.append([int(row[0]), *row[1:]])  # 序号 as a number cell, as Excel keeps it
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("type_", list(ROW_COUNTS))
def test_xlsx_with_title_row_and_messy_headers_reimports_unchanged(registry, type_):
    entries = LogEntry.objects.count()
    report = _import(_xlsx_bytes(type_), type_, name=f"{type_}.xlsx")
    assert (report.created, report.updated, report.rejected) == (0, 0, 0)
    assert report.unchanged == ROW_COUNTS[type_]
    assert LogEntry.objects.count() == entries


def test_xlsx_is_recognised_by_content_whatever_the_name(registry):
    report = _import(_xlsx_bytes("devices"), "devices", name="upload.bin")
    assert report.unchanged == 5


def test_xlsx_first_import_matches_csv_first_import(db):
    report = _import(_xlsx_bytes("medical"), "medical", name="medical.xlsx")
    assert report.created == 74
    assert set(_flagged(report)) == {"8"}
    assert Institution.objects.get(name="银川市第一人民医院").legal_entity.uscc == "12640100454040971K"


@pytest.mark.parametrize("type_", list(ROW_COUNTS))
def test_csv_with_bom_reimports_unchanged(registry, type_):
    data = _path(type_).read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    report = _import(b"\xef\xbb\xbf" + data, type_)
    assert report.unchanged == ROW_COUNTS[type_]
    assert report.created == report.updated == 0


def test_csv_with_bom_first_import(db):
    report = _import(b"\xef\xbb\xbf" + _path("devices").read_bytes(), "devices")
    assert report.created == 5 and report.rejected == 0


@pytest.mark.parametrize("type_", list(ROW_COUNTS))
def test_export_csv_round_trip_reimports_unchanged(registry, type_, tmp_path):
    out = tmp_path / f"{type_}.csv"
    call_command("export_registry", "--type", type_, "--format", "csv", "-o", str(out), stdout=io.StringIO())
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    header = data.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[-1] == "机构编码"
    entries = LogEntry.objects.count()
    codes = dict(Institution.objects.values_list("pk", "code"))

    stdout = io.StringIO()
    call_command("import_registry", str(out), type=type_, stdout=stdout)

    n = ROW_COUNTS[type_]
    assert f"created=0 updated=0 unchanged={n}" in stdout.getvalue()
    assert LogEntry.objects.count() == entries
    assert dict(Institution.objects.values_list("pk", "code")) == codes


def test_export_round_trip_leaves_the_official_table_unchanged_on_reimport(registry, tmp_path):
    """The rehabilitation export prints the institutions' registered values, which differ from the
    rehabilitation table's own cells for institutions registered from the medical table first.
    Importing the export must not make the official table look changed afterwards."""
    inst = Institution.objects.get(name="石嘴山市第二人民医院")
    registered = (inst.division_code, inst.city_name, inst.grade)
    out = tmp_path / "rehabilitation.csv"
    call_command("export_registry", "--type", "rehabilitation", "--format", "csv", "-o", str(out), stdout=io.StringIO())
    assert _import(out.read_bytes(), "rehabilitation").unchanged == 14

    again = _import_file("rehabilitation")

    assert (again.updated, again.unchanged) == (0, 14)
    inst.refresh_from_db()
    assert (inst.division_code, inst.city_name, inst.grade) == registered


def test_export_after_an_approved_filing_reimports_unchanged_and_the_table_does_not_undo_it(users, tmp_path):
    from institutions.services.filings import filing_approve, filing_submit

    inst = Institution.objects.get(name="银川市第二人民医院")
    filing = filing_submit(institution=inst, changes={"address": "银川市金凤区新址1号"}, reason="搬迁",
                           actor=users["staff_region"])
    filing_approve(filing=filing, actor=users["staff_yinchuan"])
    out = tmp_path / "medical.csv"
    call_command("export_registry", "--type", "medical", "--format", "csv", "-o", str(out), stdout=io.StringIO())

    assert _import(out.read_bytes(), "medical").unchanged == 74
    assert _import_file("medical").unchanged == 74
    inst.refresh_from_db()
    assert inst.address == "银川市金凤区新址1号"


def test_export_xlsx_round_trip_reimports_unchanged(registry, tmp_path):
    out = tmp_path / "medical.xlsx"
    call_command("export_registry", "--type", "medical", "--format", "xlsx", "-o", str(out), stdout=io.StringIO())
    report = _import(out.read_bytes(), "medical", name="medical.xlsx")
    assert report.unchanged == 74 and report.updated == report.created == 0


def test_export_lists_institution_codes(registry, tmp_path):
    out = tmp_path / "devices.csv"
    call_command("export_registry", "--type", "devices", "--format", "csv", "-o", str(out), stdout=io.StringIO())
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == ["序号", "地市名称", "行政区划代码", "协议机构名称", "统一社会信用代码", "联系电话", "地址", "机构编码"]
    codes = {r[3]: r[-1] for r in rows[1:]}
    assert codes["银川友善假肢矫形器有限公司"] == Institution.objects.get(name="银川友善假肢矫形器有限公司").code


# ---- bad codes in later files ---------------------------------------------------------------


def test_17_character_code_for_a_registered_institution_keeps_the_stored_valid_code(registry):
    rows = _read_rows("medical")
    row = _row(rows, "1")
    assert row[5] == "12640100454040971K"
    row[5] = "12640100454040971"
    inst = Institution.objects.get(name="银川市第一人民医院")
    entities = LegalEntity.objects.count()

    report = _import(_csv_bytes(rows), "medical")

    assert report.created == 0
    outcome = next(r for r in report.rows if r.seq_no == "1")
    assert outcome.institution_code == inst.code
    assert any("17位" in f for f in outcome.flags)
    assert any("保留原代码 12640100454040971K" in f for f in outcome.flags)
    assert "待核实 序号 1" in report.as_text()
    inst.refresh_from_db()
    assert inst.legal_entity.uscc == "12640100454040971K"
    assert inst.legal_entity.uscc_valid is True
    assert inst.needs_verification is True
    assert "17位" in inst.verification_notes
    assert LegalEntity.objects.count() == entities
    assert not LegalEntity.objects.filter(uscc="12640100454040971").exists()


def test_17_character_code_for_a_new_institution_is_stored_and_flagged(registry):
    rows = _read_rows("medical")
    new = list(_row(rows, "1"))
    new[0] = "75"
    new[3] = "银川市新建示范医院"
    new[5] = "12640100454040971"
    rows.append(new)

    report = _import(_csv_bytes(rows), "medical")

    assert (report.created, report.unchanged) == (1, 74)
    outcome = next(r for r in report.rows if r.seq_no == "75")
    assert outcome.status == "created"
    assert any("17位" in f for f in outcome.flags)
    assert "待核实 序号 75" in report.as_text()
    inst = Institution.objects.get(name="银川市新建示范医院")
    assert inst.code == outcome.institution_code
    assert inst.needs_verification is True
    assert inst.legal_entity.uscc == "12640100454040971"
    assert inst.legal_entity.uscc_valid is False
    assert "17位" in inst.legal_entity.uscc_problem
    assert Designation.objects.filter(institution=inst, type="medical", seq_no=75).exists()


def test_new_institution_gets_a_new_code_never_a_reused_one(registry):
    codes = set(Institution.objects.values_list("code", flat=True))
    rows = _read_rows("devices")
    new = list(_row(rows, "5"))
    new[0], new[3] = "6", "宁夏测试辅具有限公司"
    rows.append(new)
    report = _import(_csv_bytes(rows), "devices")
    outcome = next(r for r in report.rows if r.seq_no == "6")
    assert outcome.status == "created"
    assert outcome.institution_code not in codes
    assert int(outcome.institution_code[2:]) > max(int(c[2:]) for c in codes)


def test_a_bad_row_is_reported_and_the_good_rows_still_import(db):
    rows = _read_rows("devices")
    _row(rows, "3")[3] = "   "  # no name
    report = _import(_csv_bytes(rows), "devices")
    assert (report.created, report.rejected) == (4, 1)
    rejected = next(r for r in report.rows if r.status == "rejected")
    assert rejected.seq_no == "3" and rejected.line == 4
    assert "机构名称为空" in report.as_text()
    assert Designation.objects.filter(type="devices").count() == 4
