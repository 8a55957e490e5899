"""Violation pages (issue 6 §5), proved through the pages as their users use them: the auditor opens
and notifies, the institution reads its own case without the internal notes and evidence and
explains, four eyes holds against a forged form, a decision's effects show, refused decisions
change nothing, other agencies and institutions get 404s, and the statistics and the public list
count what was decided."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from settlement.models import Deduction, PaymentHold
from violations.models import Case, CaseEvent, DecisionMeasure, DishonestListing, Evidence, Rectification

YINCHUAN = "银川市第一人民医院"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
SECRET_NOTE = "举报人称该院存在挂床住院，待调取监控核实"
FOUR_EYES = "立案人不能对本案作出处理决定（四眼原则）"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _html(response) -> str:
    return response.content.decode()


def _act(client, case, action, **data):
    data.update(action=action, expected_revision=Case.objects.get(pk=case.pk).revision)
    return client.post(reverse("violations:act", args=[case.pk]), data, follow=True)


def _snapshot(case) -> tuple:
    c = Case.objects.get(pk=case.pk)
    return (c.status, c.revision, c.decided_by_id, c.legal_basis, DecisionMeasure.objects.filter(case=c).count(),
            CaseEvent.objects.filter(case=c).count(), Deduction.objects.count(), PaymentHold.objects.count(),
            DishonestListing.objects.count())


def _decide(client, case, *, measures: dict, legal_basis="医疗协议第三十八条", summary="追回违规费用并暂缓支付"):
    data = {"summary": summary, "legal_basis": legal_basis}
    for code, fields in measures.items():
        data[f"m_{code}"] = "on"
        data.update({f"{name}_{code}": value for name, value in fields.items()})
    return _act(client, case, "decide", **data)


@pytest.fixture
def notified(client_for, institution):
    """A case the auditor opened and notified through the pages, with an internal note and evidence."""
    auditor = client_for("auditor_yinchuan")
    response = auditor.post(reverse("violations:new"), {
        "institution": institution(YINCHUAN).pk, "source": "complaint", "title": "挂床住院、虚记住院天数",
        "description": "群众举报：2026年3月多名住院患者不在床。",
    }, follow=True)
    assert response.status_code == 200
    case = Case.objects.get(title="挂床住院、虚记住院天数")
    assert any("已立案" in m for m in _messages(response))
    due = timezone.localdate() + timedelta(days=7)
    response = _act(auditor, case, "notify", notice_text="请就挂床住院问题作出书面说明。", explanation_due=due.isoformat())
    assert any("已通知协议机构" in m for m in _messages(response)), _messages(response)
    _act(auditor, case, "note", note=SECRET_NOTE)
    auditor.post(reverse("violations:evidence_upload", args=[case.pk]),
                 {"file": SimpleUploadedFile("现场检查笔录.pdf", PDF), "note": "现场检查"})
    case.refresh_from_db()
    assert case.status == "notified" and case.explanation_due == due
    return case


@pytest.fixture
def explained(notified, client_for):
    client_for("hospital_admin").post(reverse("violations:explain", args=[notified.pk]), {
        "explanation": "经自查，两名患者系临时外出检查。", "expected_revision": Case.objects.get(pk=notified.pk).revision,
        "attachments": [SimpleUploadedFile("自查报告.pdf", PDF)],
    })
    notified.refresh_from_db()
    assert notified.status == "investigating"
    return notified


# ---- opening and the queue -------------------------------------------------------------------------


def test_the_auditor_queue_lists_the_case_with_tabs_and_the_new_button(notified, client_for):
    response = client_for("auditor_yinchuan").get(reverse("violations:list"))
    html = _html(response)
    assert response.status_code == 200 and notified.number in html
    assert reverse("violations:new") in html and "待我决定" in html
    # The opener is not offered the case in "awaiting my decision"; another clerk is.
    mine = client_for("auditor_yinchuan").get(reverse("violations:list"), {"queue": "decide"})
    assert notified.number not in _html(mine)
    theirs = client_for("staff_yinchuan").get(reverse("violations:list"), {"queue": "decide"})
    assert notified.number in _html(theirs)


def test_unknown_declaration_lines_are_a_form_error_and_the_typed_values_stay(client_for, institution):
    response = client_for("auditor_yinchuan").post(reverse("violations:new"), {
        "institution": institution(YINCHUAN).pk, "source": "daily", "title": "串换项目收费",
        "description": "以甲换乙", "line_ids": "999999998, 999999999",
    })
    assert response.status_code == 200
    assert any("未找到申报明细" in m for m in _messages(response))
    assert 'value="串换项目收费"' in _html(response)
    assert not Case.objects.exists()


# ---- the institution's view ----------------------------------------------------------------------------


def test_the_institution_sees_its_case_but_never_the_notes_or_the_agency_evidence(notified, client_for):
    hospital = client_for("hospital_admin")
    listing = _html(hospital.get(reverse("violations:list")))
    assert notified.number in listing and reverse("violations:new") not in listing and "待我决定" not in listing
    response = hospital.get(reverse("violations:detail", args=[notified.pk]))
    html = _html(response)
    assert response.status_code == 200 and "请就挂床住院问题作出书面说明。" in html
    assert SECRET_NOTE not in html and "调查记录" not in html and "现场检查笔录.pdf" not in html
    internal = Evidence.objects.get(case=notified, internal=True)
    assert hospital.get(reverse("violations:evidence_download", args=[internal.pk])).status_code == 404
    # The auditor, by contrast, sees both.
    auditor_html = _html(client_for("auditor_yinchuan").get(reverse("violations:detail", args=[notified.pk])))
    assert SECRET_NOTE in auditor_html and "现场检查笔录.pdf" in auditor_html
    assert client_for("auditor_yinchuan").get(reverse("violations:evidence_download", args=[internal.pk])).status_code == 200


def test_the_institution_explains_with_an_attachment_it_can_download(explained, client_for):
    hospital = client_for("hospital_admin")
    html = _html(hospital.get(reverse("violations:detail", args=[explained.pk])))
    assert "经自查，两名患者系临时外出检查。" in html and "自查报告.pdf" in html
    attachment = Evidence.objects.get(case=explained, internal=False)
    assert hospital.get(reverse("violations:evidence_download", args=[attachment.pk])).status_code == 200
    assert SECRET_NOTE not in html


# ---- four eyes and the decision ----------------------------------------------------------------------


def test_the_opener_has_no_decide_form_and_a_forged_decision_is_refused(explained, client_for):
    auditor = client_for("auditor_yinchuan")
    html = _html(auditor.get(reverse("violations:detail", args=[explained.pk])))
    assert FOUR_EYES in html and 'name="legal_basis"' not in html
    before = _snapshot(explained)
    response = _decide(auditor, explained, measures={"recovery": {"amount": "1000"}})
    assert any(FOUR_EYES in m for m in _messages(response)), _messages(response)
    assert _snapshot(explained) == before


def test_staff_decides_recovery_and_deferral_and_the_effects_show(explained, client_for):
    staff = client_for("staff_yinchuan")
    assert 'name="legal_basis"' in _html(staff.get(reverse("violations:detail", args=[explained.pk])))
    response = _decide(staff, explained, measures={"recovery": {"amount": "12345.60"}, "deferral": {}})
    messages = _messages(response)
    assert any("已作出处理决定" in m for m in messages), messages
    explained.refresh_from_db()
    assert explained.status == "decided" and explained.decided_by.username == "staff_yinchuan"
    assert explained.score_points == 8  # recovery 5 + deferral 3, the default when none is typed
    html = _html(response)
    assert "¥12,345.60" in html and "暂缓中" in html and "医疗协议第三十八条" in html
    assert Deduction.objects.get(source_label=explained.number).amount == Decimal("12345.60")
    hold = PaymentHold.objects.get(source_label=explained.number)
    # The institution sees the decision and its effects too.
    assert "¥12,345.60" in _html(client_for("hospital_admin").get(reverse("violations:detail", args=[explained.pk])))
    # Lifting the deferral, then closing.
    response = _act(staff, explained, "lift_deferral", note="已退回违规费用")
    hold.refresh_from_db()
    assert hold.lifted_on is not None and "已解除暂缓支付" in " ".join(_messages(response))
    response = _act(staff, explained, "close", note="处理完毕")
    assert Case.objects.get(pk=explained.pk).status == "closed"


def test_a_fine_outside_two_to_five_times_is_refused_and_the_typed_values_stay(explained, client_for):
    staff = client_for("staff_yinchuan")
    before = _snapshot(explained)
    response = _decide(staff, explained, legal_basis="辅助器具协议第十五条",
                       measures={"fine": {"defrauded": "1000", "amount": "6000"}})
    assert any("超出骗取金额" in m and "2倍至5倍" in m for m in _messages(response)), _messages(response)
    assert _snapshot(explained) == before
    html = _html(response)  # the page comes back with what was typed
    assert 'value="辅助器具协议第十五条"' in html and 'value="6000"' in html
    # Within the bounds it is decided.
    response = _decide(staff, explained, legal_basis="辅助器具协议第十五条",
                       measures={"fine": {"defrauded": "1000", "amount": "3000"}})
    assert Case.objects.get(pk=explained.pk).status == "decided", _messages(response)


def test_a_decision_without_a_legal_basis_is_refused(explained, client_for):
    before = _snapshot(explained)
    response = _decide(client_for("staff_yinchuan"), explained, legal_basis="  ", measures={"interview": {}})
    assert any("处理决定须写明依据" in m for m in _messages(response)), _messages(response)
    assert _snapshot(explained) == before


def test_no_decision_before_the_explanation_deadline_then_investigation_after_it(notified, client_for):
    staff = client_for("staff_yinchuan")
    assert 'name="legal_basis"' not in _html(staff.get(reverse("violations:detail", args=[notified.pk])))
    before = _snapshot(notified)
    response = _decide(staff, notified, measures={"interview": {}})
    assert any("尚未届满" in m for m in _messages(response)) and _snapshot(notified) == before
    with time_machine.travel(timezone.now() + timedelta(days=9), tick=False):
        staff = client_for("staff_yinchuan")  # sessions last 30 minutes: log in again nine days later
        html = _html(staff.get(reverse("violations:detail", args=[notified.pk])))
        assert "已逾期" in html and 'value="investigate"' in html and 'name="legal_basis"' in html
        _act(staff, notified, "investigate")
        assert Case.objects.get(pk=notified.pk).status == "investigating"


def test_rectification_is_reported_by_the_institution_and_verified_before_closing(explained, client_for):
    staff, hospital = client_for("staff_yinchuan"), client_for("hospital_admin")
    deadline = timezone.localdate() + timedelta(days=30)
    _decide(staff, explained, measures={"rectification": {"deadline": deadline.isoformat(), "note": "完善住院患者在床管理制度"}})
    rect = Rectification.objects.get(case=explained)
    assert 'name="report"' in _html(hospital.get(reverse("violations:detail", args=[explained.pk])))
    hospital.post(reverse("violations:rectification_report", args=[rect.pk]), {"report": "已建立查房登记制度"})
    rect.refresh_from_db()
    assert rect.status == "reported"
    response = _act(staff, explained, "close")
    assert any("尚有未验收的整改" in m for m in _messages(response))
    _act(staff, explained, "verify_rectification", rectification=rect.pk, accepted="yes", note="现场复查到位")
    _act(staff, explained, "close", note="整改到位")
    assert Case.objects.get(pk=explained.pk).status == "closed"


# ---- scope -------------------------------------------------------------------------------------------------


def test_another_institution_gets_404_on_the_case_its_evidence_and_its_actions(explained, client_for):
    other = client_for("hospital_guyuan")
    evidence = Evidence.objects.filter(case=explained)
    assert other.get(reverse("violations:detail", args=[explained.pk])).status_code == 404
    for e in evidence:
        assert other.get(reverse("violations:evidence_download", args=[e.pk])).status_code == 404
    assert other.post(reverse("violations:explain", args=[explained.pk]), {"explanation": "x"}).status_code == 404
    _decide(client_for("staff_yinchuan"), explained,
            measures={"rectification": {"deadline": (timezone.localdate() + timedelta(days=30)).isoformat(), "note": "整改"}})
    rect = Rectification.objects.get(case=explained)
    assert other.post(reverse("violations:rectification_report", args=[rect.pk]), {"report": "x"}).status_code == 404
    assert other.post(reverse("violations:act", args=[explained.pk]), {"action": "close"}).status_code == 403  # role
    assert explained.number not in _html(other.get(reverse("violations:list")))
    assert Rectification.objects.get(pk=rect.pk).status == "pending"


def test_staff_of_another_agency_gets_404(explained, client_for):
    other = client_for("staff_guyuan")
    before = _snapshot(explained)
    assert other.get(reverse("violations:detail", args=[explained.pk])).status_code == 404
    assert other.post(reverse("violations:act", args=[explained.pk]),
                      {"action": "note", "note": "x"}).status_code == 404
    assert other.post(reverse("violations:evidence_upload", args=[explained.pk]),
                      {"file": SimpleUploadedFile("x.pdf", PDF)}).status_code == 404
    for e in Evidence.objects.filter(case=explained):
        assert other.get(reverse("violations:evidence_download", args=[e.pk])).status_code == 404
    assert explained.number not in _html(other.get(reverse("violations:list"), {"queue": "all"}))
    assert _snapshot(explained) == before


# ---- statistics and the public list ------------------------------------------------------------------


def test_statistics_and_the_public_list_count_the_decision(explained, client_for):
    _decide(client_for("staff_yinchuan"), explained, legal_basis="康复协议第二十八条；辅助器具协议第三十条",
            measures={"dishonest": {}, "recovery": {"amount": "500"}})
    response = client_for("auditor_yinchuan").get(reverse("violations:statistics"))
    stats = response.context["stats"]
    assert response.status_code == 200 and stats["total"] == 1
    assert [(r["institution__name"], r["total"], r["decided"]) for r in stats["by_institution"]] == [(YINCHUAN, 1, 1)]
    assert {r["measure__kind"]: r["n"] for r in stats["by_measure"]} == {"dishonest": 1, "recovery": 1}
    assert "¥500.00" in _html(response)
    assert client_for("staff_guyuan").get(reverse("violations:statistics")).context["stats"]["total"] == 0
    public = Client().get(reverse("violations:public"))  # no login
    assert public.status_code == 200
    html = _html(public)
    assert YINCHUAN in html and "挂床住院、虚记住院天数" in html
    assert SECRET_NOTE not in html
