"""变更备案 (M§4, R§4, D§5) and new designations (W§7, W§9), through the services and the pages."""

import csv
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.demo import DATA_DIR
from core.errors import ApplicationError, Conflict, PermissionDenied
from core.uscc import check_character
from institutions.models import (
    ApplicationMaterial,
    ApplicationStatus,
    ChangeFiling,
    Designation,
    DesignationApplication,
    FilingStatus,
    HandlingAgency,
    Institution,
    MaterialKind,
)
from institutions.services.applications import (
    application_add_material,
    application_advance,
    application_submit,
)
from institutions.services.filings import filing_approve, filing_reject, filing_submit
from institutions.services.registry_import import registry_import

YINCHUAN = "银川市第一人民医院"
NEW_ADDRESS = "银川市兴庆区利群西街8号"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def hospital(institution):
    return institution(YINCHUAN)


def _file_address(hospital, users, address=NEW_ADDRESS, who="hospital_admin"):
    return filing_submit(institution=hospital, changes={"address": address}, reason="院区门牌调整", actor=users[who])


# ---- change filings -------------------------------------------------------------------------


def test_hospital_admin_files_an_address_change_which_is_pending(hospital, users):
    filing = _file_address(hospital, users)
    assert filing.status == FilingStatus.PENDING
    assert filing.submitted_by == users["hospital_admin"]
    assert filing.changes == {"address": {"before": "银川市兴庆区利群西街2号", "after": NEW_ADDRESS}}
    hospital.refresh_from_db()
    assert hospital.address == "银川市兴庆区利群西街2号"  # nothing changes before approval


def test_staff_approval_updates_the_institution_and_records_the_decider(hospital, users):
    filing = _file_address(hospital, users)
    approved = filing_approve(filing=filing, actor=users["staff_yinchuan"], note="核对营业执照无误")
    hospital.refresh_from_db()
    assert hospital.address == NEW_ADDRESS
    filing.refresh_from_db()
    assert filing.status == FilingStatus.APPROVED == approved.status
    assert filing.decided_by == users["staff_yinchuan"]
    assert filing.decided_at is not None
    assert filing.decision_note == "核对营业执照无误"
    # History stays visible: the before value is kept on the filing.
    assert filing.change_rows() == [("地址", "银川市兴庆区利群西街2号", NEW_ADDRESS)]


def test_several_fields_in_one_filing(hospital, users):
    filing = filing_submit(
        institution=hospital,
        changes={"legal_representative": "张明", "phones": "0951-6997018/0951-6997019", "ownership": "公立",
                 "grade": "三级甲等"},
        reason="法定代表人换届，新增电话", actor=users["hospital_admin"],
    )
    # Unchanged fields (ownership, grade) are not filed; labels are normalised to values.
    assert set(filing.changes) == {"legal_representative", "phones"}
    assert filing.changes["phones"]["after"] == ["0951-6997018", "0951-6997019"]
    filing_approve(filing=filing, actor=users["staff_region"])
    hospital.refresh_from_db()
    assert hospital.legal_representative == "张明"
    assert hospital.phones == ["0951-6997018", "0951-6997019"]


def test_the_submitter_cannot_approve_their_own_filing(hospital, users):
    filing = _file_address(hospital, users, who="staff_yinchuan")
    with pytest.raises(PermissionDenied) as exc:
        filing_approve(filing=filing, actor=users["staff_yinchuan"])
    assert exc.value.code == "four_eyes"
    filing.refresh_from_db()
    assert filing.status == FilingStatus.PENDING
    hospital.refresh_from_db()
    assert hospital.address != NEW_ADDRESS
    with pytest.raises(PermissionDenied) as exc:
        filing_reject(filing=filing, actor=users["staff_yinchuan"], note="撤回")
    assert exc.value.code == "four_eyes"


def test_institution_admin_and_auditor_cannot_decide_a_filing(hospital, users):
    filing = _file_address(hospital, users, who="staff_yinchuan")
    for who in ("hospital_admin", "auditor_yinchuan"):
        with pytest.raises(PermissionDenied):
            filing_approve(filing=filing, actor=users[who])


def test_a_filing_with_no_real_change_is_refused(hospital, users):
    with pytest.raises(ApplicationError) as exc:
        filing_submit(institution=hospital, changes={"address": "  银川市兴庆区利群西街2号 ", "grade": "三级甲等"},
                      reason="无变化", actor=users["hospital_admin"])
    assert exc.value.code == "no_change"
    assert "没有需要备案的变更" in exc.value.message
    assert not ChangeFiling.objects.exists()


def test_a_filing_needs_a_reason_and_fileable_fields(hospital, users):
    with pytest.raises(ApplicationError) as exc:
        filing_submit(institution=hospital, changes={"address": NEW_ADDRESS}, reason=" ", actor=users["hospital_admin"])
    assert exc.value.code == "reason_required"
    with pytest.raises(ApplicationError) as exc:
        filing_submit(institution=hospital, changes={"code": "JG999999"}, reason="改编码", actor=users["hospital_admin"])
    assert exc.value.code == "invalid_field"


def test_a_second_pending_filing_on_the_same_field_is_refused(hospital, users):
    _file_address(hospital, users)
    with pytest.raises(Conflict) as exc:
        _file_address(hospital, users, address="银川市兴庆区利群西街10号", who="staff_yinchuan")
    assert exc.value.code == "pending_filing"
    assert "地址" in exc.value.message
    assert ChangeFiling.objects.filter(institution=hospital).count() == 1
    # Another field is fine.
    filing_submit(institution=hospital, changes={"postal_code": "750001"}, reason="补充", actor=users["hospital_admin"])


def test_approving_after_the_institution_changed_is_refused_as_stale(hospital, users):
    filing = _file_address(hospital, users)
    # Meanwhile a new official table changes the address of the same institution.
    with open(DATA_DIR / "registry_medical_2026-03.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[1][6] = "银川市兴庆区利群西街3号"
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    report = registry_import(fh=io.BytesIO(buf.getvalue().encode()), type_="medical", as_of=date(2026, 4, 1))
    assert report.updated == 1

    with pytest.raises(Conflict) as exc:
        filing_approve(filing=filing, actor=users["staff_yinchuan"])
    assert exc.value.code == "stale_institution"
    assert "地址" in exc.value.message
    hospital.refresh_from_db()
    assert hospital.address == "银川市兴庆区利群西街3号"
    filing.refresh_from_db()
    assert filing.status == FilingStatus.PENDING


def test_reject_needs_a_note(hospital, users):
    filing = _file_address(hospital, users)
    with pytest.raises(ApplicationError) as exc:
        filing_reject(filing=filing, actor=users["staff_yinchuan"], note="  ")
    assert exc.value.code == "note_required"
    filing.refresh_from_db()
    assert filing.status == FilingStatus.PENDING
    filing_reject(filing=filing, actor=users["staff_yinchuan"], note="请附营业执照")
    filing.refresh_from_db()
    assert filing.status == FilingStatus.REJECTED
    assert filing.decided_by == users["staff_yinchuan"] and filing.decision_note == "请附营业执照"
    hospital.refresh_from_db()
    assert hospital.address == "银川市兴庆区利群西街2号"


def test_a_decided_filing_cannot_be_decided_again(hospital, users):
    filing = _file_address(hospital, users)
    filing_approve(filing=filing, actor=users["staff_yinchuan"])
    with pytest.raises(Conflict) as exc:
        filing_reject(filing=filing, actor=users["staff_region"], note="重复")
    assert exc.value.code == "stale"


def test_hospital_admin_cannot_file_for_another_institution(institution, users, client_for):
    other = institution("固原市人民医院")
    with pytest.raises(PermissionDenied):
        filing_submit(institution=other, changes={"address": "别处"}, reason="试探", actor=users["hospital_admin"])
    c = client_for("hospital_admin")
    url = reverse("institutions:filing_create", args=[other.pk])
    assert c.get(url).status_code == 404
    assert c.post(url, {"name": other.name, "address": "别处", "reason": "试探"}).status_code == 404
    assert not ChangeFiling.objects.exists()


def test_filing_through_the_pages(hospital, client_for, users):
    c = client_for("hospital_admin")
    form = c.get(reverse("institutions:filing_create", args=[hospital.pk]))
    assert form.status_code == 200
    data = {k: v for k, v in form.context["form"].initial.items() if v is not None}
    data.update(address=NEW_ADDRESS, reason="院区门牌调整")
    response = c.post(reverse("institutions:filing_create", args=[hospital.pk]), data)
    filing = ChangeFiling.objects.get(institution=hospital)
    assert response.status_code == 302
    assert response["Location"] == reverse("institutions:filing_detail", args=[filing.pk])
    assert set(filing.changes) == {"address"}

    # The submitter is not offered the decision; staff are.
    assert client_for("hospital_admin").get(response["Location"]).context["can_decide"] is False
    staff = client_for("staff_yinchuan")
    assert staff.get(response["Location"]).context["can_decide"] is True
    decided = staff.post(reverse("institutions:filing_decide", args=[filing.pk]), {"decision": "approve", "note": ""})
    assert decided.status_code == 302
    filing.refresh_from_db()
    assert filing.status == FilingStatus.APPROVED and filing.decided_by == users["staff_yinchuan"]
    hospital.refresh_from_db()
    assert hospital.address == NEW_ADDRESS


def test_hospital_admin_cannot_decide_through_the_page(hospital, client_for, users):
    filing = _file_address(hospital, users, who="staff_yinchuan")
    response = client_for("hospital_admin").post(
        reverse("institutions:filing_decide", args=[filing.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
    filing.refresh_from_db()
    assert filing.status == FilingStatus.PENDING


# ---- new designations -----------------------------------------------------------------------


def _uscc(body17: str) -> str:
    return body17 + check_character(body17)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def application(users):
    return application_submit(actor=users["staff_yinchuan"], data={
        "type": "medical",
        "applicant_name": "银川市 金凤区示范 医院",
        "uscc": _uscc("91640106MA7ABCD12"),
        "address": "银川市金凤区示范路1号",
        "phone": "0951-1234567/13900000000",
        "contact_person": "李华",
        "grade": "二级甲等",
        "ownership": "private",
        "division_code": "640106",
        "agency": HandlingAgency.objects.get(name="银川市社会保险事业管理中心"),
    })


def _upload(name="licence.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _advance(app, action, user, **kw):
    return application_advance(application=app, action=action, actor=user, **kw)


def test_application_from_submission_to_announcement(application, users, media):
    staff = users["staff_yinchuan"]
    codes = set(Institution.objects.values_list("code", flat=True))
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.applicant_name == "银川市金凤区示范医院"

    app = _advance(application, "start_review", staff)
    assert app.status == ApplicationStatus.UNDER_REVIEW and app.reviewed_by == staff

    with pytest.raises(ApplicationError) as exc:
        _advance(app, "approve", staff)
    assert exc.value.code == "materials_missing"
    assert "执业许可证" in exc.value.message and "申请表" in exc.value.message
    app.refresh_from_db()
    assert app.status == ApplicationStatus.UNDER_REVIEW

    licence = application_add_material(application=app, kind=MaterialKind.LICENCE, upload=_upload(), actor=staff)
    with pytest.raises(ApplicationError) as exc:
        _advance(app, "approve", staff)
    assert exc.value.code == "materials_missing" and "申请表" in exc.value.message
    application_add_material(application=app, kind=MaterialKind.APPLICATION_FORM,
                             upload=_upload("申请表.pdf"), actor=users["staff_region"])
    assert licence.size == len(PDF) and licence.original_name == "licence.pdf"
    assert (media / licence.file.name).read_bytes() == PDF

    app = _advance(app, "approve", staff, note="材料齐全")
    assert app.status == ApplicationStatus.APPROVED and app.review_note == "材料齐全"
    assert not Institution.objects.filter(name="银川市金凤区示范医院").exists()

    app = _advance(app, "sign", staff, on=date(2026, 4, 2))
    assert app.status == ApplicationStatus.SIGNED and app.signed_on == date(2026, 4, 2)
    inst = Institution.objects.get(name="银川市金凤区示范医院")
    assert app.institution == inst
    assert inst.code.startswith("JG") and inst.code not in codes
    assert int(inst.code[2:]) > max(int(c[2:]) for c in codes)
    assert inst.legal_entity.uscc == application.uscc and inst.legal_entity.uscc_valid
    assert inst.phones == ["0951-1234567", "13900000000"]
    assert inst.needs_verification is False
    designation = Designation.objects.get(institution=inst)
    assert designation.type == "medical" and designation.designated_on == date(2026, 4, 2)
    assert designation.agency.name == "银川市社会保险事业管理中心"

    app = _advance(app, "announce", staff, on=date(2026, 4, 10))
    assert app.status == ApplicationStatus.ANNOUNCED and app.announced_on == date(2026, 4, 10)
    # Announced: no more transitions, no more materials.
    with pytest.raises(ApplicationError) as exc:
        _advance(app, "sign", staff)
    assert exc.value.code == "invalid_transition"
    with pytest.raises(ApplicationError) as exc:
        application_add_material(application=app, kind=MaterialKind.OTHER, upload=_upload(), actor=staff)
    assert exc.value.code == "closed"


def test_approval_cannot_skip_the_review(application, users):
    with pytest.raises(ApplicationError) as exc:
        _advance(application, "approve", users["staff_yinchuan"])
    assert exc.value.code == "invalid_transition"


def test_rejection_needs_a_reason(application, users):
    with pytest.raises(ApplicationError) as exc:
        _advance(application, "reject", users["staff_yinchuan"], note="")
    assert exc.value.code == "note_required"
    app = _advance(application, "reject", users["staff_yinchuan"], note="不在本统筹区")
    assert app.status == ApplicationStatus.REJECTED


def test_only_agency_staff_advance_an_application(application, users):
    for who in ("hospital_admin", "auditor_yinchuan"):
        with pytest.raises(PermissionDenied):
            _advance(application, "start_review", users[who])
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


def test_a_pdf_that_is_really_text_is_refused(application, users, media):
    with pytest.raises(ApplicationError) as exc:
        application_add_material(application=application, kind=MaterialKind.LICENCE,
                                 upload=_upload("licence.pdf", b"just some text, not a PDF\n"), actor=users["staff_yinchuan"])
    assert exc.value.code == "bad_file_type"
    assert "licence.pdf" in exc.value.message
    assert not ApplicationMaterial.objects.exists()
    assert not any(media.rglob("*.pdf"))


def test_png_and_jpg_are_accepted(application, users, media):
    staff = users["staff_yinchuan"]
    application_add_material(application=application, kind=MaterialKind.OTHER,
                             upload=_upload("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32), actor=staff)
    application_add_material(application=application, kind=MaterialKind.OTHER,
                             upload=_upload("scan.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 32), actor=staff)
    assert application.materials.count() == 2


def test_an_empty_upload_is_refused(application, users, media):
    with pytest.raises(ApplicationError) as exc:
        application_add_material(application=application, kind=MaterialKind.LICENCE, upload=_upload(content=b""),
                                 actor=users["staff_yinchuan"])
    assert exc.value.code == "empty_file"


def test_an_oversized_upload_is_refused(application, users, media, settings):
    settings.PORTAL_MAX_MATERIAL_UPLOAD_BYTES = 1024 * 1024
    big = PDF + b"0" * (1024 * 1024)
    with pytest.raises(ApplicationError) as exc:
        application_add_material(application=application, kind=MaterialKind.LICENCE, upload=_upload(content=big),
                                 actor=users["staff_yinchuan"])
    assert exc.value.code == "file_too_large"
    assert "超过上限" in exc.value.message
    assert not ApplicationMaterial.objects.exists()


def test_a_stale_action_is_refused(application, users):
    staff = users["staff_yinchuan"]
    _advance(application, "start_review", staff, expected_status=ApplicationStatus.SUBMITTED)
    # A second clerk still looking at the "submitted" page:
    with pytest.raises(Conflict) as exc:
        _advance(application, "reject", users["staff_region"], note="重复", expected_status=ApplicationStatus.SUBMITTED)
    assert exc.value.code == "stale"
    assert "刷新" in exc.value.message
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_REVIEW


def test_a_duplicate_open_application_is_refused(application, users):
    with pytest.raises(Conflict) as exc:
        application_submit(actor=users["staff_region"], data={
            "type": "medical", "applicant_name": "银川市金凤区示范医院", "uscc": application.uscc,
            "address": "x", "phone": "1", "contact_person": "y", "division_code": "640106",
            "agency": application.agency,
        })
    assert exc.value.code == "duplicate_application"


def test_an_institution_cannot_apply_for_a_designation_it_holds(users):
    with pytest.raises(ApplicationError) as exc:
        application_submit(actor=users["hospital_admin"], data={
            "type": "medical", "applicant_name": YINCHUAN, "uscc": "12640100454040971K", "address": "x",
            "phone": "1", "contact_person": "y", "division_code": "640104",
            "agency": HandlingAgency.objects.get(name="银川市社会保险事业管理中心"),
        })
    assert exc.value.code == "already_designated"


def test_an_existing_institution_signs_a_second_type_without_a_new_code(users, hospital):
    staff = users["staff_yinchuan"]
    app = application_submit(actor=users["hospital_admin"], data={
        "type": "devices", "applicant_name": YINCHUAN, "uscc": "12640100454040971K", "address": hospital.address,
        "phone": "0951-6997018", "contact_person": "王芳", "division_code": "640104", "agency": hospital.agency,
    })
    assert app.institution == hospital
    app = _advance(app, "start_review", staff)
    for kind in (MaterialKind.LICENCE, MaterialKind.APPLICATION_FORM):
        ApplicationMaterial.objects.create(application=app, kind=kind, file="x.pdf", original_name="x.pdf", size=1,
                                           uploaded_by=staff)
    _advance(app, "approve", staff)
    count = Institution.objects.count()
    app = _advance(app, "sign", staff)
    assert Institution.objects.count() == count
    assert set(hospital.designations.values_list("type", flat=True)) == {"medical", "devices"}


def test_material_upload_through_the_page_shows_the_refusal(application, client_for, media):
    c = client_for("staff_yinchuan")
    response = c.post(reverse("institutions:application_material", args=[application.pk]),
                      {"kind": MaterialKind.LICENCE, "file": _upload("licence.pdf", b"plain text")}, follow=True)
    assert response.status_code == 200
    assert "不是 PDF、PNG 或 JPG 文件" in response.content.decode()
    assert not ApplicationMaterial.objects.exists()


def test_stale_advance_through_the_page_shows_a_message(application, client_for, users):
    _advance(application, "start_review", users["staff_region"])
    c = client_for("staff_yinchuan")
    response = c.post(reverse("institutions:application_advance", args=[application.pk]),
                      {"action": "reject", "note": "x", "expected_status": ApplicationStatus.SUBMITTED}, follow=True)
    assert response.status_code == 200
    assert "请刷新页面后再操作" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_REVIEW


def test_another_institutions_application_is_404_for_hospital_admin(application, client_for):
    c = client_for("hospital_admin")
    assert c.get(reverse("institutions:application_detail", args=[application.pk])).status_code == 404
    assert DesignationApplication.objects.filter(pk=application.pk).exists()
