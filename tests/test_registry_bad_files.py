"""Files import_registry cannot accept (SPEC §8): a clear Chinese message, nothing stored or lost."""

import csv
import io
import zipfile
from datetime import date

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.demo import DATA_DIR, TABLES
from core.errors import FileRejected
from institutions.models import Designation, HandlingAgency, Institution, LegalEntity
from institutions.services.registry_import import registry_import


def _path(type_):
    return DATA_DIR / dict(TABLES)[type_]


def _rows(type_):
    with open(_path(type_), encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _csv(rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


def _snapshot():
    return {
        "institutions": Institution.objects.count(),
        "designations": Designation.objects.count(),
        "legal_entities": LegalEntity.objects.count(),
        "agencies": HandlingAgency.objects.count(),
        "log_entries": LogEntry.objects.count(),
        "addresses": dict(Institution.objects.values_list("pk", "address")),
    }


@pytest.fixture
def unchanged(registry):
    """After a first good import: yields, then asserts nothing stored changed."""
    before = _snapshot()
    assert before["designations"] == 93
    yield
    assert _snapshot() == before


def _refused(data: bytes, type_: str, name: str = "upload.csv") -> FileRejected:
    with pytest.raises(FileRejected) as exc:
        registry_import(fh=io.BytesIO(data), type_=type_, name=name)
    return exc.value


# ---- the service ----------------------------------------------------------------------------


def test_devices_file_imported_as_medical_lists_the_missing_columns(unchanged):
    err = _refused(_path("devices").read_bytes(), "medical")
    assert err.code == "bad_columns"
    assert "缺少列" in err.message
    for column in ("医疗等级", "医院属性", "属地经办机构", "经办机构联系电话"):
        assert column in err.message
    assert "医疗机构" in err.message
    assert set(err.detail["missing"]) == {"医疗等级", "医院属性", "属地经办机构", "经办机构联系电话"}


def test_medical_file_imported_as_devices_lists_the_unknown_columns(unchanged):
    err = _refused(_path("medical").read_bytes(), "devices")
    assert err.code == "bad_columns"
    assert "无法识别的列" in err.message and "医疗等级" in err.message


def test_a_missing_column_is_named(unchanged):
    rows = [[c for i, c in enumerate(r) if i != 6] for r in _rows("medical")]  # drop 地址
    err = _refused(_csv(rows), "medical")
    assert err.code == "bad_columns"
    assert "缺少列：地址" in err.message
    assert err.detail["missing"] == ["地址"]


def test_an_empty_file_of_zero_bytes(unchanged):
    err = _refused(b"", "medical")
    assert err.code == "empty_file"
    assert "文件为空" in err.message


def test_a_file_of_blank_lines_is_empty(unchanged):
    err = _refused(b"\r\n\r\n  \n", "rehabilitation")
    assert err.code == "empty_file"


def test_a_header_only_file(unchanged):
    err = _refused(_csv(_rows("rehabilitation")[:1]), "rehabilitation")
    assert err.code == "empty_file"
    assert "只有表头" in err.message


def test_a_gbk_encoded_csv_names_gbk_and_utf8(unchanged):
    data = _path("medical").read_text(encoding="utf-8").encode("gbk")
    err = _refused(data, "medical")
    assert err.code == "bad_encoding"
    assert "GBK" in err.message and "UTF-8" in err.message


def test_a_file_in_no_chinese_encoding_is_refused(unchanged):
    err = _refused(b"\x81\x30\xff\xfe\xff" * 10, "medical")
    assert err.code == "bad_encoding"
    assert "UTF-8" in err.message


def test_a_50_mb_upload_is_refused_as_too_large(unchanged):
    header = _path("medical").read_bytes().splitlines()[0] + b"\n"
    data = header + b" " * (50 * 1024 * 1024 - len(header))
    err = _refused(data, "medical")
    assert err.code == "file_too_large"
    assert "文件过大" in err.message and "MB" in err.message


def test_too_large_is_judged_without_reading_the_whole_upload(unchanged, settings):
    settings.PORTAL_MAX_TABLE_UPLOAD_BYTES = 1024

    class Upload(io.BytesIO):
        largest_read = 0

        def read(self, size=-1):
            Upload.largest_read = max(Upload.largest_read, size)
            return super().read(size)

    fh = Upload(b"x" * 5000)
    with pytest.raises(FileRejected) as exc:
        registry_import(fh=fh, type_="medical", name="big.csv")
    assert exc.value.code == "file_too_large"
    assert 0 < Upload.largest_read <= 1025


def test_a_duplicate_seq_no_names_the_seq_no_and_both_rows(unchanged):
    rows = _rows("medical")
    rows[12][0] = "5"  # file row 13 repeats 序号 5 of file row 6
    err = _refused(_csv(rows), "medical")
    assert err.code == "duplicate_seq"
    assert "序号 5" in err.message
    assert "第6、13行" in err.message
    assert err.detail["duplicates"] == {"5": [6, 13]}


def test_a_non_xlsx_binary_named_xlsx(unchanged):
    err = _refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000, "medical", name="名单.xlsx")
    assert err.code == "bad_xlsx"
    assert "xlsx" in err.message.lower() and "Excel" in err.message


def test_a_zip_that_is_not_a_workbook(unchanged):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "not a workbook")
    err = _refused(buf.getvalue(), "medical", name="名单.xlsx")
    assert err.code == "bad_xlsx"
    assert "损坏" in err.message


def test_an_unknown_extra_column(unchanged):
    rows = _rows("devices")
    rows[0].append("备注")
    for r in rows[1:]:
        r.append("")
    err = _refused(_csv(rows), "devices")
    assert err.code == "bad_columns"
    assert "无法识别的列：备注" in err.message
    assert err.detail["unknown"] == ["备注"]


def test_a_file_without_a_seq_no_header(unchanged):
    rows = _rows("devices")
    rows[0][0] = "编号"
    err = _refused(_csv(rows), "devices")
    assert err.code == "bad_header"
    assert "序号" in err.message


def test_an_unknown_type(unchanged):
    err = _refused(_path("devices").read_bytes(), "pharmacy")
    assert err.code == "bad_type"


def test_a_bad_file_before_any_import_stores_nothing(db):
    with pytest.raises(FileRejected):
        registry_import(fh=io.BytesIO(_path("devices").read_bytes()), type_="medical", name="x.csv")
    assert Institution.objects.count() == HandlingAgency.objects.count() == LogEntry.objects.count() == 0


# ---- the management command -----------------------------------------------------------------


def test_command_raises_command_error_with_the_message(unchanged, tmp_path):
    path = tmp_path / "devices_as_medical.csv"
    path.write_bytes(_path("devices").read_bytes())
    with pytest.raises(CommandError) as exc:
        call_command("import_registry", str(path), type="medical")
    assert "缺少列" in str(exc.value) and "医疗等级" in str(exc.value)
    assert str(path) in str(exc.value)


def test_command_refuses_a_gbk_file(unchanged, tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(_path("rehabilitation").read_text(encoding="utf-8").encode("gbk"))
    with pytest.raises(CommandError, match="GBK"):
        call_command("import_registry", str(path), type="rehabilitation")


def test_command_refuses_a_missing_file(unchanged, tmp_path):
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(CommandError) as exc:
        call_command("import_registry", str(missing), type="medical")
    assert "找不到文件" in str(exc.value) and str(missing) in str(exc.value)


def test_command_refuses_a_directory(unchanged, tmp_path):
    with pytest.raises(CommandError):
        call_command("import_registry", str(tmp_path), type="medical")


@pytest.mark.parametrize("as_of", ["2026-13", "2026-00", "2026-3", "202603", "March"])
def test_command_refuses_a_bad_as_of(unchanged, as_of):
    with pytest.raises(CommandError) as exc:
        call_command("import_registry", str(_path("medical")), type="medical", as_of=as_of)
    assert "--as-of" in str(exc.value) and "YYYY-MM" in str(exc.value)


def test_command_refuses_an_unknown_type(unchanged):
    with pytest.raises(CommandError):
        call_command("import_registry", str(_path("medical")), type="pharmacy")


def test_command_as_of_is_stored_on_the_designations(db):
    call_command("import_registry", str(_path("devices")), type="devices", as_of="2026-03", stdout=io.StringIO())
    assert set(Designation.objects.values_list("as_of", flat=True)) == {date(2026, 3, 1)}


# ---- the page -------------------------------------------------------------------------------


def _post_import(client, data: bytes, name: str, type_: str = "medical"):
    upload = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post(reverse("institutions:import"), {"type": type_, "as_of": "2026-03", "file": upload})


def test_page_shows_the_gbk_message_and_changes_nothing(client_for, unchanged):
    data = _path("medical").read_text(encoding="utf-8").encode("gbk")
    response = _post_import(client_for("staff_yinchuan"), data, "名单.csv")
    assert response.status_code == 200
    text = response.content.decode()
    assert "未导入" in text and "GBK" in text and "UTF-8" in text
    assert "导入报告" not in text


def test_page_shows_the_missing_columns(client_for, unchanged):
    response = _post_import(client_for("staff_yinchuan"), _path("devices").read_bytes(), "devices.csv")
    assert response.status_code == 200
    assert "缺少列" in response.content.decode()


def test_page_refuses_an_oversized_upload(client_for, unchanged, settings):
    settings.PORTAL_MAX_TABLE_UPLOAD_BYTES = 4096
    header = _path("medical").read_bytes().splitlines()[0] + b"\n"
    response = _post_import(client_for("staff_yinchuan"), header + b" " * 10000, "big.csv")
    assert response.status_code == 200
    assert "文件过大" in response.content.decode()


def test_page_import_of_the_same_file_reports_unchanged(client_for, unchanged):
    response = _post_import(client_for("staff_yinchuan"), _path("devices").read_bytes(), "devices.csv", "devices")
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5)
