"""The REST API: scoping (a foreign id is a 404), roles, tokens, imports, filings, applications."""

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.authtoken.models import Token

from institutions.models import ChangeFiling, Institution

DATA = Path(__file__).resolve().parent.parent / "institutions" / "data"
MEDICAL_CSV = DATA / "registry_medical_2026-03.csv"

YINCHUAN_FIRST = "银川市第一人民医院"
GUYUAN = "固原市人民医院"


def all_results(client, url, **params):
    """Follow the pagination to the end."""
    results, page = [], 1
    while True:
        response = client.get(url, {**params, "page": page})
        assert response.status_code == 200, response.content
        body = response.json()
        results += body["results"]
        if not body["next"]:
            return results
        page += 1


def assert_error_body(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    if code:
        assert body["code"] == code
    return body


# ---- listing and scoping ---------------------------------------------------------------------------


def test_regional_staff_sees_every_designation(client_for):
    rows = all_results(client_for("staff_region"), "/api/institutions/")
    assert len(rows) == Institution.objects.count()
    assert sum(len(r["designation_types"]) for r in rows) == 93


def test_list_filters_reuse_the_selector(client_for):
    client = client_for("staff_region")
    medical = all_results(client, "/api/institutions/", type="medical")
    assert medical and all("medical" in r["designation_types"] for r in medical)
    flagged = all_results(client, "/api/institutions/", needs_verification="true")
    assert flagged and all(r["needs_verification"] for r in flagged)
    assert_error_body(client.get("/api/institutions/", {"type": "hotel"}), 400, "invalid")


def test_city_staff_does_not_see_other_city(client_for, institution):
    client = client_for("staff_yinchuan")
    names = {r["name"] for r in all_results(client, "/api/institutions/")}
    assert YINCHUAN_FIRST in names
    assert GUYUAN not in names
    assert_error_body(client.get(f"/api/institutions/{institution(GUYUAN).pk}/"), 404, "not_found")


def test_hospital_admin_sees_only_its_own_institution(client_for, institution):
    client = client_for("hospital_admin")
    own, other = institution(YINCHUAN_FIRST), institution(GUYUAN)
    rows = all_results(client, "/api/institutions/")
    assert [r["id"] for r in rows] == [own.pk]

    detail = client.get(f"/api/institutions/{own.pk}/").json()
    assert detail["uscc"] == own.legal_entity.uscc
    assert {"uscc_valid", "needs_verification", "verification_notes", "phones", "agency", "designations"} <= set(detail)

    assert client.get(f"/api/institutions/{other.pk}/").status_code == 404
    assert client.get(f"/api/institutions/{other.pk}/history/").status_code == 404
    # verify is staff-only, but a foreign id still answers 404, not 403 (nothing is confirmed)…
    assert client.post(f"/api/institutions/{other.pk}/verify/", {"note": "x"}).status_code == 404
    # …while its own institution gets the role's 403.
    assert_error_body(client.post(f"/api/institutions/{own.pk}/verify/", {"note": "x"}), 403)



def test_staff_verify_flagged_institution(client_for):
    client = client_for("staff_region")
    flagged = all_results(client, "/api/institutions/", needs_verification="1")[0]
    url = f"/api/institutions/{flagged['id']}/verify/"
    assert_error_body(client.post(url, {"note": ""}), 400, "note_required")
    body = client.post(url, {"note": "已核对营业执照"}).json()
    assert body["needs_verification"] is False and "已核对营业执照" in body["verification_notes"]
    assert_error_body(client.post(url, {"note": "再次"}), 400, "not_flagged")

def test_agencies_are_scoped(client_for):
    regional = all_results(client_for("staff_region"), "/api/agencies/")
    yinchuan = all_results(client_for("staff_yinchuan"), "/api/agencies/")
    assert [a["name"] for a in yinchuan] == ["银川市社会保险事业管理中心"]
    foreign = next(a for a in regional if a["name"] == "固原市社会保险事业管理中心")
    assert client_for("staff_yinchuan").get(f"/api/agencies/{foreign['id']}/").status_code == 404
    assert client_for("hospital_admin").get("/api/agencies/").status_code == 403


def test_me(client_for):
    body = client_for("hospital_admin").get("/api/me/").json()
    assert body["username"] == "hospital_admin"
    assert body["role"] == "institution_admin" and body["role_label"] == "机构管理员"
    assert body["institution"]["name"] == YINCHUAN_FIRST and body["agency"] is None


# ---- authentication --------------------------------------------------------------------------------


def test_token_authentication(users):
    token = Token.objects.create(user=users["staff_yinchuan"])
    response = Client().get("/api/institutions/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response.json()["count"] > 0


def test_anonymous_is_refused(registry):
    response = Client().get("/api/institutions/")
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"code", "message", "detail"}


def test_schema_for_logged_in_user(client_for):
    assert client_for("auditor_yinchuan").get("/api/schema/").status_code == 200


# ---- registry import / export -----------------------------------------------------------------------


def test_reimport_changes_nothing(client_for):
    with open(MEDICAL_CSV, "rb") as fh:
        response = client_for("staff_region").post(
            "/api/registry/import/", {"type": "medical", "as_of": "2026-03", "file": fh}
        )
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["unchanged"] == 74
    assert report["flagged"] == 1
    assert report["created"] == report["updated"] == report["rejected"] == 0


def test_gbk_csv_is_refused_whole(client_for):
    before = list(Institution.objects.order_by("pk").values_list("pk", "name", "updated_at"))
    gbk = MEDICAL_CSV.read_text(encoding="utf-8-sig").encode("gb18030")
    upload = SimpleUploadedFile("medical_gbk.csv", gbk, content_type="text/csv")
    response = client_for("staff_region").post("/api/registry/import/", {"type": "medical", "file": upload})
    body = assert_error_body(response, 400, "bad_encoding")
    assert "UTF-8" in body["message"]
    assert list(Institution.objects.order_by("pk").values_list("pk", "name", "updated_at")) == before


def test_import_is_staff_only(client_for):
    with open(MEDICAL_CSV, "rb") as fh:
        response = client_for("auditor_yinchuan").post("/api/registry/import/", {"type": "medical", "file": fh})
    assert_error_body(response, 403)


def test_export_is_scoped(client_for):
    response = client_for("staff_yinchuan").get("/api/registry/export/", {"type": "medical", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    assert YINCHUAN_FIRST in text and GUYUAN not in text
    bad = client_for("staff_yinchuan").get("/api/registry/export/", {"type": "medical", "format": "doc"})
    assert_error_body(bad, 400, "invalid")


# ---- change filings ----------------------------------------------------------------------------------


def test_filing_submit_and_approve(client_for, institution):
    inst = institution(YINCHUAN_FIRST)
    submitted = client_for("hospital_admin").post(
        "/api/filings/",
        {"institution": inst.pk, "changes": {"legal_representative": "张三"}, "reason": "院长换届"},
        content_type="application/json",
    )
    assert submitted.status_code == 201, submitted.content
    filing = submitted.json()
    assert filing["status"] == "pending"
    assert filing["changes"]["legal_representative"]["after"] == "张三"

    # The institution cannot decide its own filing: staff-only route.
    assert client_for("hospital_admin").post(f"/api/filings/{filing['id']}/approve/").status_code == 403

    approved = client_for("staff_yinchuan").post(f"/api/filings/{filing['id']}/approve/", {"note": "核对无误"})
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    inst.refresh_from_db()
    assert inst.legal_representative == "张三"

    # The approval shows up in the institution's history.
    history = all_results(client_for("hospital_admin"), f"/api/institutions/{inst.pk}/history/")
    assert any(e["model"] == "institutions.institution" and e["action"] == 1 for e in history)

    # A second decision on the same filing is a conflict.
    again = client_for("staff_region").post(f"/api/filings/{filing['id']}/reject/", {"note": "x"})
    assert_error_body(again, 409, "stale")


def test_submitter_cannot_approve_own_filing(client_for, institution):
    inst = institution(YINCHUAN_FIRST)
    client = client_for("staff_yinchuan")
    filing = client.post(
        "/api/filings/", {"institution": inst.pk, "changes": {"postal_code": "750001"}, "reason": "邮编调整"},
        content_type="application/json",
    ).json()
    assert_error_body(client.post(f"/api/filings/{filing['id']}/approve/"), 403, "four_eyes")
    assert ChangeFiling.objects.get(pk=filing["id"]).status == "pending"
    assert client_for("staff_region").post(f"/api/filings/{filing['id']}/approve/").status_code == 200


def test_foreign_filing_is_not_found(client_for, institution):
    other = client_for("hospital_guyuan").post(
        "/api/filings/",
        {"institution": institution(GUYUAN).pk, "changes": {"postal_code": "756000"}, "reason": "邮编调整"},
        content_type="application/json",
    )
    assert other.status_code == 201, other.content
    pk = other.json()["id"]
    hospital = client_for("hospital_admin")
    assert_error_body(hospital.get(f"/api/filings/{pk}/"), 404, "not_found")
    assert hospital.post(f"/api/filings/{pk}/approve/").status_code == 404
    assert pk not in [f["id"] for f in all_results(hospital, "/api/filings/")]
    # Filing for someone else's institution: the institution is not found either.
    response = hospital.post(
        "/api/filings/",
        {"institution": institution(GUYUAN).pk, "changes": {"postal_code": "756001"}, "reason": "x"},
        content_type="application/json",
    )
    assert_error_body(response, 404)
    assert client_for("staff_yinchuan").get(f"/api/filings/{pk}/").status_code == 404


def test_domain_and_validation_errors_have_the_same_shape(client_for, institution):
    client = client_for("hospital_admin")
    inst = institution(YINCHUAN_FIRST)
    no_change = client.post(
        "/api/filings/", {"institution": inst.pk, "changes": {"name": inst.name}, "reason": "无"},
        content_type="application/json",
    )
    assert_error_body(no_change, 400, "no_change")
    missing = client.post("/api/filings/", {"changes": {}}, content_type="application/json")
    body = assert_error_body(missing, 400, "invalid")
    assert "institution" in body["detail"] and "reason" in body["detail"]


# ---- new designations --------------------------------------------------------------------------------


def _valid_uscc(first17="12640100MB1234567"):
    from core.uscc import check_character

    return first17 + check_character(first17)


def test_application_lifecycle(client_for, users, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    staff = client_for("staff_yinchuan")
    created = staff.post(
        "/api/applications/",
        {
            "type": "rehabilitation", "applicant_name": "银川康复测试中心", "uscc": _valid_uscc(),
            "address": "银川市金凤区测试路1号", "division_code": "640106", "phone": "0951-1234567",
            "contact_person": "李四", "agency": users["staff_yinchuan"].agency_id,
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    app = created.json()
    assert app["status"] == "submitted" and "start_review" in app["available_actions"]
    url = f"/api/applications/{app['id']}"

    stale = staff.post(f"{url}/advance/", {"action": "start_review", "expected_status": "under_review"})
    assert_error_body(stale, 409, "stale")
    assert staff.post(f"{url}/advance/", {"action": "start_review"}).json()["status"] == "under_review"
    assert_error_body(staff.post(f"{url}/advance/", {"action": "approve"}), 400, "materials_missing")

    for kind in ("application_form", "licence"):
        upload = SimpleUploadedFile(f"{kind}.pdf", b"%PDF-1.4\n%test\n", content_type="application/pdf")
        response = staff.post(f"{url}/materials/", {"kind": kind, "file": upload})
        assert response.status_code == 201, response.content
    fake = SimpleUploadedFile("licence.pdf", b"not a pdf", content_type="application/pdf")
    assert_error_body(staff.post(f"{url}/materials/", {"kind": "licence", "file": fake}), 400, "bad_file_type")

    assert staff.post(f"{url}/advance/", {"action": "approve", "note": "材料齐全"}).json()["status"] == "approved"
    detail = staff.get(f"{url}/").json()
    assert len(detail["materials"]) == 2 and detail["available_actions"] == ["sign"]

    # Another city's staff neither sees it nor may act on it; an institution admin may not advance.
    assert client_for("staff_guyuan").get(f"{url}/").status_code == 404
    assert client_for("staff_guyuan").post(f"{url}/advance/", {"action": "sign"}).status_code == 404
    assert client_for("hospital_admin").post(f"{url}/advance/", {"action": "sign"}).status_code == 404


# ---- audit trail --------------------------------------------------------------------------------------


def test_audit_list_is_scoped_and_filtered(client_for, institution):
    guyuan = institution(GUYUAN)
    region = client_for("staff_region")
    response = region.get("/api/audit/", {"model": "institutions.institution", "object_pk": guyuan.pk})
    assert response.status_code == 200
    entries = response.json()["results"]
    assert entries and all(e["object_pk"] == str(guyuan.pk) for e in entries)
    # Yinchuan's auditor does not read the trail of a Guyuan institution.
    query = {"model": "institutions.institution", "object_pk": guyuan.pk}
    assert client_for("auditor_yinchuan").get("/api/audit/", query).json()["count"] == 0
    bad = region.get("/api/audit/", {"date_from": "2026-03-02", "date_to": "2026-03-01"})
    assert_error_body(bad, 400, "invalid")
    assert client_for("hospital_admin").get("/api/audit/").status_code == 403
