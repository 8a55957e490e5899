"""Declaration, review and settlement API (issue 4): institutions declare by JSON lines or a file and
see each refused row with its number and reason; the deadline refuses an institution but not the
agency; a foreign id is a 404; staff decide lines, approve in bulk, run and approve the month; the
downloads; receivables; the schema still renders."""

import csv
import hashlib
import io
import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from settlement.models import (
    BatchStatus,
    Declaration,
    DeclarationImport,
    DeclarationLine,
    ImportSource,
    LineStatus,
    MonthlyBatch,
    MonthlySettlement,
)
from settlement.services.declaration_rows import KEYS
from tests.settlement_helpers import GUYUAN, YINCHUAN, csv_bytes, import_rows, month, row, settle

SHANGHAI = ZoneInfo("Asia/Shanghai")
BEFORE_DEADLINE = datetime(2026, 11, 5, 9, tzinfo=SHANGHAI)  # October may still be declared
AFTER_DEADLINE = datetime(2026, 11, 11, 9, tzinfo=SHANGHAI)  # October closed for institutions on the 10th

LINES = reverse("api:declaration-lines")
UPLOAD = reverse("api:declaration-import")


def _error(response, status, code=None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    if code:
        assert body["code"] == code, body
    return body


def _all(client, url, **params) -> list[dict]:
    """Follow the pagination to the end."""
    rows, page = [], 1
    while True:
        response = client.get(url, {**params, "page": page})
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        page += 1


def _line(code, **kwargs) -> dict:
    """One line for the JSON API, keyed as declaration_rows.KEYS."""
    return dict(zip(KEYS, row(code, **kwargs)))


def _post_lines(client, lines, **extra):
    return client.post(LINES, {"lines": lines, **extra}, content_type="application/json")


def _upload(client, data: bytes, name="declarations.csv", **extra):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **extra})


def _post(client, url, data):
    return client.post(url, data, content_type="application/json")


# ---- declaring ----------------------------------------------------------------------------------


def test_hospital_admin_posts_lines_refused_rows_come_back_good_rows_are_kept(client_for, institution):
    code = institution(YINCHUAN).code
    lines = [
        _line(code, card="640102199001010001", name="甲", total="100.00"),
        _line(code, card="640102199001010002", name="乙", total="100.00", in_scope="90.00"),  # parts ≠ total
        _line(code, card="640102199001010003", name="丙", total="-5"),
    ]
    with time_machine.travel(BEFORE_DEADLINE):
        response = _post_lines(client_for("hospital_admin"), lines)
    assert response.status_code == 201, response.content
    report = response.json()
    assert (report["rows"], report["accepted"], report["duplicates"], report["rejected"]) == (3, 1, 0, 2)
    assert [r["row"] for r in report["rejections"]] == [2, 3]
    assert "与总费用 100.00 不符" in report["rejections"][0]["reason"]
    assert "负数" in report["rejections"][1]["reason"]
    assert response["Location"] == reverse("api:declaration-import-detail", args=[report["batch"]])

    kept = DeclarationLine.objects.get(batch_id=report["batch"])
    assert (kept.name, kept.source_row, kept.late, kept.status) == ("甲", 1, False, LineStatus.PENDING)
    assert DeclarationImport.objects.get(pk=report["batch"]).source == ImportSource.API

    # The same line again is recognised, not added twice.
    with time_machine.travel(BEFORE_DEADLINE):
        again = _post_lines(client_for("hospital_admin"), lines[:1]).json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)


def test_lines_take_chinese_headers_and_json_numbers_keep_their_digits(client_for, institution):
    code = institution(YINCHUAN).code
    body = (
        '{"lines": [{"机构编码": "%s", "结算月份": "2026-10", "社会保障卡号": "640102199001010009", "姓名": "丁",'
        ' "类别": "住院", "就诊日期": "2026-10-01", "出院日期": "2026-10-09", "总费用": 1234.5,'
        ' "统筹范围内费用": 1000.10, "个人自付": 234.4, "非工伤费用": 0}]}' % code
    )
    with time_machine.travel(BEFORE_DEADLINE):
        response = client_for("hospital_admin").post(LINES, body, content_type="application/json")
    assert response.status_code == 201, response.content
    line = DeclarationLine.objects.get(batch_id=response.json()["batch"])
    assert (line.total, line.in_scope, line.self_paid, line.category) == (
        Decimal("1234.50"), Decimal("1000.10"), Decimal("234.40"), "inpatient"
    )


def test_a_request_of_the_wrong_shape_is_refused_whole(client_for, institution):
    c = client_for("hospital_admin")
    code = institution(YINCHUAN).code
    body = _error(_post_lines(c, []), 400, "invalid")
    assert "请至少提交一行申报明细。" in str(body["detail"])
    body = _error(_post_lines(c, [{**_line(code), "remark": "x"}]), 400, "invalid")
    assert "第1行：无法识别的字段“remark”" in str(body["detail"])
    _error(_post_lines(c, [{**_line(code), "机构编码": code}]), 400, "invalid")  # code given twice
    _error(c.post(LINES, "{not json", content_type="application/json"), 400)
    assert not DeclarationImport.objects.exists()
    # An auditor reads but never declares.
    _error(_post_lines(client_for("auditor_yinchuan"), [_line(code)]), 403)


def test_hospital_admin_uploads_a_csv_and_reads_every_refused_row(client_for, institution):
    code = institution(YINCHUAN).code
    data = csv_bytes([
        row(code, card="640102199001010011", name="甲"),
        row(code, card="640102199001010012", name="乙", total="12.345"),
        row(code, card="640102199001010013", name="丙"),
        row("JG999999", card="640102199001010014", name="丁"),
    ])
    with time_machine.travel(BEFORE_DEADLINE):
        response = _upload(client_for("hospital_admin"), data)
    assert response.status_code == 201, response.content
    report = response.json()
    assert (report["accepted"], report["rejected"]) == (2, 2)
    # Row numbers are the file's lines: the header is line 1.
    assert [r["row"] for r in report["rejections"]] == [3, 5]

    # (A new session: the one above was stamped on the 5th and has expired by the real date.)
    detail = client_for("hospital_admin").get(reverse("api:declaration-import-detail", args=[report["batch"]]))
    assert detail.status_code == 200
    batch = detail.json()
    assert batch["sha256"] == hashlib.sha256(data).hexdigest()
    assert (batch["file_name"], batch["source"], batch["institution"]["name"]) == ("declarations.csv", "api", YINCHUAN)
    assert batch["rejections"]["count"] == 2
    refused = batch["rejections"]["results"]
    assert [r["row_no"] for r in refused] == [3, 5]
    assert "超过两位小数" in refused[0]["reason"] and refused[0]["cells"][3] == "乙"
    assert "JG999999" in refused[1]["reason"]
    assert set(DeclarationLine.objects.filter(batch_id=report["batch"]).values_list("name", flat=True)) == {"甲", "丙"}


def test_a_file_of_the_wrong_shape_or_size_is_refused_whole(client_for, institution, settings):
    c = client_for("hospital_admin")
    body = _error(_upload(c, "机构编码,姓名\nJG000001,张三\n".encode()), 400, "bad_columns")
    assert "缺少列" in body["message"]
    gbk = csv_bytes([row(institution(YINCHUAN).code)]).decode("utf-8").encode("gb18030")
    _error(_upload(c, gbk), 400, "bad_encoding")
    settings.PORTAL_MAX_DECLARATION_UPLOAD_BYTES = 100
    body = _error(_upload(c, csv_bytes([row(institution(YINCHUAN).code)])), 400, "file_too_large")
    assert "文件过大" in body["message"]
    _error(c.post(UPLOAD, {}), 400, "invalid")
    assert not DeclarationImport.objects.exists()


def test_after_the_deadline_the_institution_is_refused_and_staff_declare_late(client_for, institution):
    inst = institution(YINCHUAN)
    lines = [_line(inst.code, card=f"64010219900101002{i}", name=f"逾期{i}") for i in range(2)]
    with time_machine.travel(AFTER_DEADLINE):
        body = _error(_post_lines(client_for("hospital_admin"), lines), 400, "rejected")
        assert "2026年11月10日" in body["message"]
        assert body["detail"]["rejected"] == 2 and body["detail"]["accepted"] == 0
        assert [r["row"] for r in body["detail"]["rejections"]] == [1, 2]
        body = _error(_upload(client_for("hospital_admin"), csv_bytes([row(inst.code)])), 400, "rejected")
        assert "2026年11月10日" in body["message"]
        assert not DeclarationLine.objects.exists()

        # The agency may accept a late declaration: stored and marked 逾期.
        response = _post_lines(client_for("staff_yinchuan"), lines, institution=inst.pk)
    assert response.status_code == 201, response.content
    assert response.json()["late"] is True
    stored = DeclarationLine.objects.filter(batch_id=response.json()["batch"])
    assert stored.count() == 2 and all(line.late for line in stored)
    assert Declaration.objects.get(institution=inst, period=month("2026-10")).late


def test_every_row_refused_for_other_reasons_is_a_400_with_the_report(client_for, institution):
    code = institution(YINCHUAN).code
    with time_machine.travel(BEFORE_DEADLINE):
        body = _error(_post_lines(client_for("hospital_admin"), [_line(code, total="abc")]), 400, "rejected")
    assert "全部被拒绝" in body["message"]
    assert body["detail"]["rejections"][0]["row"] == 1 and "不是有效金额" in body["detail"]["rejections"][0]["reason"]
    # The refused submission is kept with its row, so it can be opened again.
    assert DeclarationImport.objects.get(pk=body["detail"]["batch"]).rejections.count() == 1


def test_staff_declare_only_for_their_own_institutions(client_for, institution):
    guyuan = institution(GUYUAN)
    _error(_post_lines(client_for("staff_yinchuan"), [_line(guyuan.code)], institution=guyuan.pk), 404, "not_found")
    body = _error(_post_lines(client_for("staff_yinchuan"), [_line(guyuan.code)]), 400, "rejected")
    assert "不存在或不属于您可申报的机构" in body["detail"]["rejections"][0]["reason"]


# ---- scoping: another institution's objects are a 404 ------------------------------------------


@pytest.fixture
def two_hospitals(institution, users):
    """October declared by 银川市第一人民医院 and 固原市人民医院 (each as its own administrator,
    before the deadline), reviewed and settled."""
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    with time_machine.travel(BEFORE_DEADLINE):
        own = import_rows([row(yc.code, card="640102199001010031", name="银川甲", total="200.00")],
                          actor=users["hospital_admin"], source=ImportSource.API)
        other = import_rows([row(gy.code, card="640402199001010032", name="固原乙", total="300.00")],
                            actor=users["hospital_guyuan"], source=ImportSource.API)
    assert own.batch.accepted == other.batch.accepted == 1
    settle("2026-10")
    return {
        "own": DeclarationLine.objects.get(batch=own.batch), "other": DeclarationLine.objects.get(batch=other.batch),
        "own_batch": own.batch, "other_batch": other.batch,
        "own_row": MonthlySettlement.objects.get(institution=yc), "other_row": MonthlySettlement.objects.get(institution=gy),
    }


def test_hospital_admin_gets_404_on_another_institutions_objects(client_for, two_hospitals):
    c = client_for("hospital_admin")
    other = two_hospitals["other"]
    urls = [
        reverse("api:declaration-detail", args=[other.declaration_id]),
        reverse("api:line-detail", args=[other.pk]),
        reverse("api:declaration-import-detail", args=[two_hospitals["other_batch"].pk]),
        reverse("api:settlement-detail", args=[two_hospitals["other_row"].pk]),
        reverse("api:settlement-statement", args=[two_hospitals["other_row"].pk]),
    ]
    for url in urls:
        body = _error(c.get(url), 404, "not_found")
        assert GUYUAN not in json.dumps(body, ensure_ascii=False), url
    # A staff action on a foreign line: 404, not the role's 403, so nothing is confirmed…
    _error(_post(c, reverse("api:line-decision", args=[other.pk]), {"outcome": "refuse"}), 404, "not_found")
    # …while its own line gets the 403.
    _error(_post(c, reverse("api:line-decision", args=[two_hospitals["own"].pk]), {"outcome": "refuse"}), 403)

    # Its own objects it reads.
    own = two_hospitals["own"]
    for url in (reverse("api:declaration-detail", args=[own.declaration_id]), reverse("api:line-detail", args=[own.pk]),
                reverse("api:declaration-import-detail", args=[two_hospitals["own_batch"].pk]),
                reverse("api:settlement-detail", args=[two_hospitals["own_row"].pk])):
        assert c.get(url).status_code == 200, url
    # Lists hold only its own rows.
    assert [d["institution"]["name"] for d in _all(c, reverse("api:declaration-list"))] == [YINCHUAN]
    assert [r["institution"]["name"] for r in _all(c, reverse("api:settlement-list"))] == [YINCHUAN]
    assert [r["institution"]["name"] for r in _all(c, reverse("api:declaration-list"), institution=other.declaration.institution_id)] == []
    # Staff of another city do not see it either.
    assert client_for("staff_yinchuan").get(reverse("api:line-detail", args=[other.pk])).status_code == 404


def test_hospital_admin_line_list_holds_its_own_lines_with_outcome_and_reason(client_for, two_hospitals):
    rows = _all(client_for("hospital_admin"), reverse("api:line-list"), month="2026-10")
    assert [r["name"] for r in rows] == ["银川甲"]
    line = rows[0]
    assert (line["status"], line["status_label"], line["approved_amount"]) == ("approved", "审核通过", "200.00")
    assert line["reason"]["code"] == "compliant" and line["reason"]["article"]
    assert line["source_row"] == 2 and line["institution"]["name"] == YINCHUAN
    # Asking for another institution's lines by filter finds nothing.
    other = two_hospitals["other"].declaration.institution_id
    assert _all(client_for("hospital_admin"), reverse("api:line-list"), month="2026-10", institution=other) == []
    # The month is required and must be a month.
    body = _error(client_for("hospital_admin").get(reverse("api:line-list")), 400, "invalid")
    assert "month" in body["detail"]
    body = _error(client_for("hospital_admin").get(reverse("api:line-list"), {"month": "2026-13"}), 400, "invalid")
    assert "2026-13" in body["detail"]["month"][0]


def test_declaration_list_and_detail_carry_counts_and_totals(client_for, two_hospitals):
    c = client_for("staff_region")
    rows = _all(c, reverse("api:declaration-list"), month="2026-10")
    assert {r["institution"]["name"] for r in rows} == {YINCHUAN, GUYUAN}
    yc = next(r for r in rows if r["institution"]["name"] == YINCHUAN)
    assert (yc["period"], yc["line_count"], yc["declared"], yc["approved"], yc["pending"]) == ("2026-10", 1, "200.00", "200.00", 0)
    detail = c.get(reverse("api:declaration-detail", args=[yc["id"]])).json()
    totals = {t["status"]: t for t in detail["totals"]}
    assert totals["approved"]["lines"] == 1 and totals["approved"]["approved"] == "200.00"
    assert totals["pending"]["lines"] == 0
    assert _all(c, reverse("api:declaration-list"), month="2026-09") == []


# ---- review -------------------------------------------------------------------------------------


@pytest.fixture
def pending_lines(institution):
    """Three pending October lines of 银川市第一人民医院 (declared through the command line)."""
    code = institution(YINCHUAN).code
    report = import_rows([row(code, card=f"64010219900101004{i}", name=f"待审{i}", total=str(100 * (i + 1)))
                          for i in range(3)])
    return list(DeclarationLine.objects.filter(batch=report.batch).order_by("source_row"))


def test_staff_decide_a_line_and_a_bad_amount_changes_nothing(client_for, pending_lines):
    c = client_for("staff_yinchuan")
    line = pending_lines[0]  # in scope 100.00
    url = reverse("api:line-decision", args=[line.pk])

    body = _error(_post(c, url, {"outcome": "reduce", "reason": "price_breach", "amount": "150.00"}), 400, "invalid_amount")
    assert "100.00" in body["message"]
    _error(_post(c, url, {"outcome": "reduce", "reason": "price_breach", "amount": "60.555"}), 400, "invalid_amount")
    body = _error(_post(c, url, {"outcome": "reduce", "reason": "price_breach"}), 400, "invalid")
    assert "amount" in body["detail"]
    _error(_post(c, url, {"outcome": "refuse", "reason": "device_unconfirmed"}), 400, "reason_not_applicable")
    _error(_post(c, url, {"outcome": "refuse"}), 400, "reason_required")
    line.refresh_from_db()
    assert (line.status, line.approved_amount, line.reason_id) == (LineStatus.PENDING, None, None)

    response = _post(c, url, {"outcome": "reduce", "reason": "price_breach", "amount": 60.5, "note": "超标准收费"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["message"].startswith("已核减")
    decided = body["line"]
    assert (decided["status"], decided["approved_amount"], decided["review_note"]) == ("reduced", "60.50", "超标准收费")
    assert decided["reason"] == {"code": "price_breach", "label": "违反医疗服务价格规定收费", "article": "医疗协议第二十八条"}
    line.refresh_from_db()
    assert (line.status, line.approved_amount) == (LineStatus.REDUCED, Decimal("60.50"))

    # The institution sees the outcome and the reason on its line.
    seen = client_for("hospital_admin").get(reverse("api:line-detail", args=[line.pk])).json()
    assert (seen["status"], seen["reason"]["article"], seen["approved_amount"]) == ("reduced", "医疗协议第二十八条", "60.50")
    # Auditors read, they do not decide.
    _error(_post(client_for("auditor_yinchuan"), url, {"outcome": "approve"}), 403)
    # Another city's staff does not find the line.
    _error(_post(client_for("staff_guyuan"), url, {"outcome": "approve"}), 404, "not_found")


def test_bulk_approval_of_the_pending_lines(client_for, pending_lines, institution):
    c = client_for("staff_yinchuan")
    url = reverse("api:lines-approve-pending")
    _post(c, reverse("api:line-decision", args=[pending_lines[2].pk]), {"outcome": "hold", "reason": "medical_accident"})
    _error(_post(c, url, {"month": "2026-10", "institution": institution(GUYUAN).pk}), 404, "not_found")
    body = _error(_post(c, url, {"month": "10/2026"}), 400, "invalid")
    assert "YYYY-MM" in body["detail"]["month"][0]

    response = _post(c, url, {"month": "2026-10", "institution": institution(YINCHUAN).pk})
    assert response.status_code == 200, response.content
    result = response.json()
    assert (result["approved"], result["amount"], result["carried"], result["held"]) == (2, "300.00", 0, 1)
    assert "批量审核通过 2 条" in result["message"]
    statuses = list(DeclarationLine.objects.filter(pk__in=[x.pk for x in pending_lines]).order_by("source_row")
                    .values_list("status", flat=True))
    assert statuses == [LineStatus.APPROVED, LineStatus.APPROVED, LineStatus.HELD]
    assert _post(c, url, {"month": "2026-10"}).json()["approved"] == 0
    _error(_post(client_for("auditor_yinchuan"), url, {"month": "2026-10"}), 403)


def test_review_reasons_cite_their_article(client_for):
    c = client_for("hospital_admin")
    reasons = c.get(reverse("api:review-reasons")).json()
    assert len(reasons) >= 10 and all(r["article"] for r in reasons)
    device = c.get(reverse("api:review-reasons"), {"outcome": "refuse", "category": "outpatient"}).json()
    codes = {r["code"] for r in device}
    assert "non_injury" in codes and "device_unconfirmed" not in codes and "compliant" not in codes


# ---- the month-end ------------------------------------------------------------------------------


def test_run_approve_and_freeze_the_month(client_for, pending_lines, users, django_capture_on_commit_callbacks):
    c = client_for("staff_yinchuan")
    _post(c, reverse("api:lines-approve-pending"), {"month": "2026-10"})

    body = _error(_post(c, reverse("api:settlement-runs"), {"month": "2026-11"}), 400, "month_not_closed")
    assert "2026年11月尚未结束" in body["message"]
    guyuan_agency = users["staff_guyuan"].agency_id
    _error(_post(c, reverse("api:settlement-runs"), {"month": "2026-10", "agency": guyuan_agency}), 404, "not_found")
    _error(_post(client_for("auditor_yinchuan"), reverse("api:settlement-runs"), {"month": "2026-10"}), 403)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(c, reverse("api:settlement-runs"), {"month": "2026-10"})
    assert response.status_code == 202, response.content
    run = response.json()
    assert run["status"] in ("queued", "succeeded") and response["Location"] == run["url"]
    done = c.get(run["url"]).json()
    assert done["status"] == "succeeded", done
    assert "2026年10月月度结算完成" in done["text"]
    assert client_for("staff_guyuan").get(run["url"]).status_code == 404
    assert client_for("hospital_admin").get(run["url"]).status_code == 404

    rows = _all(c, reverse("api:settlement-list"), month="2026-10")
    assert len(rows) == 1
    settled = rows[0]
    assert (settled["approved_amount"], settled["deposit_rate"], settled["deposit"], settled["payable"],
            settled["net_amount"], settled["frozen"]) == ("600.00", "0.1000", "60.00", "540.00", "540.00", False)
    assert settled["rule_version"]
    months = _all(c, reverse("api:settlement-months"), month="2026-10")
    assert [(m["status"], m["institution_count"], m["approved_amount"], m["net_amount"]) for m in months] == [
        ("calculated", 1, "600.00", "540.00")
    ]

    approve = reverse("api:settlement-approve")
    _error(_post(c, approve, {"month": "2026-10", "agency": guyuan_agency}), 404, "not_found")
    _error(_post(c, approve, {"month": "2026-10", "expected_net": "1.00"}), 409, "stale")
    response = _post(c, approve, {"month": "2026-10", "expected_net": "540.00"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["batch"]["status"] == "approved" and body["batch"]["frozen"] is True
    assert body["batch"]["approved_by"]["username"] == "staff_yinchuan"
    assert "冻结" in body["message"]
    assert MonthlyBatch.objects.get(period=month("2026-10"), agency=users["staff_yinchuan"].agency).status == BatchStatus.APPROVED
    assert all(r["frozen"] for r in _all(c, reverse("api:settlement-list"), month="2026-10"))

    _error(_post(c, approve, {"month": "2026-10"}), 409, "frozen")
    # A decided line of a frozen month cannot be changed.
    _error(_post(c, reverse("api:line-decision", args=[pending_lines[0].pk]), {"outcome": "refuse", "reason": "non_injury"}),
           409, "frozen")


def test_export_csv_has_the_interchange_columns(client_for, two_hospitals):
    response = client_for("staff_yinchuan").get(reverse("api:settlement-export"), {"month": "2026-10", "format": "csv"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="settlements_2026-10.csv"' in response["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == ["机构编码", "机构名称", "结算月份", "审核通过金额", "质量保证金", "应拨付金额", "抵扣金额", "实际拨付金额"]
    # Scoped: Yinchuan's staff export Yinchuan's rows only.
    assert [r[1] for r in table[1:]] == [YINCHUAN]
    assert table[1][2:] == ["2026-10", "200.00", "20.00", "180.00", "0.00", "180.00"]

    _error(client_for("staff_yinchuan").get(reverse("api:settlement-export"), {"month": "2026-10", "format": "pdf"}),
           400, "invalid")
    _error(client_for("staff_yinchuan").get(reverse("api:settlement-export"), {"month": "2026-08", "format": "csv"}),
           400, "no_settlement")
    assert client_for("hospital_admin").get(reverse("api:settlement-export"), {"month": "2026-10", "format": "csv"}).status_code == 403


def test_statement_and_summary_downloads(client_for, two_hospitals):
    own = two_hospitals["own_row"]
    pdf = client_for("hospital_admin").get(reverse("api:settlement-statement", args=[own.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    xlsx = client_for("staff_region").get(reverse("api:settlement-summary"), {"month": "2026-10", "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")


# ---- receivables --------------------------------------------------------------------------------


def test_deductions_holds_and_adjustments(client_for, institution, users, two_hospitals):
    c = client_for("staff_yinchuan")
    yc, gy = institution(YINCHUAN), institution(GUYUAN)

    deductions = reverse("api:settlement-deductions")
    data = {"institution": yc.pk, "kind": "recovery", "amount": "50.00", "reason": "违规收费追回", "source_label": "案件2026-01"}
    _error(_post(c, deductions, {**data, "institution": gy.pk}), 404, "not_found")
    _error(_post(c, deductions, {**data, "amount": "-1"}), 400, "invalid_amount")
    _error(_post(client_for("auditor_yinchuan"), deductions, data), 403)
    response = _post(c, deductions, data)
    assert response.status_code == 201, response.content
    assert (response.json()["amount"], response.json()["remaining"]) == ("50.00", "50.00")
    assert [d["reason"] for d in _all(c, deductions)] == ["违规收费追回"]
    assert _all(client_for("staff_guyuan"), deductions) == []

    holds = reverse("api:settlement-holds")
    _error(_post(c, holds, {"institution": gy.pk, "reason": "x"}), 404, "not_found")
    response = _post(c, holds, {"institution": yc.pk, "reason": "涉嫌违规，暂缓支付", "basis": "医疗协议第三十八条"})
    assert response.status_code == 201, response.content
    hold = response.json()
    assert hold["active"] is True
    _error(_post(c, holds, {"institution": yc.pk, "reason": "再次"}), 400, "already_held")
    assert [h["id"] for h in _all(c, holds, active="true")] == [hold["id"]]
    lifted = _post(c, reverse("api:settlement-hold-lift", args=[hold["id"]]), {"note": "整改完毕"})
    assert lifted.status_code == 200, lifted.content
    assert (lifted.json()["active"], lifted.json()["lift_note"]) == (False, "整改完毕")
    assert _all(c, holds, active="true") == []
    assert [h["id"] for h in _all(c, holds)] == [hold["id"]]
    _error(_post(client_for("staff_guyuan"), reverse("api:settlement-hold-lift", args=[hold["id"]]), {}), 404)

    adjustments = reverse("api:settlement-adjustments")
    row = two_hospitals["own_row"]
    _error(_post(c, adjustments, {"settlement": row.pk, "amount": "10.00", "reason": "补付"}), 400, "not_frozen")
    _error(_post(c, adjustments, {"settlement": two_hospitals["other_row"].pk, "amount": "10", "reason": "x"}), 404)
    assert _post(c, reverse("api:settlement-approve"), {"month": "2026-10"}).status_code == 200
    # Approval recomputes the month under its lock; the row keeps its id and is now frozen.
    row = MonthlySettlement.objects.get(pk=row.pk, frozen=True)
    detail = c.get(reverse("api:settlement-detail", args=[row.pk])).json()
    assert [(o["kind"], o["amount"]) for o in detail["offsets"]] == [("recovery", "50.00")]
    assert (detail["payable"], detail["deduction_amount"], detail["net_amount"]) == ("180.00", "50.00", "130.00")
    response = _post(c, adjustments, {"settlement": row.pk, "amount": "-10.00", "reason": "重复收费扣回"})
    assert response.status_code == 201, response.content
    assert (response.json()["corrects"], response.json()["amount"], response.json()["effective_from"]) == (row.pk, "-10.00", "2026-11")
    assert len(_all(c, adjustments)) == 1
    # The approval offset the deduction against October's payable: nothing of it remains.
    assert [d["remaining"] for d in _all(c, deductions)] == ["0.00"]


# ---- query counts --------------------------------------------------------------------------------


def _queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(ctx)


def test_lists_run_the_same_queries_for_one_row_or_many(client_for, institution):
    """No query per row (N+1): the lists read what they render through the selectors' joins."""
    code = institution(YINCHUAN).code
    c = client_for("staff_yinchuan")
    urls = {
        reverse("api:line-list"): {"month": "2026-10"},
        reverse("api:declaration-list"): {},
        reverse("api:settlement-list"): {},
        reverse("api:settlement-months"): {},
    }
    import_rows([row(code, card="640102199001010051", name="一")])
    settle("2026-10")
    few = {url: _queries(c, url, **params) for url, params in urls.items()}
    import_rows([row(code, card=f"64010219900102{i:04d}", name=f"多{i}") for i in range(8)])
    import_rows([row(institution("银川市第二人民医院").code, card="640102199001010052", name="二")])
    settle("2026-10")
    many = {url: _queries(c, url, **params) for url, params in urls.items()}
    assert many == few
    assert len(_all(c, reverse("api:line-list"), month="2026-10")) == 10


# ---- the schema ---------------------------------------------------------------------------------


def test_the_openapi_schema_still_renders(client_for):
    response = client_for("staff_yinchuan").get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/declarations/lines/", "/api/lines/{id}/decision/", "/api/settlements/runs/", "/api/settlements/export/"):
        assert path in text
