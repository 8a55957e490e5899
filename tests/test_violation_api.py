"""Violation case API (issue 6): the whole flow (open → notify → explain → decide by someone else)
with its effects; the refusals as {"code", "message", "detail"} that change nothing (four eyes,
a fine outside 2–5×, no legal basis); what an institution may read of its own case (never the
notes, the agency's evidence or the internal steps); a foreign id is a 404 on every route; the
queue, statistics, measures and the public list (no login).

The clock is pinned to 20 May 2026, 10:00 in Asia/Shanghai.
"""

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from settlement.models import Deduction, ScoreComponent
from violations.models import Case, CaseStatus, DecisionMeasure, Evidence, InvestigationNote, Rectification
from tests.settlement_helpers import GUYUAN, YINCHUAN, declare, travel
from tests.violation_helpers import BASIS, case_state, effects, medical_agreement, ready_case

D = Decimal
CASES = reverse("api:case-list")


@pytest.fixture(autouse=True)
def today():
    with travel(2026, 5, 20, 10):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def yc(institution):
    return institution(YINCHUAN)


@pytest.fixture
def case(yc, users):
    """Opened by staff_yinchuan, explained by the hospital: ready for someone else's decision."""
    return ready_case(yc, opener=users["staff_yinchuan"], admin=users["hospital_admin"], agreement=medical_agreement(yc))


def _post(client, url, data):
    return client.post(url, data, content_type="application/json")


def _action(client, case, **data):
    return _post(client, reverse("api:case-action", args=[case.pk]), data)


def _error(response, status, code=None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    if code:
        assert body["code"] == code, body
    return body


def _decide(client, case, measures, **extra):
    return _action(client, case, action="decide", summary="经调查，违规事实成立。", legal_basis=BASIS, measures=measures, **extra)


# ---- the flow ------------------------------------------------------------------------------------------


def test_open_notify_explain_and_decide_through_the_api(client_for, yc, users):
    (line,) = declare(yc.code, "800.00", period="2026-04")
    staff, hospital, auditor = client_for("staff_yinchuan"), client_for("hospital_admin"), client_for("auditor_yinchuan")
    agreement = medical_agreement(yc)

    r = _post(staff, CASES, {"institution": yc.pk, "agreement": agreement.pk, "source": "complaint",
                             "title": "超范围收费", "description": "群众投诉：住院期间存在超范围收费。", "lines": [line.pk]})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["status"], body["source_label"], body["institution"]["id"], body["agreement"]["id"]) == (
        "opened", "投诉举报", yc.pk, agreement.pk
    )
    assert [(x["id"], x["in_scope"]) for x in body["lines"]] == [(line.pk, "800.00")]
    case = Case.objects.get(pk=body["id"])
    assert body["number"] == case.number and body["opened_by"]["username"] == "staff_yinchuan"

    # Until it is notified, the case is the agency's own business: the institution does not see it.
    _error(hospital.get(reverse("api:case-detail", args=[case.pk])), 404)

    r = _action(staff, case, action="notify", notice_text="请就超范围收费问题作出书面说明。", explanation_due="2026-05-27",
                expected_revision=body["revision"])
    assert r.status_code == 200, r.content
    assert r.json()["case"]["status"] == "notified" and r.json()["case"]["explanation_due"] == "2026-05-27"
    assert hospital.get(reverse("api:case-detail", args=[case.pk])).json()["notice_text"] == "请就超范围收费问题作出书面说明。"

    r = hospital.post(reverse("api:case-explanation", args=[case.pk]), {
        "explanation": "已自查，系收费员录入错误，已退还。",
        "files": [SimpleUploadedFile("退费凭证.pdf", b"%PDF-1.4 refund"), SimpleUploadedFile("说明.png", b"\x89PNG....")],
    })
    assert r.status_code == 200, r.content
    explained = r.json()
    assert explained["status"] == "investigating" and explained["explained_by"]["username"] == "hospital_admin"
    assert sorted((e["original_name"], e["internal"]) for e in explained["evidence"]) == [
        ("说明.png", False), ("退费凭证.pdf", False)
    ]
    assert "notes" not in explained

    # Decided by another user than the opener. Amounts as JSON numbers keep their digits (no float).
    raw = json.dumps({
        "action": "decide", "summary": "超范围收费属实，追回并限期整改。", "legal_basis": BASIS,
        "expected_revision": explained["revision"],
        "measures": [{"measure": "recovery", "amount": "__AMOUNT__"},
                     {"measure": "rectification", "deadline": "2026-06-30", "note": "规范收费公示"}],
    }, ensure_ascii=False).replace('"__AMOUNT__"', "1000.10")
    r = auditor.post(reverse("api:case-action", args=[case.pk]), raw, content_type="application/json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["message"].startswith("已作出处理决定。")
    assert "追回已支付费用：¥1,000.10 自2026年5月的月度结算起抵扣" in body["message"]
    decided = body["case"]
    assert (decided["status"], decided["decided_by"]["username"], decided["legal_basis"], decided["score_points"]) == (
        "rectifying", "auditor_yinchuan", BASIS, "7.00"
    )
    recovery, rectification = decided["measures"]
    assert (recovery["measure"], recovery["amount"], recovery["label"], recovery["deadline"]) == (
        "recovery", "1000.10", "追回已支付费用", None
    )
    assert "医疗协议第三十八条" in recovery["article"] and recovery["effect"] and recovery["deduction"]
    assert (rectification["measure"], rectification["deadline"], rectification["amount"]) == ("rectification", "2026-06-30", None)
    assert [(x["requirement"], x["deadline"], x["status"]) for x in decided["rectifications"]] == [
        ("规范收费公示", "2026-06-30", "pending")
    ]
    assert [e["action"] for e in decided["events"]] == ["open", "notify", "explain", "decide"]

    # The effects are real: a deduction for the settlements and a component of the score.
    deduction = Deduction.objects.get(source_label=case.number)
    assert (deduction.amount, deduction.kind) == (D("1000.10"), "recovery")
    assert ScoreComponent.objects.get(source_label=case.number).points == D("-7.00")

    # The institution reports on its rectification.
    rect = Rectification.objects.get(case=case)
    r = _post(hospital, reverse("api:rectification-report", args=[rect.pk]), {"report": "已在大厅公示收费标准。"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "reported"
    assert client_for("hospital_guyuan").post(reverse("api:rectification-report", args=[rect.pk]), {"report": "x"},
                                              content_type="application/json").status_code == 404


# ---- refusals change nothing --------------------------------------------------------------------------


def test_the_openers_decision_is_refused_with_four_eyes_and_changes_nothing(client_for, case):
    before, state = effects(), case_state(case)
    body = _error(_decide(client_for("staff_yinchuan"), case, [{"measure": "recovery", "amount": "500.00"}]), 403, "four_eyes")
    assert "四眼" in body["message"]
    assert effects() == before and case_state(case) == state
    assert client_for("staff_yinchuan").get(reverse("api:case-detail", args=[case.pk])).json()["status"] == "investigating"


@pytest.mark.parametrize("fine", ["1900.00", "5100.00"])
def test_a_fine_outside_two_to_five_times_is_a_400_and_changes_nothing(client_for, case, fine):
    before, state = effects(), case_state(case)
    body = _error(_decide(client_for("auditor_yinchuan"), case,
                          [{"measure": "recovery", "amount": "1000.00"},
                           {"measure": "fine", "defrauded_amount": "1000.00", "amount": fine}]), 400, "fine_out_of_bounds")
    assert "辅助器具协议第十五条" in body["message"]
    assert effects() == before and case_state(case) == state


def test_a_decision_without_a_legal_basis_is_a_400(client_for, case):
    before, state = effects(), case_state(case)
    r = _action(client_for("auditor_yinchuan"), case, action="decide", summary="违规属实", legal_basis="  ",
                measures=[{"measure": "deferral"}])
    _error(r, 400, "legal_basis_required")
    assert effects() == before and case_state(case) == state


def test_a_stale_revision_is_a_409(client_for, case):
    before = effects()
    _error(_decide(client_for("auditor_yinchuan"), case, [{"measure": "interview"}], expected_revision=case.revision - 1),
           409, "stale")
    assert effects() == before


def test_malformed_action_bodies_are_a_400(client_for, case):
    auditor = client_for("auditor_yinchuan")
    _error(_action(auditor, case, action="burn"), 400, "invalid")
    _error(_decide(auditor, case, [{"measure": "rectification", "deadline": "next week", "note": "x"}]), 400, "invalid")
    _error(_decide(auditor, case, "interview"), 400, "invalid")
    assert not DecisionMeasure.objects.exists()


# ---- what an institution sees --------------------------------------------------------------------------


def test_an_institution_reads_its_case_without_notes_internal_evidence_or_internal_steps(client_for, case):
    staff = client_for("staff_yinchuan")
    assert _action(staff, case, action="note", note="调取了收费系统日志，疑似系统性加价。").status_code == 200
    r = staff.post(reverse("api:case-evidence", args=[case.pk]),
                   {"file": SimpleUploadedFile("收费日志.xlsx", b"PK\x03\x04 log"), "note": "收费系统日志"})
    assert r.status_code == 201, r.content
    assert (r.json()["original_name"], r.json()["internal"]) == ("收费日志.xlsx", True)
    assert InvestigationNote.objects.filter(case=case).count() == 1 and Evidence.objects.filter(case=case).count() == 1

    mine = client_for("hospital_admin").get(reverse("api:case-detail", args=[case.pk]))
    assert mine.status_code == 200
    body = mine.json()
    assert "notes" not in body
    assert body["evidence"] == []
    assert [e["action"] for e in body["events"]] == ["open", "notify", "explain"]
    assert "系统性加价" not in mine.content.decode() and "收费日志" not in mine.content.decode()

    # Staff and auditors see all of it.
    for username in ("staff_yinchuan", "auditor_yinchuan"):
        full = client_for(username).get(reverse("api:case-detail", args=[case.pk])).json()
        assert [n["text"] for n in full["notes"]] == ["调取了收费系统日志，疑似系统性加价。"]
        assert [e["original_name"] for e in full["evidence"]] == ["收费日志.xlsx"]
        assert [e["action"] for e in full["events"]] == ["open", "notify", "explain", "note", "evidence"]

    # Its list shows its own cases only; it cannot act, add evidence or open a case.
    listed = client_for("hospital_admin").get(CASES).json()
    assert [c["id"] for c in listed["results"]] == [case.pk]
    _error(_decide(client_for("hospital_admin"), case, [{"measure": "interview"}]), 403)
    assert client_for("hospital_admin").post(reverse("api:case-evidence", args=[case.pk]),
                                             {"file": SimpleUploadedFile("x.txt", b"x")}).status_code == 403
    _error(_post(client_for("hospital_admin"), CASES, {"institution": case.institution_id, "source": "daily",
                                                        "title": "自查", "description": "自查"}), 403)


@pytest.mark.parametrize("username", ["hospital_guyuan", "staff_guyuan"])
def test_a_case_of_another_institution_or_agency_is_a_404_everywhere(client_for, case, username):
    c = client_for(username)
    before, state = effects(), case_state(case)
    _error(c.get(reverse("api:case-detail", args=[case.pk])), 404, "not_found")
    _error(_decide(c, case, [{"measure": "interview"}]), 404, "not_found")
    _error(_action(c, case, action="note", note="看看"), 404, "not_found")
    _error(c.post(reverse("api:case-evidence", args=[case.pk]), {"file": SimpleUploadedFile("x.pdf", b"%PDF")}), 404)
    _error(c.post(reverse("api:case-explanation", args=[case.pk]), {"explanation": "x"}), 404)
    assert c.get(CASES).json()["results"] == []
    assert effects() == before and case_state(case) == state
    assert not Evidence.objects.exists() and not InvestigationNote.objects.exists()


def test_opening_a_case_outside_the_callers_scope_is_a_404(client_for, institution, yc):
    staff = client_for("staff_yinchuan")
    gy = institution(GUYUAN)
    base = {"source": "daily", "title": "日常检查", "description": "检查发现问题。"}
    _error(_post(staff, CASES, {**base, "institution": gy.pk}), 404)
    (foreign_line,) = declare(gy.code, "100.00", period="2026-04")
    _error(_post(staff, CASES, {**base, "institution": yc.pk, "lines": [foreign_line.pk]}), 404)
    foreign_agreement = medical_agreement(gy)
    _error(_post(staff, CASES, {**base, "institution": yc.pk, "agreement": foreign_agreement.pk}), 404)
    _error(_post(client_for("staff_region"), CASES, {**base, "institution": yc.pk, "agreement": foreign_agreement.pk}),
           400, "invalid_agreement")
    assert not Case.objects.exists()


# ---- the queue, statistics, measures and the public list ------------------------------------------------


def test_the_queue_filters_and_the_decide_queue_leaves_out_my_own_cases(client_for, users, yc, case):
    other = ready_case(yc, opener=users["auditor_yinchuan"], admin=users["hospital_admin"], title="分解住院")
    staff = client_for("staff_yinchuan")

    def ids(**query):
        r = staff.get(CASES, query)
        assert r.status_code == 200, r.content
        return [c["id"] for c in r.json()["results"]]

    assert set(ids()) == {case.pk, other.pk}
    assert ids(queue="mine") == [case.pk]
    assert ids(queue="decide") == [other.pk]
    assert ids(q="分解") == [other.pk]
    assert ids(q=case.number) == [case.pk]
    assert ids(status="closed") == []
    assert set(ids(institution=yc.pk, source="complaint")) == {case.pk, other.pk}
    _error(staff.get(CASES, {"status": "burnt"}), 400, "invalid")


def test_the_queue_lists_open_cases_before_closed_ones(client_for, users, yc, case):
    """selectors.case_queue: "the work queue: open cases first"."""
    auditor = users["auditor_yinchuan"]
    _decide(client_for("auditor_yinchuan"), case, [{"measure": "interview"}])
    assert _action(client_for("auditor_yinchuan"), case, action="close", note="约谈完毕").status_code == 200
    assert Case.objects.get(pk=case.pk).status == CaseStatus.CLOSED
    open_one = ready_case(yc, opener=auditor, admin=users["hospital_admin"], title="新案")
    listed = [c["id"] for c in client_for("staff_yinchuan").get(CASES).json()["results"]]
    assert listed == [open_one.pk, case.pk]


def test_statistics_and_measures(client_for, users, case):
    auditor = client_for("auditor_yinchuan")
    assert _decide(auditor, case, [{"measure": "recovery", "amount": "1200.00"}, {"measure": "interview"}]).status_code == 200
    r = auditor.get(reverse("api:case-statistics"), {"year": 2026})
    assert r.status_code == 200, r.content
    stats = r.json()
    assert (stats["year"], stats["total"], stats["decided"]) == (2026, 1, 1)
    assert stats["by_institution"] == [{"code": case.institution.code, "name": YINCHUAN, "total": 1, "open": 1, "decided": 1}]
    assert {m["kind"]: (m["n"], m["amount"]) for m in stats["by_measure"]} == {
        "interview": (1, "0.00"), "recovery": (1, "1200.00")
    }
    assert stats["by_month"] == [{"month": "2026-05", "n": 1, "points": "6.00"}]
    assert stats["by_source"] == [{"source": "complaint", "source_label": "投诉举报", "n": 1}]
    assert client_for("staff_guyuan").get(reverse("api:case-statistics")).json()["total"] == 0
    assert client_for("hospital_admin").get(reverse("api:case-statistics")).status_code == 403

    measures = client_for("hospital_admin").get(reverse("api:measure-list"))
    assert measures.status_code == 200
    by_code = {m["code"]: m for m in measures.json()}
    assert len(by_code) == 10
    assert by_code["fine"]["article"].startswith("辅助器具协议第十五条") and by_code["recovery"]["score_points"] == "5.00"


def test_the_public_list_needs_no_login(client_for, case, users):
    from violations.services.cases import case_decide  # noqa: PLC0415

    case_decide(case=case, measures=[{"measure": "dishonest"}, {"measure": "termination"}], summary="骗取基金",
                legal_basis="康复协议第二十八条", actor=users["auditor_yinchuan"])
    anonymous = Client()
    r = anonymous.get(reverse("api:public-violations"))
    assert r.status_code == 200, r.content
    body = r.json()
    assert [(d["institution_name"], d["case_number"]) for d in body["dishonest"]] == [(YINCHUAN, case.number)]
    assert [t["party_b_name"] for t in body["terminations"]] == [case.agreement.party_b_name]
    assert "termination_reason" not in body["terminations"][0]
    assert anonymous.get(CASES).status_code in (401, 403)
    assert anonymous.get(reverse("api:case-detail", args=[case.pk])).status_code in (401, 403)


def test_an_explanation_as_json(client_for, users, yc):
    from tests.violation_helpers import notify, open_case  # noqa: PLC0415

    case = open_case(yc, users["staff_yinchuan"])
    notify(case, users["staff_yinchuan"])
    _error(_post(client_for("staff_yinchuan"), reverse("api:case-explanation", args=[case.pk]), {"explanation": "x"}), 403)
    _error(_post(client_for("hospital_admin"), reverse("api:case-explanation", args=[case.pk]), {"explanation": " "}), 400)
    r = _post(client_for("hospital_admin"), reverse("api:case-explanation", args=[case.pk]),
              {"explanation": "已自查整改。", "expected_revision": case.revision + 1})
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["explanation"], r.json()["evidence"]) == ("investigating", "已自查整改。", [])


def test_the_list_and_the_detail_run_a_fixed_number_of_queries(client_for, users, yc, case):
    """No query per case, measure, note, event or evidence (N+1): a small case and a big one, a
    short list and a longer one, cost the same."""
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    staff, auditor = client_for("staff_region"), client_for("auditor_yinchuan")

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert staff.get(url).status_code == 200
        return len(ctx.captured_queries)

    small = ready_case(yc, opener=users["staff_yinchuan"], admin=users["hospital_admin"], title="挂床住院")
    assert _decide(auditor, small, [{"measure": "rectification", "deadline": "2026-06-30", "note": "整改"}]).status_code == 200
    assert _action(auditor, small, action="note", note="第一条记录").status_code == 200
    assert _decide(auditor, case, [{"measure": "recovery", "amount": "100.00"}, {"measure": "interview"},
                                   {"measure": "rectification", "deadline": "2026-06-30", "note": "整改"},
                                   {"measure": "fine", "defrauded_amount": "100.00", "amount": "300.00"}]).status_code == 200
    for text in ("第一条记录", "第二条记录", "第三条记录"):
        assert _action(auditor, case, action="note", note=text).status_code == 200
    assert count(reverse("api:case-detail", args=[case.pk])) == count(reverse("api:case-detail", args=[small.pk]))

    list_two = count(CASES)
    for title in ("分解住院", "串换药品", "虚记费用"):
        ready_case(yc, opener=users["staff_yinchuan"], admin=users["hospital_admin"], title=title)
    assert count(CASES) == list_two
