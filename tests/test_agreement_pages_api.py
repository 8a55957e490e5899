"""Agreement pages and API (issue 3 §5): the list and its filters, scoping (a foreign id is a 404),
the lifecycle buttons and their refusals through the page and the API, signed scans, the PDF,
the public list of terminations (M§43) and the task list on the home page."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from agreements.models import Agreement, AgreementBar, AgreementEvent, SignedScan
from agreements.services.drafting import agreement_create_draft
from agreements.services.lifecycle import agreement_complete_term, agreement_terminate
from core.models import TaskItem

YINCHUAN = "银川市第一人民医院"
GUYUAN = "固原市人民医院"
PDF_BYTES = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def medical(institution, registry):
    """The live (registry) medical agreement of an institution, by institution name."""
    return lambda name: Agreement.objects.get(institution=institution(name), type="medical")


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _act(client, agreement, **data):
    data.setdefault("expected_revision", agreement.revision)
    return client.post(reverse("agreements:act", args=[agreement.pk]), data, follow=True)


def _api_act(client, agreement, **data):
    data.setdefault("expected_revision", agreement.revision)
    return client.post(reverse("api:agreement-action", args=[agreement.pk]), data, content_type="application/json")


def _error(response, status, code=None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    if code:
        assert body["code"] == code, body
    return body


def _snapshot(agreement) -> tuple:
    a = Agreement.objects.get(pk=agreement.pk)
    return (a.status, a.revision, a.valid_from, a.valid_to, a.notice_given_on, a.terminated_on,
            AgreementEvent.objects.filter(agreement=a).count(), AgreementBar.objects.filter(agreement=a).count())


def _listed(client, **query) -> list[Agreement]:
    response = client.get(reverse("agreements:list"), query)
    assert response.status_code == 200
    return list(response.context["page"].paginator.object_list)


def _api_listed(client, **query) -> list[dict]:
    rows, page = [], 1
    while True:
        response = client.get(reverse("api:agreement-list"), {**query, "page": page})
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        page += 1


def _full_draft(inst, actor, type_="medical"):
    today = timezone.localdate()
    return agreement_create_draft(
        institution=inst, type_=type_, actor=actor, valid_from=today, valid_to=today + timedelta(days=3 * 365),
        signed_on=today, leader_name="王院长", managers=["李主任"],
    )


# ---- the list and its filters ---------------------------------------------------------------------


def test_list_filters_by_type_status_and_expiry(client_for, users, medical):
    c = client_for("staff_region")
    everything = _listed(c)
    assert len(everything) == Agreement.objects.count() == 93
    assert all(a.status == "active" and a.term_pending for a in everything)
    for type_, n in (("medical", 74), ("rehabilitation", 14), ("devices", 5)):
        rows = _listed(c, type=type_)
        assert len(rows) == n and {a.type for a in rows} == {type_}
        assert len(_api_listed(c, type=type_)) == n
    assert _listed(c, status="draft") == []

    draft = _full_draft(medical(YINCHUAN).institution, users["staff_yinchuan"])
    assert [a.pk for a in _listed(c, status="draft")] == [draft.pk]
    assert [r["id"] for r in _api_listed(c, status="draft")] == [draft.pk]

    # Completing the term of one agreement so that it ends in 20 days puts it in "expires within 30".
    today = timezone.localdate()
    expiring = medical(GUYUAN)
    agreement_complete_term(agreement=expiring, valid_from=today - timedelta(days=345), valid_to=today + timedelta(days=20),
                            signed_on=today - timedelta(days=345), actor=users["staff_region"])
    assert [a.pk for a in _listed(c, expires_within=30)] == [expiring.pk]
    assert [r["id"] for r in _api_listed(c, expires_within=30)] == [expiring.pk]
    assert _listed(c, expires_within=10) == []
    page = c.get(reverse("agreements:list"), {"expires_within": 30}).content.decode()
    assert GUYUAN in page and "20 天后到期" in page
    assert expiring.pk not in {a.pk for a in _listed(c, term_pending=1)}
    # The region filter: a city code covers its districts.
    guyuan_city = expiring.institution.division_code[:4] + "00"
    assert expiring.pk in {a.pk for a in _listed(c, region=guyuan_city)}
    assert all(a.institution.division_code.startswith(guyuan_city[:4]) for a in _listed(c, region=guyuan_city))
    # A bad filter value is a 400 on the API, ignored on the page.
    _error(c.get(reverse("api:agreement-list"), {"type": "hotel"}), 400, "invalid")
    assert len(_listed(c, type="hotel")) == 94


# ---- scoping: a foreign id is a 404 --------------------------------------------------------------


def test_hospital_admin_sees_only_its_own_agreements(client_for, medical, institution):
    c = client_for("hospital_admin")
    own = institution(YINCHUAN)
    rows = _listed(c)
    assert rows and {a.institution_id for a in rows} == {own.pk}
    assert {r["institution"]["id"] for r in _api_listed(c)} == {own.pk}
    mine = medical(YINCHUAN)
    assert c.get(reverse("agreements:detail", args=[mine.pk])).status_code == 200
    pdf = c.get(reverse("agreements:pdf", args=[mine.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # Read-only: no buttons for the institution.
    assert f'action="{reverse("agreements:act", args=[mine.pk])}"' not in c.get(
        reverse("agreements:detail", args=[mine.pk])).content.decode()


@pytest.mark.parametrize("name", [GUYUAN, "银川市第二人民医院"])
def test_hospital_admin_gets_404_on_another_institutions_agreement(client_for, medical, name):
    c = client_for("hospital_admin")
    other = medical(name)
    before = _snapshot(other)
    for url in (reverse("agreements:detail", args=[other.pk]), reverse("agreements:pdf", args=[other.pk]),
                reverse("api:agreement-detail", args=[other.pk]), reverse("api:agreement-pdf", args=[other.pk])):
        response = c.get(url)
        assert response.status_code == 404, url
        assert name not in response.content.decode()
    _error(_api_act(c, other, action="suspend", reason="试探"), 404, "not_found")
    # The page's action URL is a staff URL: refused by role, the same 403 for every id, so the
    # answer never tells whether the agreement exists (as institutions:verify).
    assert c.post(reverse("agreements:act", args=[other.pk]), {"action": "suspend", "reason": "试探",
                                                              "expected_revision": other.revision}).status_code == 403
    assert c.post(reverse("agreements:act", args=[10**9]), {"action": "suspend"}).status_code == 403
    assert _snapshot(other) == before
    # On its own agreement the API action is refused by role (403), not hidden.
    _error(_api_act(c, medical(YINCHUAN), action="suspend", reason="自行暂停"), 403)


def test_staff_yinchuan_gets_404_on_guyuans_agreements(client_for, medical):
    c = client_for("staff_yinchuan")
    other = medical(GUYUAN)
    before = _snapshot(other)
    assert other.pk not in {a.pk for a in _listed(c)}
    assert other.pk not in {r["id"] for r in _api_listed(c)}
    for url in (reverse("agreements:detail", args=[other.pk]), reverse("agreements:pdf", args=[other.pk]),
                reverse("api:agreement-detail", args=[other.pk]), reverse("api:agreement-pdf", args=[other.pk])):
        assert c.get(url).status_code == 404, url
    assert c.post(reverse("agreements:act", args=[other.pk]),
                  {"action": "suspend", "reason": "x", "expected_revision": other.revision}).status_code == 404
    assert c.post(reverse("agreements:complete_term", args=[other.pk]),
                  {"valid_from": "2026-01-01", "valid_to": "2028-12-31", "expected_revision": other.revision}).status_code == 404
    assert c.post(reverse("agreements:scan_upload", args=[other.pk]),
                  {"file": SimpleUploadedFile("s.pdf", PDF_BYTES)}).status_code == 404
    _error(_api_act(c, other, action="suspend", reason="x"), 404, "not_found")
    response = c.post(reverse("api:agreement-scans", args=[other.pk]), {"file": SimpleUploadedFile("s.pdf", PDF_BYTES)})
    _error(response, 404, "not_found")
    _error(c.post(reverse("api:agreement-list"), {"institution": other.institution_id, "type": "medical"},
                  content_type="application/json"), 404)
    assert _snapshot(other) == before


# ---- refusals: the message comes back and nothing changes --------------------------------------


def test_signing_a_draft_while_a_live_agreement_exists_is_refused(client_for, users, medical):
    c = client_for("staff_yinchuan")
    live = medical(YINCHUAN)
    draft = _full_draft(live.institution, users["staff_yinchuan"])
    before = _snapshot(draft)
    page = c.get(reverse("agreements:detail", args=[draft.pk])).content.decode()
    assert "disabled" in page and live.number in page  # the sign button says why it is refused

    response = _act(c, draft, action="sign")
    assert any("同一机构同一类型只能有一份生效或暂停的协议" in m for m in _messages(response))
    assert _snapshot(draft) == before

    body = _error(_api_act(c, draft, action="sign"), 400, "sign_refused")
    assert live.number in body["message"]
    assert _snapshot(draft) == before


def test_terminating_unilaterally_before_notice_is_refused(client_for, medical):
    c = client_for("staff_yinchuan")
    ag = medical(YINCHUAN)
    before = _snapshot(ag)
    response = _act(c, ag, action="terminate", kind="notice", reason="乙方申请退出")
    assert any("提前30日书面通知" in m for m in _messages(response))
    assert _snapshot(ag) == before
    body = _error(_api_act(c, ag, action="terminate", kind="notice", reason="乙方申请退出"), 400, "terminate_refused")
    assert "请先登记书面通知" in body["message"]
    assert _snapshot(ag) == before

    # After the written notice it is still refused until 30 days have passed.
    response = _api_act(c, ag, action="notice", by="B", reason="乙方申请退出")
    assert response.status_code == 200, response.content
    ag.refresh_from_db()
    body = _error(_api_act(c, ag, action="terminate", kind="notice", reason="乙方申请退出"), 400, "terminate_refused")
    assert "须满30日" in body["message"]
    assert Agreement.objects.get(pk=ag.pk).status == "active"
    # The page shows the refusal next to the terminate form.
    assert "须满30日" in c.get(reverse("agreements:detail", args=[ag.pk])).content.decode()


def test_second_suspension_terminates(client_for, medical):
    c = client_for("staff_yinchuan")
    ag = medical(YINCHUAN)
    r = _api_act(c, ag, action="suspend", reason="违规收费，限期整改")
    assert r.status_code == 200, r.content
    assert r.json()["agreement"]["status"] == "suspended"
    ag.refresh_from_db()
    page = c.get(reverse("agreements:detail", args=[ag.pk])).content.decode()
    assert "恢复" in page and "签订生效" not in page
    r = _act(c, ag, action="resume", reason="已完成整改")
    assert "协议已恢复。" in _messages(r)
    ag.refresh_from_db()
    assert ag.status == "active"
    assert "再次暂停将解除协议" in r.content.decode()
    r = _api_act(c, ag, action="suspend", reason="再次违规")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["agreement"]["status"] == "terminated"
    assert "第2次暂停" in body["message"]
    ag.refresh_from_db()
    assert ag.termination_kind == "for_cause" and AgreementBar.objects.filter(agreement=ag).exists()
    assert [e["action"] for e in body["agreement"]["events"]] == ["create", "suspend", "resume", "suspend", "terminate"]

    # Published: an anonymous visitor sees it on the page and through the API.
    anonymous = Client()
    page = anonymous.get(reverse("agreements:public_terminations"))
    assert page.status_code == 200
    text = page.content.decode()
    assert YINCHUAN in text and ag.number in text and "违约解除" in text
    assert "sidenav" not in text  # no navigation for an anonymous visitor
    rows = anonymous.get(reverse("api:agreement-terminations")).json()["results"]
    assert [r["number"] for r in rows] == [ag.number]
    assert rows[0]["barred_until"] and "termination_reason" not in rows[0]


def test_a_stale_revision_is_a_409_and_changes_nothing(client_for, medical):
    c = client_for("staff_yinchuan")
    ag = medical(YINCHUAN)
    old_revision = ag.revision
    today = timezone.localdate()
    r = c.post(reverse("agreements:complete_term", args=[ag.pk]), {
        "valid_from": today.isoformat(), "valid_to": (today + timedelta(days=1000)).isoformat(),
        "expected_revision": old_revision}, follow=True)
    assert "协议期限已补全。" in _messages(r)
    before = _snapshot(ag)
    # Somebody else's page still shows the old revision.
    body = _error(_api_act(c, ag, action="suspend", reason="x", expected_revision=old_revision), 409, "stale")
    assert "刷新" in body["message"]
    assert _snapshot(ag) == before
    r = _act(c, ag, action="suspend", reason="x", expected_revision=old_revision)
    assert any("已被修改" in m for m in _messages(r))
    assert _snapshot(ag) == before
    # Without a revision the API refuses the body; the page refuses the form.
    _error(c.post(reverse("api:agreement-action", args=[ag.pk]), {"action": "suspend", "reason": "x"},
                  content_type="application/json"), 400, "invalid")
    r = c.post(reverse("agreements:act", args=[ag.pk]), {"action": "suspend", "reason": "x"}, follow=True)
    assert any("未作任何更改" in m for m in _messages(r))
    assert _snapshot(ag) == before


def test_other_refusals_through_the_api(client_for, medical):
    c = client_for("staff_yinchuan")
    ag = medical(YINCHUAN)
    before = _snapshot(ag)
    _error(_api_act(c, ag, action="suspend", reason=" "), 400, "reason_required")
    _error(_api_act(c, ag, action="resume"), 400, "resume_refused")
    _error(_api_act(c, ag, action="notice", by="B", reason="x",
                    effective_on=(timezone.localdate() + timedelta(days=5)).isoformat()), 400, "notice_too_short")
    _error(_api_act(c, ag, action="terminate", kind="mutual", reason="x",
                    on=(timezone.localdate() + timedelta(days=60)).isoformat()), 400, "future_date")
    _error(_api_act(c, ag, action="complete_term"), 400, "term_required")
    _error(_api_act(c, ag, action="fly"), 400, "invalid")
    assert _snapshot(ag) == before
    _error(client_for("auditor_yinchuan").post(reverse("api:agreement-action", args=[ag.pk]),
                                               {"action": "suspend", "reason": "x", "expected_revision": ag.revision},
                                               content_type="application/json"), 403)
    assert client_for("auditor_yinchuan").post(reverse("agreements:act", args=[ag.pk]), {"action": "suspend"}).status_code == 403
    assert _snapshot(ag) == before


def test_staff_create_sign_and_renew_through_the_api(client_for, users, medical, registry):
    c = client_for("staff_yinchuan")
    live = medical(YINCHUAN)
    # Terminate the registry agreement by mutual consent, so that a new one may be signed.
    r = _api_act(c, live, action="terminate", kind="mutual", reason="换签2026版协议")
    assert r.status_code == 200 and r.json()["agreement"]["status"] == "terminated", r.content
    today = timezone.localdate()
    r = c.post(reverse("api:agreement-list"), {"institution": live.institution_id, "type": "medical",
                                               "valid_from": today.isoformat(), "valid_to": (today + timedelta(days=1094)).isoformat()},
               content_type="application/json")
    assert r.status_code == 201, r.content
    draft = r.json()
    assert draft["status"] == "draft" and draft["party_b"]["name"] == YINCHUAN
    sign = next(a for a in draft["available_actions"] if a["action"] == "sign")
    assert not sign["allowed"] and "乙方分管院领导" in sign["reason"]
    # The auditor may read but not draft.
    _error(client_for("auditor_yinchuan").post(reverse("api:agreement-list"), {"institution": live.institution_id, "type": "medical"},
                                                 content_type="application/json"), 403)


# ---- the detail page ------------------------------------------------------------------------------


def test_detail_page_shows_disabled_actions_with_their_reasons(client_for, users, medical):
    c = client_for("staff_yinchuan")
    ag = medical(YINCHUAN)
    page = c.get(reverse("agreements:detail", args=[ag.pk])).content.decode()
    assert "期限待定（名单未载明）" in page and "补全协议期限" in page
    assert "时间线" in page and "名单未载明协议期限" in page  # the creation event
    assert 'value="resume"' not in page  # resume is no action for an active agreement
    for action in ("suspend", "notice", "terminate", "renew"):
        assert f'value="{action}"' in page
    assert f'name="expected_revision" value="{ag.revision}"' in page
    # Unilateral termination is shown as not yet possible, with its reason.
    assert "请先登记书面通知" in page

    draft = agreement_create_draft(institution=ag.institution, type_="medical", actor=users["staff_yinchuan"])
    page = c.get(reverse("agreements:detail", args=[draft.pk])).content.decode()
    assert 'disabled aria-disabled="true" aria-describedby="why-sign"' in page
    assert "签订前须填写：有效期起、有效期止、签订日期、乙方分管院领导、乙方专（兼）职管理人员" in page
    assert "协议签订后可上传签章扫描件" in page

    # The auditor reads the same page without any button.
    page = client_for("auditor_yinchuan").get(reverse("agreements:detail", args=[ag.pk])).content.decode()
    assert "时间线" in page and 'name="action"' not in page


def test_create_page_makes_a_draft(client_for, institution):
    c = client_for("staff_yinchuan")
    inst = institution(YINCHUAN)
    assert c.get(reverse("agreements:create"), {"institution": inst.pk, "type": "medical"}).status_code == 200
    r = c.post(reverse("agreements:create"), {
        "institution": inst.pk, "type": "medical", "valid_from": "2026-04-01", "valid_to": "2029-03-31",
        "signed_on": "2026-03-20", "leader_name": "王院长", "managers": "李主任\n赵干事、孙干事",
    }, follow=True)
    draft = Agreement.objects.get(institution=inst, type="medical", status="draft")
    assert r.redirect_chain[-1][0] == reverse("agreements:detail", args=[draft.pk])
    assert draft.managers == ["李主任", "赵干事", "孙干事"]
    # A type without designation is refused with the service's message.
    r = c.post(reverse("agreements:create"), {"institution": institution("银川市第二人民医院").pk, "type": "devices",
                                              "leader_name": "王院长", "managers": "李主任"})
    assert r.status_code == 200 and any("没有此类定点资格" in m for m in _messages(r))
    # The page asks for the leader and a manager up front: no page edits them on a draft later.
    r = c.post(reverse("agreements:create"), {"institution": inst.pk, "type": "medical", "managers": " 、 "})
    assert r.status_code == 200 and "请至少填写一名专（兼）职管理人员" in r.content.decode()
    assert Agreement.objects.filter(institution=inst, status="draft").count() == 1
    assert client_for("auditor_yinchuan").get(reverse("agreements:create")).status_code == 403


def test_pdf_download_page_and_api(client_for, medical):
    c = client_for("staff_yinchuan")
    ag = medical(YINCHUAN)
    for url in (reverse("agreements:pdf", args=[ag.pk]), reverse("api:agreement-pdf", args=[ag.pk])):
        response = c.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == f'attachment; filename="{ag.number}.pdf"'
        assert response.content.startswith(b"%PDF")


# ---- signed scans ---------------------------------------------------------------------------------


def test_scan_upload_and_download(client_for, medical, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    c = client_for("staff_yinchuan")
    ag = medical(YINCHUAN)
    r = c.post(reverse("agreements:scan_upload", args=[ag.pk]), {"file": SimpleUploadedFile("签章页.pdf", PDF_BYTES)}, follow=True)
    assert any("已上传" in m for m in _messages(r))
    scan = SignedScan.objects.get(agreement=ag)
    assert "签章页.pdf" in r.content.decode()
    r = c.post(reverse("api:agreement-scans", args=[ag.pk]),
               {"file": SimpleUploadedFile("seal.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)})
    assert r.status_code == 201, r.content
    # The institution downloads its own scan; another institution gets a 404.
    download = client_for("hospital_admin").get(reverse("agreements:scan_download", args=[scan.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF_BYTES
    assert client_for("hospital_guyuan").get(reverse("agreements:scan_download", args=[scan.pk])).status_code == 404
    assert client_for("staff_guyuan").get(reverse("agreements:scan_download", args=[scan.pk])).status_code == 404
    # Only staff upload.
    assert client_for("hospital_admin").post(reverse("agreements:scan_upload", args=[ag.pk]),
                                             {"file": SimpleUploadedFile("x.pdf", PDF_BYTES)}).status_code == 403


def test_malformed_and_oversized_scans_are_refused(client_for, medical, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    c = client_for("staff_yinchuan")
    ag = medical(YINCHUAN)
    fake = SimpleUploadedFile("扫描件.pdf", "这不是PDF".encode())
    r = c.post(reverse("agreements:scan_upload", args=[ag.pk]), {"file": fake}, follow=True)
    assert any("不是 PDF、PNG 或 JPG 文件" in m for m in _messages(r))
    body = _error(c.post(reverse("api:agreement-scans", args=[ag.pk]), {"file": SimpleUploadedFile("a.pdf", b"MZ\x90\x00")}),
                  400, "bad_file_type")
    assert "a.pdf" in body["message"]
    with override_settings(PORTAL_MAX_MATERIAL_UPLOAD_BYTES=1024 * 1024):
        big = PDF_BYTES + b"0" * (1024 * 1024 + 10)
        r = c.post(reverse("agreements:scan_upload", args=[ag.pk]), {"file": SimpleUploadedFile("big.pdf", big)}, follow=True)
        assert any("超过上限 1 MB" in m for m in _messages(r))
        _error(c.post(reverse("api:agreement-scans", args=[ag.pk]), {"file": SimpleUploadedFile("big.pdf", big)}),
               400, "file_too_large")
    r = c.post(reverse("agreements:scan_upload", args=[ag.pk]), {}, follow=True)
    assert any("请选择要上传的签章扫描件" in m for m in _messages(r))
    _error(c.post(reverse("api:agreement-scans", args=[ag.pk]), {}), 400, "invalid")
    # A draft has no signed copy yet.
    draft = agreement_create_draft(institution=ag.institution, type_="medical", actor=None)
    _error(c.post(reverse("api:agreement-scans", args=[draft.pk]), {"file": SimpleUploadedFile("s.pdf", PDF_BYTES)}),
           400, "not_signed")
    assert not SignedScan.objects.exists()


# ---- the public list and the home page ------------------------------------------------------------


def test_public_list_works_without_login(users, medical):
    ag = medical(GUYUAN)
    agreement_terminate(agreement=ag, kind="closure", reason="医院停业", actor=users["staff_guyuan"])
    anonymous = Client()
    response = anonymous.get(reverse("agreements:public_terminations"))
    assert response.status_code == 200
    text = response.content.decode()
    assert GUYUAN in text and "停业、歇业或不可抗力" in text
    assert "医院停业" not in text  # the internal reason is not published
    assert anonymous.get(reverse("agreements:list")).status_code == 302
    assert anonymous.get(reverse("api:agreement-list")).status_code in (401, 403)


def test_home_shows_the_users_open_tasks(client_for, medical):
    today = timezone.localdate()
    yc, gy = medical(YINCHUAN), medical(GUYUAN)

    def task(key, agreement, days, done=False):
        return TaskItem.objects.create(
            key=key, kind="agreement_expiry", title=f"{agreement.party_b_name} 任务 {key}", due_on=today + timedelta(days=days),
            agency_id=agreement.agency_id, institution_id=agreement.institution_id,
            url=reverse("agreements:detail", args=[agreement.pk]), done_at=timezone.now() if done else None,
        )

    task("yc-later", yc, 20)
    task("yc-sooner", yc, 3)
    task("yc-done", yc, 1, done=True)
    task("gy", gy, 5)
    page = client_for("staff_yinchuan").get(reverse("home")).content.decode()
    assert "待办事项" in page and "任务 yc-sooner" in page and "任务 gy" not in page and "任务 yc-done" not in page
    assert page.index("任务 yc-sooner") < page.index("任务 yc-later")
    assert reverse("agreements:detail", args=[yc.pk]) in page
    hospital = client_for("hospital_admin").get(reverse("home")).content.decode()
    assert "任务 yc-later" in hospital and "任务 gy" not in hospital
    assert "任务 yc-later" not in client_for("hospital_guyuan").get(reverse("home")).content.decode()
    region = client_for("staff_region").get(reverse("home")).content.decode()
    assert "任务 gy" in region and "任务 yc-later" in region


def test_navigation_entries(client_for):
    page = client_for("hospital_admin").get(reverse("home")).content.decode()
    assert reverse("agreements:list") in page and reverse("agreements:public_terminations") in page
    for username in ("staff_yinchuan", "auditor_yinchuan"):
        page = client_for(username).get(reverse("home")).content.decode()
        assert "服务协议" in page and "解除协议公示" in page
