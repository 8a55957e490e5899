"""Year-end API (issue 5): the institution applies in January with both documents and is refused
after 31 January while staff file late; staff accept or return; scores set by components or
imported from a file; a bad score changes nothing; the annual run, approval and freezing; a foreign
id is a 404; the export columns; the schema still renders.

The clock is pinned to 2026-11-23 (2025 is over); the January steps travel back, and make their
client inside the travel block (sessions last 30 minutes)."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from settlement.models import (
    AnnualApplication,
    AnnualApplicationStatus,
    AnnualBatch,
    AnnualMaterial,
    AnnualSettlement,
    AssessmentScore,
    BatchStatus,
    ScoreComponent,
)
from settlement.services.annual_applications import annual_application_submit
from settlement.services.year_end import settlement_annual_run
from tests.settlement_helpers import (
    GUYUAN,
    SHANGHAI,
    YINCHUAN,
    annual_documents,
    approve_month,
    declare,
    give_score,
    pdf_upload,
    score_csv,
    settle,
    travel,
)

YEAR = 2025
JANUARY = datetime(2026, 1, 15, 10, tzinfo=SHANGHAI)
FEBRUARY = datetime(2026, 2, 1, 10, tzinfo=SHANGHAI)
APPLICATIONS = reverse("api:annual-application-list")


@pytest.fixture(autouse=True)
def today():
    with travel(2026, 11, 23):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _error(response, status, code=None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    if code:
        assert body["code"] == code, body
    return body


def _post(client, url, data):
    return client.post(url, data, content_type="application/json")


def _score_url(inst, year=YEAR):
    return reverse("api:score-detail", args=[year, inst.pk])


def _year(institution, *, approve_as=None, run=True):
    """2025: 银川一院 333.33 (March) + 9000.00 (July) → deposits 33.33 + 900.00 = 933.33, score 85.5;
    固原医院 1000.05 (May) → 100.01, score 100. Months settled (approved for approve_as's agency)."""
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    declare(yc.code, "333.33", period="2025-03")
    declare(gy.code, "1000.05", period="2025-05")
    declare(yc.code, "9000.00", period="2025-07")
    for m in ("2025-03", "2025-05", "2025-07"):
        settle(m, approve_as=approve_as)
    give_score(yc, "85.5")
    give_score(gy, "100")
    if run:
        settlement_annual_run(year=YEAR)
    return yc, gy


# ---- the application ------------------------------------------------------------------------------


def test_hospital_admin_applies_in_january_with_both_documents(client_for, institution):
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    with time_machine.travel(JANUARY):
        c = client_for("hospital_admin")
        assert c.post(APPLICATIONS, {"year": YEAR, "institution": gy.pk, **annual_documents()}).status_code == 404
        response = c.post(APPLICATIONS, {"year": YEAR, "note": "2025年度结算申请", **annual_documents()})
        assert response.status_code == 201, response.content
        body = response.json()
        assert response["Location"] == body["url"]
        detail = c.get(body["url"])
    assert (body["institution"]["name"], body["year"], body["status"], body["late"]) == (YINCHUAN, 2025, "submitted", False)
    assert body["submitted_by"]["username"] == "hospital_admin" and body["reviewed_by"] is None
    assert body["window"] == {"opens": "2026-01-01", "closes": "2026-01-31"}
    assert sorted((m["kind"], m["original_name"]) for m in body["materials"]) == [
        ("cost_report", "费用情况分析报告.pdf"), ("declaration_form", "结算申报表.pdf")
    ]
    assert detail.status_code == 200 and detail.json()["id"] == body["id"]
    application = AnnualApplication.objects.get()
    assert (application.institution, application.late) == (yc, False)
    assert all(m.file.read().startswith(b"%PDF") for m in application.materials.all())


def test_after_january_the_institution_is_refused_naming_31_january_and_staff_file_late(client_for, institution):
    yc = institution(YINCHUAN)
    with time_machine.travel(FEBRUARY):
        body = _error(client_for("hospital_admin").post(APPLICATIONS, {"year": YEAR, **annual_documents()}),
                      400, "deadline_passed")
        assert "2026年1月31日" in body["message"]
        assert not AnnualApplication.objects.exists() and not AnnualMaterial.objects.exists()

        staff = client_for("staff_yinchuan")
        _error(staff.post(APPLICATIONS, {"year": YEAR, **annual_documents()}), 400, "institution_required")
        _error(client_for("staff_guyuan").post(APPLICATIONS, {"year": YEAR, "institution": yc.pk, **annual_documents()}),
               404, "not_found")
        response = staff.post(APPLICATIONS, {"year": YEAR, "institution": yc.pk, "note": "经办代交", **annual_documents()})
    assert response.status_code == 201, response.content
    assert (response.json()["late"], response.json()["submitted_by"]["username"]) == (True, "staff_yinchuan")
    assert AnnualApplication.objects.get().late is True


def test_an_application_without_both_documents_is_a_400_naming_the_missing_one(client_for):
    with time_machine.travel(JANUARY):
        c = client_for("hospital_admin")
        body = _error(c.post(APPLICATIONS, {"year": YEAR, "declaration_form": pdf_upload("结算申报表.pdf")}),
                      400, "materials_missing")
        assert "费用情况分析报告" in body["message"]
    assert not AnnualApplication.objects.exists() and not AnnualMaterial.objects.exists()


def test_staff_accept_and_return_and_a_return_needs_a_note(client_for):
    with time_machine.travel(JANUARY):
        hospital = client_for("hospital_admin")
        app = hospital.post(APPLICATIONS, {"year": YEAR, **annual_documents()}).json()
        decide = reverse("api:annual-application-decision", args=[app["id"]])
        staff = client_for("staff_yinchuan")
        _error(_post(hospital, decide, {"decision": "accept"}), 403)
        _error(_post(client_for("staff_guyuan"), decide, {"decision": "accept"}), 404, "not_found")
        body = _error(_post(staff, decide, {"decision": "return", "note": ""}), 400, "note_required")
        assert "补正" in body["message"]
        assert AnnualApplication.objects.get().status == AnnualApplicationStatus.SUBMITTED

        response = _post(staff, decide, {"decision": "return", "note": "请补充费用分析报告的第三部分"})
        assert response.status_code == 200, response.content
        assert (response.json()["status"], response.json()["review_note"]) == ("returned", "请补充费用分析报告的第三部分")
        assert hospital.get(app["url"]).json()["status"] == "returned"

        # Completed without sending again what is on file.
        response = hospital.post(APPLICATIONS, {"year": YEAR, "note": "已补充"})
        assert response.status_code == 201, response.content
        again = response.json()
        assert (again["id"], again["status"], len(again["materials"])) == (app["id"], "submitted", 2)

        response = _post(staff, decide, {"decision": "accept"})
        assert response.status_code == 200 and response.json()["status"] == "accepted"
        assert response.json()["reviewed_by"]["username"] == "staff_yinchuan"
        _error(_post(staff, decide, {"decision": "accept"}), 400, "invalid_status")


# ---- scores ---------------------------------------------------------------------------------------------


def test_staff_set_a_score_by_components_and_the_institution_reads_its_own(client_for, institution):
    yc = institution(YINCHUAN)
    staff = client_for("staff_yinchuan")
    response = staff.put(_score_url(yc), {"components": [
        {"kind": "assessment", "label": "年度考核", "points": "70"},
        {"kind": "supervision", "label": "日常监督检查", "points": 15.5},  # a JSON number keeps its digits
    ]}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == "85.50"
    assert [(c["kind"], c["label"], c["points"]) for c in body["components"]] == [
        ("assessment", "年度考核", "70.00"), ("supervision", "日常监督检查", "15.50")
    ]
    assert body["updated_by"]["username"] == "staff_yinchuan"

    hospital = client_for("hospital_admin")
    assert hospital.get(_score_url(yc)).json()["total"] == "85.50"
    _error(hospital.put(_score_url(yc), {"components": [{"points": "100"}]}, content_type="application/json"), 403)
    _error(client_for("staff_guyuan").put(_score_url(yc), {"components": [{"points": "100"}]},
                                          content_type="application/json"), 404)
    assert AssessmentScore.objects.get(institution=yc, year=YEAR).total == Decimal("85.50")


def test_a_score_of_100_5_or_85_555_is_a_400_and_changes_nothing(client_for, institution):
    yc = institution(YINCHUAN)
    give_score(yc, "80")
    before = list(ScoreComponent.objects.values())
    c = client_for("staff_yinchuan")
    for points, why in [("100.5", "超过 100"), (100.5, "超过 100"), ("85.555", "超过两位小数"), (85.555, "超过两位小数")]:
        body = _error(c.put(_score_url(yc), {"components": [{"kind": "assessment", "points": points}]},
                            content_type="application/json"), 400, "invalid_score")
        assert f"“{points}”{why}" in body["message"], body
    # Components within 0–100 each but over 100 together are refused the same way.
    _error(_post(c, _score_url(yc), {"components": [{"kind": "assessment", "points": "60"},
                                                   {"kind": "supervision", "points": "40.01"}]}), 400, "invalid_score")
    assert AssessmentScore.objects.get(institution=yc, year=YEAR).total == Decimal("80.00")
    assert list(ScoreComponent.objects.values()) == before


def test_scores_imported_from_a_csv_report_a_bad_row_by_its_number(client_for, institution):
    yc, gy = _year(institution, run=False)
    yc2 = institution("银川市第二人民医院")
    data = score_csv([[yc.code, "2025", "90"], [yc2.code, "2025", "101"], [gy.code, "2025", "99.5"]])
    url = reverse("api:score-import")

    def upload(client, year=YEAR):
        return client.post(url, {"year": year, "file": SimpleUploadedFile("scores.csv", data, content_type="text/csv")})

    _error(upload(client_for("hospital_admin")), 403)
    _error(upload(client_for("staff_region"), year=2024), 400, "no_deposits")

    response = upload(client_for("staff_region"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["rows"], body["created"], body["updated"], body["unchanged"], body["rejected"]) == (3, 0, 2, 0, 1)
    assert [r["row"] for r in body["rejections"]] == [3]
    assert "超过 100" in body["rejections"][0]["reason"]
    assert {s.institution.name: s.total for s in AssessmentScore.objects.filter(year=YEAR)} == {
        YINCHUAN: Decimal("90.00"), GUYUAN: Decimal("99.50")
    }

    # A clerk imports only their own institutions: 固原's row is refused by number.
    body = upload(client_for("staff_yinchuan")).json()
    assert [r["row"] for r in body["rejections"]] == [3, 4] and body["unchanged"] == 1


# ---- the run, approval, scope ----------------------------------------------------------------------------


def test_the_annual_run_succeeds_and_its_rows_appear(client_for, institution, django_capture_on_commit_callbacks):
    yc, gy = _year(institution, run=False)
    c = client_for("staff_yinchuan")
    runs = reverse("api:annual-settlement-runs")
    body = _error(_post(c, runs, {"year": 2026}), 400, "year_not_over")
    assert "2026年度尚未结束" in body["message"]
    _error(_post(client_for("auditor_yinchuan"), runs, {"year": YEAR}), 403)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(c, runs, {"year": YEAR})
    assert response.status_code == 202, response.content
    run = response.json()
    assert run["kind"] == "annual" and run["year"] == 2025 and response["Location"] == run["url"]
    done = c.get(run["url"]).json()
    assert done["status"] == "succeeded", done
    assert "2025年度质量保证金结算完成：1 家协议机构" in done["text"]

    rows = c.get(reverse("api:annual-settlement-list"), {"year": YEAR}).json()["results"]
    assert [(r["institution"]["name"], r["deposit_total"], r["score"], r["released"], r["forfeited"], r["frozen"])
            for r in rows] == [(YINCHUAN, "933.33", "85.50", "798.00", "135.33", False)]
    assert rows[0]["monthly_deposits"] == {"2025-03": "33.33", "2025-07": "900.00"}
    assert not AnnualSettlement.objects.filter(institution=gy).exists()  # a clerk's run is their agency's


def test_approval_needs_the_months_approved_then_freezes_and_a_second_approval_is_409(
    client_for, institution, users, django_capture_on_commit_callbacks
):
    staff = users["staff_yinchuan"]
    yc, _ = _year(institution)  # months computed, not approved
    c = client_for("staff_yinchuan")
    approve = reverse("api:annual-settlement-approve")
    body = _error(_post(c, approve, {"year": YEAR}), 400, "months_open")
    assert "2025-03" in body["message"] and "2025-07" in body["message"]
    _error(_post(c, approve, {"year": YEAR, "agency": users["staff_guyuan"].agency_id}), 404, "not_found")
    _error(_post(client_for("auditor_yinchuan"), approve, {"year": YEAR}), 403)

    for m in ("2025-03", "2025-07"):
        approve_month(m, staff)
    _error(_post(c, approve, {"year": YEAR, "expected_released": "1.00"}), 409, "stale")
    response = _post(c, approve, {"year": YEAR, "expected_released": "798.00"})
    assert response.status_code == 200, response.content
    batch = response.json()["batch"]
    assert (batch["status"], batch["frozen"], batch["institution_count"], batch["released"]) == ("approved", True, 1, "798.00")
    assert batch["approved_by"]["username"] == "staff_yinchuan" and "冻结" in response.json()["message"]
    assert AnnualSettlement.objects.get(institution=yc, year=YEAR).frozen
    assert AnnualBatch.objects.get(year=YEAR, agency=staff.agency).status == BatchStatus.APPROVED

    _error(_post(c, approve, {"year": YEAR}), 409, "frozen")
    _error(c.put(_score_url(yc), {"components": [{"points": "100"}]}, content_type="application/json"), 400, "frozen")
    with django_capture_on_commit_callbacks(execute=True):
        run = _post(c, reverse("api:annual-settlement-runs"), {"year": YEAR}).json()
    done = c.get(run["url"]).json()
    assert done["status"] == "failed" and "已审批并冻结" in done["error"]
    assert AnnualSettlement.objects.get(institution=yc, year=YEAR).released == Decimal("798.00")


def test_hospital_admin_gets_404_on_another_institutions_application_score_settlement_and_statement(
    client_for, institution, users
):
    yc, gy = _year(institution)
    theirs = annual_application_submit(institution=gy, year=YEAR, materials=annual_documents(), actor=users["staff_guyuan"])
    ours = annual_application_submit(institution=yc, year=YEAR, materials=annual_documents(), actor=users["staff_yinchuan"])
    their_row = AnnualSettlement.objects.get(institution=gy, year=YEAR)
    our_row = AnnualSettlement.objects.get(institution=yc, year=YEAR)
    c = client_for("hospital_admin")

    for url in (
        reverse("api:annual-application-detail", args=[theirs.pk]),
        _score_url(gy),
        reverse("api:annual-settlement-detail", args=[their_row.pk]),
        reverse("api:annual-settlement-statement", args=[their_row.pk]),
    ):
        _error(c.get(url), 404, "not_found")
    # A route the role may not use still answers 404 for a foreign id (core ObjectApi), never 403.
    _error(_post(c, reverse("api:annual-application-decision", args=[theirs.pk]), {"decision": "accept"}), 404, "not_found")

    assert c.get(reverse("api:annual-application-detail", args=[ours.pk])).status_code == 200
    assert c.get(_score_url(yc)).json()["total"] == "85.50"
    assert c.get(reverse("api:annual-settlement-detail", args=[our_row.pk])).json()["released"] == "798.00"
    pdf = c.get(reverse("api:annual-settlement-statement", args=[our_row.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert [a["id"] for a in c.get(APPLICATIONS).json()["results"]] == [ours.pk]
    assert [r["id"] for r in c.get(reverse("api:annual-settlement-list")).json()["results"]] == [our_row.pk]


def test_export_csv_has_the_seven_columns(client_for, institution):
    yc, gy = _year(institution)
    url = reverse("api:annual-settlement-export")
    response = client_for("staff_region").get(url, {"year": YEAR, "format": "csv"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="annual_settlements_2025.csv"' in response["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == ["机构编码", "机构名称", "年度", "保证金总额", "考核得分", "返还金额", "扣留金额"]
    assert sorted(table[1:]) == sorted([
        [yc.code, YINCHUAN, "2025", "933.33", "85.50", "798.00", "135.33"],
        [gy.code, GUYUAN, "2025", "100.01", "100.00", "100.01", "0.00"],
    ])
    own = list(csv.reader(io.StringIO(client_for("staff_yinchuan").get(url, {"year": YEAR, "format": "csv"})
                                      .content.decode("utf-8-sig"))))
    assert [r[1] for r in own[1:]] == [YINCHUAN]
    _error(client_for("staff_region").get(url, {"year": 2024, "format": "csv"}), 400, "no_settlement")
    _error(client_for("staff_region").get(url, {"year": YEAR, "format": "pdf"}), 400, "invalid")
    assert client_for("hospital_admin").get(url, {"year": YEAR, "format": "csv"}).status_code == 403


def test_the_openapi_schema_renders_with_the_year_end_paths(client_for):
    response = client_for("staff_yinchuan").get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/annual-applications/", "/api/annual-applications/{id}/decision/", "/api/scores/import/",
                 "/api/scores/{year}/{institution}/", "/api/annual-settlements/runs/", "/api/annual-settlements/export/",
                 "/api/annual-settlements/years/approve/"):
        assert path in text, path
