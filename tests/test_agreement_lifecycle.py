"""The agreement lifecycle (SPEC §3) through its services: every rule, and that a refusal changes nothing.

Articles: M§39(3) two suspensions in one term → termination; M§42 / R§30 term; M§43, R§31 30 days'
written notice for a unilateral early termination, D§31 for any termination of a device agreement;
D§33 renewal; W§34 termination for cause bars a new agreement for two years.
"""

import threading
import time
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from agreements.models import (
    Agreement,
    AgreementAction,
    AgreementBar,
    AgreementEvent,
    AgreementStatus,
    TerminationKind,
)
from agreements.services import lifecycle
from agreements.services.drafting import agreement_create_draft
from agreements.services.lifecycle import (
    add_years,
    agreement_complete_term,
    agreement_expire,
    agreement_give_notice,
    agreement_renew,
    agreement_resume,
    agreement_sign,
    agreement_suspend,
    agreement_terminate,
    expire_due,
)
from core.demo import load_registry
from core.errors import ApplicationError, Conflict, PermissionDenied
from institutions.models import Designation

YINCHUAN = "银川市第一人民医院"  # medical, 银川市社会保险事业管理中心
GUYUAN = "固原市人民医院"  # medical and rehabilitation
ZONGYIYUAN = "宁夏医科大学总医院"  # medical and rehabilitation

S = AgreementStatus
A = AgreementAction
K = TerminationKind


def today():
    return timezone.localdate()


def fmt(d):
    return f"{d.year}年{d.month}月{d.day}日"


def registry_agreement(name, type_="medical"):
    return Agreement.objects.get(institution__name=name, type=type_, from_registry=True)


def fresh(ag):
    return Agreement.objects.get(pk=ag.pk)


def full_draft(institution, actor, type_="medical", **overrides):
    """A draft with everything signing needs (M§4: a leader and at least one manager)."""
    start = overrides.pop("valid_from", today())
    fields = {
        "valid_from": start,
        "valid_to": add_years(start, 3) - timedelta(days=1),
        "signed_on": start,
        "leader_name": "王分管",
        "managers": ["李专管"],
    }
    fields.update(overrides)
    return agreement_create_draft(institution=institution, type_=type_, actor=actor, **fields)


def with_term(ag, actor, valid_to, valid_from=None):
    valid_from = valid_from or min(valid_to, today()) - timedelta(days=3 * 365)
    return agreement_complete_term(
        agreement=ag, valid_from=valid_from, valid_to=valid_to, signed_on=valid_from, actor=actor
    ).agreement


def _state(ag):
    ag = fresh(ag)
    return {
        "status": ag.status,
        "revision": ag.revision,
        "events": ag.events.count(),
        "termination_kind": ag.termination_kind,
        "notice_given_on": ag.notice_given_on,
        "valid_to": ag.valid_to,
    }


def _totals():
    return {
        "agreements": Agreement.objects.count(),
        "events": AgreementEvent.objects.count(),
        "bars": AgreementBar.objects.count(),
    }


@contextmanager
def refused(ag, *phrases, error=ApplicationError, code=None, absent=()):
    """The block must raise `error` whose message holds every phrase, and change nothing at all."""
    before, totals = _state(ag), _totals()
    with pytest.raises(error) as exc:
        yield exc
    message = exc.value.message
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"
    for phrase in absent:
        assert phrase not in message, f"{phrase!r} unexpectedly in {message!r}"
    if code:
        assert exc.value.code == code
    assert _state(ag) == before
    assert _totals() == totals


@pytest.fixture
def staff(users):
    # The regional agency's clerk: these tests are about the lifecycle rules, which hold for every
    # institution; the agency scope has its own test below.
    return users["staff_region"]


# ---- registry ---------------------------------------------------------------------------------


def test_registry_import_gives_one_active_term_pending_agreement_per_designation(registry):
    assert {t: r.agreements_created for t, r in registry.items()} == {"medical": 74, "rehabilitation": 14, "devices": 5}
    agreements = Agreement.objects.all()
    assert agreements.count() == 93 == Designation.objects.count()
    assert set(agreements.values_list("institution_id", "type")) == set(Designation.objects.values_list("institution_id", "type"))
    agencies = dict(((d.institution_id, d.type), d.agency_id) for d in Designation.objects.all())
    for ag in agreements:
        assert ag.status == S.ACTIVE
        assert ag.from_registry
        assert ag.valid_from is None and ag.valid_to is None and ag.signed_on is None
        assert ag.term_pending
        assert ag.agency_id == agencies[(ag.institution_id, ag.type)]
        assert ag.party_b_name == ag.institution.name
        (event,) = ag.events.all()
        assert (event.action, event.to_status) == (A.CREATE, S.ACTIVE)
        assert "待补全" in event.reason
    assert len({ag.number for ag in agreements}) == 93


def test_registry_reimport_creates_no_agreement(registry):
    before = _totals()
    reports = load_registry()
    assert [r.agreements_created for r in reports] == [0, 0, 0]
    assert _totals() == before
    assert Agreement.objects.filter(status=S.ACTIVE, from_registry=True).count() == 93


# ---- signing ----------------------------------------------------------------------------------


def test_sign_requires_term_signing_date_leader_and_at_least_one_manager(institution, staff):
    hospital = institution(YINCHUAN)
    empty = agreement_create_draft(institution=hospital, type_="medical", actor=staff)
    assert empty.status == S.DRAFT
    with refused(empty, "签订前须填写", "有效期起", "有效期止", "签订日期", "乙方分管院领导", "乙方专（兼）职管理人员",
                 "第四条", code="sign_refused"):
        agreement_sign(agreement=empty, actor=staff)

    # Only the missing manager is named (a blank name is no manager).
    no_manager = full_draft(hospital, staff, managers=["  "])
    assert no_manager.managers == []
    with refused(no_manager, "乙方专（兼）职管理人员", absent=("有效期起", "签订日期", "乙方分管院领导"), code="sign_refused"):
        agreement_sign(agreement=no_manager, actor=staff)

    no_leader = full_draft(hospital, staff, leader_name="")
    with refused(no_leader, "乙方分管院领导", absent=("有效期起", "乙方专（兼）职管理人员")):
        agreement_sign(agreement=no_leader, actor=staff)


def test_sign_is_refused_while_another_live_agreement_exists_and_names_it(institution, staff):
    old = registry_agreement(YINCHUAN)
    draft = full_draft(institution(YINCHUAN), staff)
    with refused(draft, old.number, "同一机构同一类型只能有一份生效或暂停的协议", code="sign_refused"):
        agreement_sign(agreement=draft, actor=staff)

    agreement_suspend(agreement=old, reason="未按要求上传数据", actor=staff)  # suspended is still live
    with refused(draft, old.number, "暂停"):
        agreement_sign(agreement=draft, actor=staff)


def test_sign_works_after_the_old_agreement_is_terminated(institution, staff):
    old = registry_agreement(YINCHUAN)
    draft = full_draft(institution(YINCHUAN), staff)
    agreement_terminate(agreement=old, kind=K.MUTUAL, reason="协商一致，改签2026版协议", actor=staff)
    outcome = agreement_sign(agreement=draft, actor=staff, expected_revision=draft.revision)
    assert "签订生效" in outcome.message
    signed = fresh(draft)
    assert signed.status == S.ACTIVE
    assert signed.revision == draft.revision + 1
    event = signed.events.last()
    assert (event.action, event.from_status, event.to_status, event.actor) == (A.SIGN, S.DRAFT, S.ACTIVE, staff)
    assert fmt(draft.signed_on) in event.reason


def test_another_type_for_the_same_institution_is_no_obstacle_to_signing(institution, users):
    staff = users["staff_guyuan"]  # 固原's own agency: a 银川 clerk may not act on it
    hospital = institution(GUYUAN)
    rehab = registry_agreement(GUYUAN, "rehabilitation")
    draft = full_draft(hospital, staff, type_="rehabilitation")
    agreement_terminate(agreement=rehab, kind=K.MUTUAL, reason="改签", actor=staff)
    agreement_sign(agreement=draft, actor=staff)
    assert fresh(draft).status == S.ACTIVE
    assert registry_agreement(GUYUAN, "medical").status == S.ACTIVE


def test_database_refuses_a_second_live_agreement_written_directly(institution, staff):
    old = registry_agreement(YINCHUAN)
    parties = {"party_a_name": old.party_a_name, "party_b_name": old.party_b_name}
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.create(number="TEST-LIVE-1", type="medical", institution=old.institution, agency=old.agency,
                                 status=S.ACTIVE, **parties)
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.create(number="TEST-LIVE-2", type="medical", institution=old.institution, agency=old.agency,
                                 status=S.SUSPENDED, **parties)
    draft = full_draft(institution(YINCHUAN), staff)
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.filter(pk=draft.pk).update(status=S.ACTIVE)
    assert fresh(draft).status == S.DRAFT
    # Not live, or another type: the index lets them be.
    Agreement.objects.create(number="TEST-DONE-1", type="medical", institution=old.institution, agency=old.agency,
                             status=S.TERMINATED, **parties)
    Agreement.objects.create(number="TEST-DEV-1", type="devices", institution=old.institution, agency=old.agency,
                             status=S.ACTIVE, **parties)
    assert Agreement.objects.filter(institution=old.institution, type="medical", status__in=[S.ACTIVE, S.SUSPENDED]).count() == 1


def test_the_database_index_backs_the_service_when_the_check_is_raced(institution, staff, monkeypatch):
    """Two clerks signing at once can both pass the check; the partial unique index stops the second."""
    old = registry_agreement(YINCHUAN)
    draft = full_draft(institution(YINCHUAN), staff)
    monkeypatch.setattr(lifecycle, "_other_live", lambda agreement: None)  # as if the other were not yet committed
    with refused(draft, "同一机构同一类型只能有一份生效或暂停的协议", error=Conflict, code="live_exists"):
        agreement_sign(agreement=draft, actor=staff)
    assert fresh(old).status == S.ACTIVE


# ---- suspension (M§39(3)) ---------------------------------------------------------------------


def test_suspend_requires_a_reason(staff):
    ag = registry_agreement(YINCHUAN)
    for blank in ("", "   "):
        with refused(ag, "暂停协议须写明理由", code="reason_required"):
            agreement_suspend(agreement=ag, reason=blank, actor=staff)


def test_suspend_then_resume(staff):
    ag = registry_agreement(YINCHUAN)
    outcome = agreement_suspend(agreement=ag, reason="未按规定上传结算数据", actor=staff)
    assert outcome.message == "协议已暂停。"
    assert fresh(ag).status == S.SUSPENDED
    with refused(ag, "暂停", "不能暂停", code="suspend_refused"):
        agreement_suspend(agreement=ag, reason="再次暂停", actor=staff)
    outcome = agreement_resume(agreement=ag, reason="整改到位", actor=staff)
    assert outcome.message == "协议已恢复。"
    assert fresh(ag).status == S.ACTIVE
    with refused(ag, "不能恢复", code="resume_refused"):
        agreement_resume(agreement=ag, reason="", actor=staff)
    assert list(fresh(ag).events.values_list("action", "from_status", "to_status")) == [
        (A.CREATE, "", S.ACTIVE), (A.SUSPEND, S.ACTIVE, S.SUSPENDED), (A.RESUME, S.SUSPENDED, S.ACTIVE),
    ]


def test_second_suspension_in_one_term_terminates_for_cause_and_bars_two_years(staff):
    ag = registry_agreement(YINCHUAN)
    first, second = today() - timedelta(days=100), today() - timedelta(days=10)
    agreement_suspend(agreement=ag, reason="拒不提供病历资料", actor=staff, on=first)
    agreement_resume(agreement=ag, reason="已整改", actor=staff, on=first + timedelta(days=20))
    outcome = agreement_suspend(agreement=ag, reason="串换药品", actor=staff, on=second)

    assert "第2次暂停" in outcome.message and "医疗协议第三十九条第（三）项" in outcome.message
    ag = fresh(ag)
    assert ag.status == S.TERMINATED
    assert ag.termination_kind == K.FOR_CAUSE
    assert ag.terminated_on == second
    assert "医疗协议第三十九条第（三）项" in ag.termination_reason
    assert "累计2次被暂停协议" in ag.termination_reason and "串换药品" in ag.termination_reason
    assert list(ag.events.values_list("action", "from_status", "to_status")) == [
        (A.CREATE, "", S.ACTIVE),
        (A.SUSPEND, S.ACTIVE, S.SUSPENDED),
        (A.RESUME, S.SUSPENDED, S.ACTIVE),
        (A.SUSPEND, S.ACTIVE, S.SUSPENDED),
        (A.TERMINATE, S.SUSPENDED, S.TERMINATED),
    ]
    bar = AgreementBar.objects.get(agreement=ag)
    assert (bar.institution_id, bar.type) == (ag.institution_id, "medical")
    assert bar.until == add_years(second, 2)
    assert "第三十四条" in bar.reason
    with refused(ag, "已解除", "不能暂停"):
        agreement_suspend(agreement=ag, reason="第三次", actor=staff)


def test_the_bar_lasts_two_calendar_years():
    assert add_years(date(2026, 3, 10), 2) == date(2028, 3, 10)
    assert add_years(date(2028, 2, 29), 2) == date(2030, 2, 28)


def test_a_renewed_successor_starts_its_own_suspension_count(institution, staff):
    hospital = institution(YINCHUAN)
    first = full_draft(hospital, staff, valid_from=today() - timedelta(days=3 * 365), valid_to=today() + timedelta(days=20))
    agreement_terminate(agreement=registry_agreement(YINCHUAN), kind=K.MUTUAL, reason="改签", actor=staff)
    agreement_sign(agreement=first, actor=staff)
    agreement_suspend(agreement=first, reason="第一次暂停", actor=staff)
    agreement_resume(agreement=first, reason="整改到位", actor=staff)

    successor = agreement_renew(agreement=first, actor=staff).agreement
    assert successor.managers == ["李专管"] and successor.leader_name == "王分管"
    agreement_expire(agreement=first, on=first.valid_to + timedelta(days=1))
    agreement_complete_term(agreement=successor, valid_from=successor.valid_from, valid_to=successor.valid_to,
                            signed_on=today(), actor=staff)
    agreement_sign(agreement=successor, actor=staff, on=successor.valid_from)

    outcome = agreement_suspend(agreement=successor, reason="新协议期内第一次暂停", actor=staff, on=successor.valid_from)
    assert outcome.message == "协议已暂停。"
    assert fresh(successor).status == S.SUSPENDED
    assert not AgreementBar.objects.exists()


# ---- early termination and notice (M§43, R§31, D§31) -------------------------------------------


def test_terminate_requires_a_kind_and_a_reason(staff):
    ag = registry_agreement(YINCHUAN)
    with refused(ag, "解除类型", code="invalid_kind"):
        agreement_terminate(agreement=ag, kind="whim", reason="x", actor=staff)
    with refused(ag, "解除协议须写明理由", code="reason_required"):
        agreement_terminate(agreement=ag, kind=K.MUTUAL, reason=" ", actor=staff)


def test_unilateral_early_termination_is_refused_without_written_notice(staff):
    ag = registry_agreement(YINCHUAN)
    with refused(ag, "提前30日书面通知", "医疗协议第四十三条", code="terminate_refused"):
        agreement_terminate(agreement=ag, kind=K.NOTICE, reason="乙方决定不再承接", actor=staff)


def test_rehabilitation_unilateral_termination_needs_notice_too(staff):
    ag = registry_agreement(GUYUAN, "rehabilitation")
    with refused(ag, "提前30日书面通知", "康复协议第三十一条"):
        agreement_terminate(agreement=ag, kind=K.NOTICE, reason="乙方决定不再承接", actor=staff)


def test_unilateral_termination_is_refused_29_days_after_notice_and_allowed_after_30(staff):
    ag = registry_agreement(YINCHUAN)
    given = today() - timedelta(days=40)
    outcome = agreement_give_notice(agreement=ag, by="B", reason="院区搬迁，停止承接工伤业务", actor=staff, on=given)
    effective = given + timedelta(days=30)
    assert fmt(effective) in outcome.message
    ag = fresh(ag)
    assert (ag.status, ag.notice_by, ag.notice_given_on, ag.notice_effective_on) == (S.ACTIVE, "B", given, effective)
    event = ag.events.last()
    assert (event.action, event.from_status, event.to_status, event.on) == (A.NOTICE, S.ACTIVE, S.ACTIVE, given)
    assert "乙方" in event.reason and fmt(effective) in event.reason

    with refused(ag, "须满30日", f"最早可于{fmt(effective)}解除", "医疗协议第四十三条", code="terminate_refused"):
        agreement_terminate(agreement=ag, kind=K.NOTICE, reason="通知期满", actor=staff, on=given + timedelta(days=29))
    agreement_terminate(agreement=ag, kind=K.NOTICE, reason="通知期满", actor=staff, on=effective)
    ag = fresh(ag)
    assert (ag.status, ag.termination_kind, ag.terminated_on) == (S.TERMINATED, K.NOTICE, effective)
    assert not AgreementBar.objects.exists()  # only a termination for cause bars


def test_notice_effective_date_earlier_than_30_days_is_refused(staff):
    ag = registry_agreement(YINCHUAN)
    given = today() - timedelta(days=60)
    with refused(ag, "30日后", f"不早于{fmt(given + timedelta(days=30))}", "医疗协议第四十三条", code="notice_too_short"):
        agreement_give_notice(agreement=ag, by="A", reason="甲方调整定点布局", actor=staff, on=given,
                              effective_on=given + timedelta(days=29))
    later = given + timedelta(days=45)
    agreement_give_notice(agreement=ag, by="A", reason="甲方调整定点布局", actor=staff, on=given, effective_on=later)
    assert fresh(ag).notice_effective_on == later
    # The date the notice names holds, even when 30 days have passed before it.
    with refused(ag, f"最早可于{fmt(later)}解除"):
        agreement_terminate(agreement=ag, kind=K.NOTICE, reason="期满", actor=staff, on=given + timedelta(days=30))
    with refused(ag, "已于", "登记书面通知", code="notice_refused"):
        agreement_give_notice(agreement=ag, by="B", reason="再通知一次", actor=staff, on=given + timedelta(days=1))
    agreement_terminate(agreement=ag, kind=K.NOTICE, reason="期满", actor=staff, on=later)
    assert fresh(ag).status == S.TERMINATED


def test_notice_needs_a_party_and_a_reason(staff):
    ag = registry_agreement(YINCHUAN)
    with refused(ag, "甲方或乙方", code="invalid_party"):
        agreement_give_notice(agreement=ag, by="C", reason="x", actor=staff)
    with refused(ag, "书面通知须写明理由", code="reason_required"):
        agreement_give_notice(agreement=ag, by="A", reason="", actor=staff)


def _devices_agreement():
    return Agreement.objects.filter(type="devices").order_by("pk").first()


@pytest.mark.parametrize("kind", [K.FOR_CAUSE, K.MUTUAL, K.CLOSURE, K.NOTICE])
def test_devices_agreement_needs_30_days_notice_for_any_kind_of_termination(staff, kind):
    ag = _devices_agreement()
    with refused(ag, "提前30日书面通知", "辅助器具协议第三十一条", code="terminate_refused"):
        agreement_terminate(agreement=ag, kind=kind, reason="终止", actor=staff)
    given = today() - timedelta(days=30)
    agreement_give_notice(agreement=ag, by="A", reason="乙方不按协议提供服务", actor=staff, on=given)
    with refused(ag, "辅助器具协议第三十一条"):
        agreement_terminate(agreement=ag, kind=kind, reason="终止", actor=staff, on=given + timedelta(days=29))
    agreement_terminate(agreement=ag, kind=kind, reason="终止", actor=staff, on=given + timedelta(days=30))
    assert fresh(ag).status == S.TERMINATED
    assert AgreementBar.objects.filter(agreement=ag).exists() == (kind == K.FOR_CAUSE)


@pytest.mark.parametrize("kind", [K.FOR_CAUSE, K.MUTUAL, K.CLOSURE])
def test_medical_termination_other_than_unilateral_needs_no_notice(staff, kind):
    ag = registry_agreement(YINCHUAN)
    outcome = agreement_terminate(agreement=ag, kind=kind, reason="伪造医疗文书骗取基金", actor=staff)
    assert "解除协议公示名单" in outcome.message  # M§43: terminations are published
    ag = fresh(ag)
    assert (ag.status, ag.termination_kind, ag.terminated_on) == (S.TERMINATED, kind, today())


# ---- the two-year bar (W§34) -------------------------------------------------------------------


def test_termination_for_cause_bars_new_draft_and_signing_for_two_years(institution, staff):
    hospital = institution(YINCHUAN)
    old = registry_agreement(YINCHUAN)
    waiting = full_draft(hospital, staff)  # drafted before the termination
    outcome = agreement_terminate(agreement=old, kind=K.FOR_CAUSE, reason="虚构医疗服务骗取工伤保险基金", actor=staff)
    until = add_years(today(), 2)
    assert fmt(until) in outcome.message
    assert AgreementBar.objects.get(agreement=old).until == until

    before = _totals()
    with pytest.raises(ApplicationError) as exc:
        agreement_create_draft(institution=hospital, type_="medical", actor=staff)
    assert exc.value.code == "barred"
    assert fmt(until) in exc.value.message and "第三十四条" in exc.value.message
    assert _totals() == before

    with refused(waiting, fmt(until), "第三十四条", code="sign_refused"):
        agreement_sign(agreement=waiting, actor=staff)
    with refused(waiting, fmt(until), "第三十四条"):
        agreement_sign(agreement=waiting, actor=staff, on=until - timedelta(days=1))
    with refused(waiting, fmt(until), "第三十四条"):  # "二年之内" includes the anniversary itself
        agreement_sign(agreement=waiting, actor=staff, on=until)
    agreement_sign(agreement=waiting, actor=staff, on=until + timedelta(days=1))
    assert fresh(waiting).status == S.ACTIVE


def test_the_bar_is_for_that_type_only(institution, staff):
    hospital = institution(GUYUAN)
    agreement_terminate(agreement=registry_agreement(GUYUAN), kind=K.FOR_CAUSE, reason="冒用参保人员身份住院", actor=staff)
    with pytest.raises(ApplicationError, match="第三十四条"):
        agreement_create_draft(institution=hospital, type_="medical", actor=staff)
    rehab = full_draft(hospital, staff, type_="rehabilitation")
    agreement_terminate(agreement=registry_agreement(GUYUAN, "rehabilitation"), kind=K.MUTUAL, reason="改签", actor=staff)
    agreement_sign(agreement=rehab, actor=staff)
    assert fresh(rehab).status == S.ACTIVE


def test_termination_not_for_cause_does_not_bar(institution, staff):
    agreement_terminate(agreement=registry_agreement(YINCHUAN), kind=K.CLOSURE, reason="停业", actor=staff)
    draft = full_draft(institution(YINCHUAN), staff)
    agreement_sign(agreement=draft, actor=staff)
    assert fresh(draft).status == S.ACTIVE
    assert not AgreementBar.objects.exists()


# ---- expiry -------------------------------------------------------------------------------------


def test_expire_due_marks_live_agreements_past_their_term_and_leaves_the_rest(staff):
    ended = with_term(registry_agreement(YINCHUAN), staff, today() - timedelta(days=1))
    last_day = with_term(registry_agreement(ZONGYIYUAN), staff, today())
    suspended = with_term(registry_agreement(GUYUAN), staff, today() - timedelta(days=10))
    agreement_suspend(agreement=suspended, reason="整改期间", actor=staff)
    terminated = with_term(registry_agreement(GUYUAN, "rehabilitation"), staff, today() - timedelta(days=5))
    agreement_terminate(agreement=terminated, kind=K.MUTUAL, reason="协商一致", actor=staff)

    assert expire_due(on=today()) == 2
    assert fresh(ended).status == S.EXPIRED
    assert fresh(suspended).status == S.EXPIRED
    assert fresh(last_day).status == S.ACTIVE
    assert fresh(terminated).status == S.TERMINATED
    assert Agreement.objects.filter(status=S.ACTIVE, valid_to__isnull=True).count() == 93 - 4
    event = fresh(ended).events.last()
    assert (event.action, event.from_status, event.to_status, event.actor, event.on) == (
        A.EXPIRE, S.ACTIVE, S.EXPIRED, None, today())
    assert fmt(ended.valid_to) in event.reason and "届满" in event.reason
    assert fresh(suspended).events.last().from_status == S.SUSPENDED

    states, totals = {a.pk: _state(a) for a in Agreement.objects.all()}, _totals()
    assert expire_due(on=today()) == 0
    assert {a.pk: _state(a) for a in Agreement.objects.all()} == states
    assert _totals() == totals

    with refused(last_day, "尚未到期", code="expire_refused"):
        agreement_expire(agreement=last_day, on=today())


# ---- renewal (D§33) -----------------------------------------------------------------------------


def test_renew_creates_a_successor_draft_for_the_next_term_once(staff):
    ag = with_term(registry_agreement(YINCHUAN), staff, today() + timedelta(days=20))
    outcome = agreement_renew(agreement=ag, actor=staff)
    successor = outcome.agreement
    assert successor.number in outcome.message
    assert successor.status == S.DRAFT
    assert successor.predecessor_id == ag.pk
    assert (successor.institution_id, successor.type, successor.agency_id) == (ag.institution_id, ag.type, ag.agency_id)
    start = ag.valid_to + timedelta(days=1)
    assert (successor.valid_from, successor.valid_to) == (start, add_years(start, 3) - timedelta(days=1))
    event = fresh(ag).events.last()
    assert (event.action, event.actor) == (A.RENEW, staff)
    assert successor.number in event.reason
    assert fresh(ag).status == S.ACTIVE  # the old one runs to the end of its term

    with refused(ag, "该协议已续签", code="renew_refused"):
        agreement_renew(agreement=ag, actor=staff)
    with refused(successor, "草拟", "不能续签"):
        agreement_renew(agreement=successor, actor=staff)


# ---- stale forms and permissions ------------------------------------------------------------------

ACTIONS = {
    "suspend": lambda ag, actor, **kw: agreement_suspend(agreement=ag, reason="理由", actor=actor, **kw),
    "terminate": lambda ag, actor, **kw: agreement_terminate(agreement=ag, kind=K.MUTUAL, reason="理由", actor=actor, **kw),
    "notice": lambda ag, actor, **kw: agreement_give_notice(agreement=ag, by="A", reason="理由", actor=actor, **kw),
    "renew": lambda ag, actor, **kw: agreement_renew(agreement=ag, actor=actor, **kw),
    "complete_term": lambda ag, actor, **kw: agreement_complete_term(
        agreement=ag, valid_from=today(), valid_to=today() + timedelta(days=365), signed_on=today(), actor=actor, **kw),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_stale_expected_revision_is_a_conflict_and_changes_nothing(staff, action):
    ag = registry_agreement(YINCHUAN)
    agreement_complete_term(agreement=ag, valid_from=today(), valid_to=today() + timedelta(days=700), signed_on=None, actor=staff)
    stale = ag.revision  # the page was opened before the term was completed
    assert fresh(ag).revision == stale + 1
    with refused(ag, "已被修改", "刷新", error=Conflict, code="stale"):
        ACTIONS[action](ag, staff, expected_revision=stale)
    ACTIONS[action](ag, staff, expected_revision=stale + 1)


def test_stale_expected_revision_on_signing_is_a_conflict(institution, staff):
    draft = full_draft(institution(YINCHUAN), staff)
    with refused(draft, "已被修改", error=Conflict, code="stale"):
        agreement_sign(agreement=draft, actor=staff, expected_revision=draft.revision + 1)


@pytest.mark.parametrize("username", ["hospital_admin", "auditor_yinchuan"])
def test_only_agency_staff_and_admins_act_on_agreements(users, institution, staff, username):
    actor = users[username]
    ag = registry_agreement(YINCHUAN)
    for action in sorted(ACTIONS):
        with refused(ag, "只有经办人员", error=PermissionDenied, code="permission_denied"):
            ACTIONS[action](ag, actor)
    agreement_suspend(agreement=ag, reason="暂停", actor=staff)
    with refused(ag, "只有经办人员", error=PermissionDenied):
        agreement_resume(agreement=ag, reason="恢复", actor=actor)
    agreement_terminate(agreement=ag, kind=K.MUTUAL, reason="改签", actor=staff)
    draft = full_draft(institution(YINCHUAN), staff)
    with refused(draft, "只有经办人员", error=PermissionDenied):
        agreement_sign(agreement=draft, actor=actor)


@pytest.mark.parametrize("username", ["hospital_admin", "auditor_yinchuan"])
def test_only_agency_staff_and_admins_draft_agreements(users, institution, username):
    before = _totals()
    with pytest.raises(PermissionDenied, match="只有经办人员"):
        agreement_create_draft(institution=institution(YINCHUAN), type_="medical", actor=users[username])
    assert _totals() == before


def test_agency_staff_and_admins_may_act(users):
    for username, name in (("staff_region", YINCHUAN), ("admin", GUYUAN), ("staff_yinchuan", ZONGYIYUAN)):
        ag = registry_agreement(name)
        agreement_suspend(agreement=ag, reason="暂停", actor=users[username])
        event = fresh(ag).events.last()
        assert (event.action, event.to_status, event.actor) == (A.SUSPEND, S.SUSPENDED, users[username])


# ---- timeline ------------------------------------------------------------------------------------


def test_each_action_adds_a_timeline_event_with_states_actor_date_and_reason(institution, users, staff):
    region = users["staff_region"]
    d0 = today() - timedelta(days=200)
    old = registry_agreement(YINCHUAN)
    draft = full_draft(institution(YINCHUAN), staff, valid_from=d0)
    agreement_terminate(agreement=old, kind=K.MUTUAL, reason="改签2026版", actor=staff, on=d0)
    agreement_sign(agreement=draft, actor=staff, on=d0)
    agreement_suspend(agreement=draft, reason="未按时上传数据", actor=region, on=d0 + timedelta(days=10))
    agreement_resume(agreement=draft, reason="整改到位", actor=staff, on=d0 + timedelta(days=20))
    agreement_give_notice(agreement=draft, by="B", reason="停止承接工伤业务", actor=staff, on=d0 + timedelta(days=30))
    agreement_terminate(agreement=draft, kind=K.NOTICE, reason="通知期满", actor=region, on=d0 + timedelta(days=60))

    rows = [(e.action, e.from_status, e.to_status, e.actor, e.on) for e in fresh(draft).events.all()]
    assert rows == [
        (A.CREATE, "", S.DRAFT, staff, today()),
        (A.SIGN, S.DRAFT, S.ACTIVE, staff, d0),
        (A.SUSPEND, S.ACTIVE, S.SUSPENDED, region, d0 + timedelta(days=10)),
        (A.RESUME, S.SUSPENDED, S.ACTIVE, staff, d0 + timedelta(days=20)),
        (A.NOTICE, S.ACTIVE, S.ACTIVE, staff, d0 + timedelta(days=30)),
        (A.TERMINATE, S.ACTIVE, S.TERMINATED, region, d0 + timedelta(days=60)),
    ]
    reasons = list(fresh(draft).events.values_list("reason", flat=True))
    for reason, phrase in zip(reasons, ["起草", fmt(d0), "未按时上传数据", "整改到位", "停止承接工伤业务", "通知期满"]):
        assert phrase in reason
    assert "单方提前解除" in reasons[-1]
    assert fresh(draft).revision == draft.revision + 5

    old_events = list(fresh(old).events.values_list("action", "from_status", "to_status", "actor", "on"))
    assert old_events[-1] == (A.TERMINATE, S.ACTIVE, S.TERMINATED, staff.pk, d0)


# ---- concurrency on PostgreSQL --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_revision", [False, True])
def test_two_simultaneous_suspensions_leave_exactly_one(registry, users, monkeypatch, with_revision):
    assert connection.vendor == "postgresql"
    staff = users["staff_yinchuan"]
    ag = registry_agreement(YINCHUAN)
    revision = ag.revision

    # Hold the row lock a moment after the first suspension, so that the other really waits on it.
    real_record = lifecycle._record

    def slow_record(*args, **kwargs):
        real_record(*args, **kwargs)
        time.sleep(0.3)

    monkeypatch.setattr(lifecycle, "_record", slow_record)

    barrier = threading.Barrier(2)
    results = []

    def suspend(reason):
        try:
            barrier.wait(timeout=10)
            kwargs = {"expected_revision": revision} if with_revision else {}
            agreement_suspend(agreement=Agreement(pk=ag.pk), reason=reason, actor=staff, **kwargs)
            results.append("ok")
        except ApplicationError as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=suspend, args=(f"并发暂停{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)

    assert results.count("ok") == 1
    (error,) = [r for r in results if r != "ok"]
    if with_revision:
        assert isinstance(error, Conflict) and error.code == "stale"
    else:
        assert error.code == "suspend_refused" and "不能暂停" in error.message
    ag = fresh(ag)
    assert ag.status == S.SUSPENDED
    assert ag.revision == revision + 1
    assert ag.events.filter(action=A.SUSPEND).count() == 1


def test_a_clerk_cannot_act_on_another_agencys_agreement(institution, users):
    guyuan = registry_agreement(GUYUAN)
    with refused(guyuan, "管辖范围", error=PermissionDenied, code="out_of_scope"):
        agreement_suspend(agreement=guyuan, reason="越权", actor=users["staff_yinchuan"])
    with pytest.raises(PermissionDenied):
        agreement_create_draft(institution=institution(GUYUAN), type_="medical", actor=users["staff_yinchuan"])


def test_a_term_signed_in_the_portal_cannot_be_edited_only_renewed(institution, staff):
    registry = registry_agreement(YINCHUAN)
    agreement_terminate(agreement=registry, kind=K.MUTUAL, reason="改签", actor=staff)
    signed = full_draft(institution(YINCHUAN), staff)
    agreement_sign(agreement=signed, actor=staff)
    with refused(signed, "不能修改", "续签", code="term_refused"):
        agreement_complete_term(agreement=signed, valid_from=today(), valid_to=today() + timedelta(days=3650),
                                signed_on=None, actor=staff)


def test_a_draft_whose_term_has_ended_cannot_be_signed(institution, staff):
    agreement_terminate(agreement=registry_agreement(YINCHUAN), kind=K.MUTUAL, reason="改签", actor=staff)
    stale = full_draft(institution(YINCHUAN), staff, valid_from=today() - timedelta(days=400),
                       valid_to=today() - timedelta(days=1))
    with refused(stale, "届满", code="sign_refused"):
        agreement_sign(agreement=stale, actor=staff)


def test_a_device_agreement_needs_no_named_hospital_leader_to_sign(institution, staff):
    """Only the medical and rehabilitation templates (第四条) ask for a leader and managers."""
    supplier = institution("银川友善假肢矫形器有限公司")
    draft = agreement_create_draft(institution=supplier, type_="devices", actor=staff, valid_from=today(),
                                   valid_to=today() + timedelta(days=365), signed_on=today())
    reason = lifecycle.check(draft, "sign")
    assert "院领导" not in reason and "管理人员" not in reason
    assert "只能有一份" in reason  # the registry's live device agreement is the only obstacle
