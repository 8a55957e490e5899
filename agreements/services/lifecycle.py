"""Agreement lifecycle (SPEC §3): declared transitions and the rules that guard them.

    draft ──sign──▶ active ──suspend──▶ suspended ──resume──▶ active
                      │  ╲                   │
                      │   terminate ◀────────┘      (for cause / mutual / closure: at once;
                      │                               unilateral: 30 days after written notice)
                      └──expire (end of term)──▶ expired          renew: a successor draft

Every rule is checked here, whatever calls it (page, API, command, task): `check(agreement,
action)` returns the reason an action is refused (or "" when allowed), so the page can show
the reason on a disabled button, and each action raises ApplicationError with that reason.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.text import chinese_date as _fmt
from core.errors import ApplicationError, Conflict, PermissionDenied

from ..models import (
    LIVE_STATUSES,
    Agreement,
    AgreementAction as A,
    AgreementBar,
    AgreementEvent,
    AgreementStatus as S,
    Party,
    TerminationKind as K,
)

NOTICE_DAYS = 30  # M§43, R§31, D§31
BAR_YEARS = 2  # W§34

# Where each rule comes from, per agreement type, for the messages.
_TERMINATION_ARTICLE = {"medical": "医疗协议第四十三条", "rehabilitation": "康复协议第三十一条", "devices": "辅助器具协议第三十一条"}
SECOND_SUSPENSION_ARTICLE = {
    "medical": "医疗协议第三十九条第（三）项",
    "rehabilitation": "康复协议第二十七条",
    "devices": "辅助器具协议第二十九条",
}

TRANSITIONS = {
    A.SIGN: ({S.DRAFT}, S.ACTIVE),
    A.SUSPEND: ({S.ACTIVE}, S.SUSPENDED),
    A.RESUME: ({S.SUSPENDED}, S.ACTIVE),
    A.NOTICE: (set(LIVE_STATUSES), None),
    A.TERMINATE: (set(LIVE_STATUSES), S.TERMINATED),
    A.EXPIRE: (set(LIVE_STATUSES), S.EXPIRED),
    A.RENEW: ({S.ACTIVE, S.SUSPENDED, S.EXPIRED}, None),
    A.COMPLETE_TERM: ({S.DRAFT, S.ACTIVE, S.SUSPENDED}, None),
}


def _today() -> date:
    return timezone.localdate()



def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def active_bar(institution, type_: str, on: date) -> AgreementBar | None:
    # "二年之内" includes the anniversary itself: a new agreement from the day after.
    return AgreementBar.objects.filter(institution=institution, type=type_, until__gte=on).order_by("-until").first()


def _other_live(agreement: Agreement):
    return (
        Agreement.objects.filter(institution_id=agreement.institution_id, type=agreement.type, status__in=LIVE_STATUSES)
        .exclude(pk=agreement.pk)
        .first()
    )


def suspensions_in_term(agreement: Agreement) -> int:
    return agreement.events.filter(action=A.SUSPEND).count()


# ---- checks: the reason an action is refused, or "" ------------------------------------------

def check(agreement: Agreement, action: str, *, on: date | None = None, kind: str = "") -> str:
    on = on or _today()
    sources, _ = TRANSITIONS[action]
    if agreement.status not in sources:
        return f"协议当前为“{agreement.get_status_display()}”，不能{A(action).label}。"
    if action == A.SIGN:
        required = [("有效期起", agreement.valid_from), ("有效期止", agreement.valid_to), ("签订日期", agreement.signed_on)]
        if agreement.type != "devices":  # M§4 / R§4; the device template asks for no named leader
            required += [("乙方分管院领导", agreement.leader_name), ("乙方专（兼）职管理人员", agreement.managers)]
        missing = [label for label, value in required if not value]
        if missing:
            return "签订前须填写：" + "、".join(missing) + "（院领导和管理人员见医疗协议第四条、康复协议第四条）。"
    if action in (A.SIGN, A.RESUME):
        other = _other_live(agreement)
        if other:
            return f"该机构已有{other.get_status_display()}的同类协议 {other.number}，同一机构同一类型只能有一份生效或暂停的协议。"
    if action == A.SIGN:
        bar = active_bar(agreement.institution, agreement.type, on)
        if bar:
            return f"该机构因违约被解除同类协议，{_fmt(bar.until)}（含）前不得重新签订（乌海办法第三十四条）。"
        if agreement.valid_to and agreement.valid_to < on:
            return f"协议有效期已于{_fmt(agreement.valid_to)}届满，不能再签订，请修改期限或重新起草。"
    if action == A.TERMINATE and kind and _needs_notice(agreement, kind):
        if not agreement.notice_given_on:
            return f"提前解除须提前{NOTICE_DAYS}日书面通知对方（{_TERMINATION_ARTICLE[agreement.type]}），请先登记书面通知。"
        if on < agreement.notice_effective_on:
            return (
                f"已于{_fmt(agreement.notice_given_on)}书面通知，须满{NOTICE_DAYS}日，"
                f"最早可于{_fmt(agreement.notice_effective_on)}解除（{_TERMINATION_ARTICLE[agreement.type]}）。"
            )
    if action == A.NOTICE and agreement.notice_given_on:
        return f"已于{_fmt(agreement.notice_given_on)}登记书面通知。"
    if action == A.EXPIRE and (agreement.valid_to is None or agreement.valid_to >= on):
        return "协议尚未到期。"
    if action == A.RENEW and Agreement.objects.filter(predecessor=agreement).exists():
        return "该协议已续签。"
    if action == A.COMPLETE_TERM and agreement.status != S.DRAFT and not agreement.from_registry:
        # A term signed in the portal changes only by renewal, never by editing.
        return "已签订协议的期限不能修改，如需延续请办理续签。"
    return ""


def _needs_notice(agreement: Agreement, kind: str) -> bool:
    # D§31: for the assistive-device agreement, any termination needs 30 days' notice.
    # M§43 / R§31: otherwise only a unilateral early termination does.
    return agreement.type == "devices" or kind == K.NOTICE


def available_actions(agreement: Agreement, on: date | None = None) -> list[tuple[str, str, str]]:
    """(action, label, reason refused or "") for every action the page may offer."""
    out = []
    for action in (A.SIGN, A.SUSPEND, A.RESUME, A.NOTICE, A.TERMINATE, A.RENEW):
        sources, _ = TRANSITIONS[action]
        if agreement.status in sources:
            out.append((action, A(action).label, check(agreement, action, on=on)))
    return out


# ---- actions -----------------------------------------------------------------------------------

@dataclass
class Outcome:
    agreement: Agreement
    message: str


def _staff_only(actor) -> None:
    if actor is not None and not (actor.is_agency_staff or actor.is_portal_admin):
        raise PermissionDenied("只有经办人员可以办理协议。")


def _in_scope(actor, agreement: Agreement) -> None:
    """A clerk acts only on agreements of institutions in the clerk's agency scope (SPEC §1)."""
    from institutions.selectors import institutions_for  # noqa: PLC0415

    if actor is not None and not institutions_for(actor).filter(pk=agreement.institution_id).exists():
        raise PermissionDenied("该协议不属于您所在经办机构的管辖范围。", code="out_of_scope")


def _lock(agreement: Agreement, expected_revision: int | None, actor=None) -> Agreement:
    locked = Agreement.objects.select_for_update().select_related("institution").get(pk=agreement.pk)
    _in_scope(actor, locked)
    if expected_revision is not None and locked.revision != expected_revision:
        raise Conflict("协议在您打开页面后已被修改，请刷新页面后再操作。", code="stale")
    return locked


def _record(agreement: Agreement, action: str, from_status: str, *, on: date, actor, reason: str) -> None:
    AgreementEvent.objects.create(
        agreement=agreement, action=action, from_status=from_status, to_status=agreement.status, on=on,
        actor=actor, reason=reason,
    )


def _save(agreement: Agreement) -> None:
    agreement.revision += 1
    try:
        with transaction.atomic():
            agreement.save()
    except IntegrityError:
        # The partial unique index: another live agreement appeared meanwhile.
        raise Conflict("同一机构同一类型只能有一份生效或暂停的协议。", code="live_exists") from None


def _refuse_if(reason: str, code: str) -> None:
    if reason:
        raise ApplicationError(reason, code=code)


@transaction.atomic
def agreement_sign(*, agreement, actor, on: date | None = None, expected_revision: int | None = None) -> Outcome:
    _staff_only(actor)
    on = on or _today()
    ag = _lock(agreement, expected_revision, actor)
    _refuse_if(check(ag, A.SIGN, on=on), "sign_refused")
    before = ag.status
    ag.status = S.ACTIVE
    _save(ag)
    _record(ag, A.SIGN, before, on=on, actor=actor, reason=f"签订日期 {_fmt(ag.signed_on)}")
    return Outcome(ag, "协议已签订生效。")


@transaction.atomic
def agreement_suspend(*, agreement, reason: str, actor, on: date | None = None, expected_revision: int | None = None) -> Outcome:
    """Suspend; the second suspension within one term terminates the agreement instead (M§39(3))."""
    _staff_only(actor)
    on = on or _today()
    if not (reason or "").strip():
        raise ApplicationError("暂停协议须写明理由。", code="reason_required")
    ag = _lock(agreement, expected_revision, actor)
    _refuse_if(check(ag, A.SUSPEND, on=on), "suspend_refused")
    before = ag.status
    ag.status = S.SUSPENDED
    _save(ag)
    _record(ag, A.SUSPEND, before, on=on, actor=actor, reason=reason.strip())
    if suspensions_in_term(ag) >= 2:
        article = SECOND_SUSPENSION_ARTICLE[ag.type]
        _terminate(ag, kind=K.FOR_CAUSE, on=on, actor=actor,
                   reason=f"协议有效期内累计2次被暂停协议，依{article}一律解除。（第2次暂停理由：{reason.strip()}）")
        return Outcome(ag, f"这是本协议期内第2次暂停，依{article}协议已解除。")
    return Outcome(ag, "协议已暂停。")


@transaction.atomic
def agreement_resume(*, agreement, reason: str, actor, on: date | None = None, expected_revision: int | None = None) -> Outcome:
    _staff_only(actor)
    on = on or _today()
    ag = _lock(agreement, expected_revision, actor)
    _refuse_if(check(ag, A.RESUME, on=on), "resume_refused")
    before = ag.status
    ag.status = S.ACTIVE
    _save(ag)
    _record(ag, A.RESUME, before, on=on, actor=actor, reason=(reason or "").strip())
    return Outcome(ag, "协议已恢复。")


@transaction.atomic
def agreement_give_notice(
    *, agreement, by: str, reason: str, actor, on: date | None = None, effective_on: date | None = None,
    expected_revision: int | None = None,
) -> Outcome:
    """Record the written notice of an early termination; it may take effect 30 days later at the earliest."""
    _staff_only(actor)
    on = on or _today()
    if by not in Party.values:
        raise ApplicationError("请选择提出解除的一方（甲方或乙方）。", code="invalid_party")
    if not (reason or "").strip():
        raise ApplicationError("书面通知须写明理由。", code="reason_required")
    earliest = on + timedelta(days=NOTICE_DAYS)
    if effective_on and effective_on < earliest:
        raise ApplicationError(
            f"解除日期须在通知之日起{NOTICE_DAYS}日后，即不早于{_fmt(earliest)}（{_TERMINATION_ARTICLE[agreement.type]}）。",
            code="notice_too_short",
        )
    ag = _lock(agreement, expected_revision, actor)
    _refuse_if(check(ag, A.NOTICE, on=on), "notice_refused")
    ag.notice_by, ag.notice_given_on, ag.notice_effective_on = by, on, effective_on or earliest
    ag.notice_reason = reason.strip()
    _save(ag)
    _record(ag, A.NOTICE, ag.status, on=on, actor=actor,
            reason=f"{Party(by).label}书面通知，最早于{_fmt(ag.notice_effective_on)}解除：{reason.strip()}")
    return Outcome(ag, f"已登记书面通知，最早可于{_fmt(ag.notice_effective_on)}解除。")


@transaction.atomic
def agreement_terminate(
    *, agreement, kind: str, reason: str, actor, on: date | None = None, expected_revision: int | None = None
) -> Outcome:
    _staff_only(actor)
    on = on or _today()
    if kind not in K.values:
        raise ApplicationError("请选择解除类型。", code="invalid_kind")
    if not (reason or "").strip():
        raise ApplicationError("解除协议须写明理由。", code="reason_required")
    ag = _lock(agreement, expected_revision, actor)
    _refuse_if(check(ag, A.TERMINATE, on=on, kind=kind), "terminate_refused")
    _terminate(ag, kind=kind, on=on, actor=actor, reason=reason.strip())
    extra = f"；{_fmt(ag.bar.until)}前不得重新签订同类协议" if kind == K.FOR_CAUSE else ""
    return Outcome(ag, f"协议已解除，将列入解除协议公示名单{extra}。")


def _terminate(ag: Agreement, *, kind: str, on: date, actor, reason: str) -> None:
    before = ag.status
    ag.status = S.TERMINATED
    ag.termination_kind, ag.terminated_on, ag.termination_reason = kind, on, reason
    _save(ag)
    _record(ag, A.TERMINATE, before, on=on, actor=actor, reason=f"{K(kind).label}：{reason}")
    if kind == K.FOR_CAUSE:
        AgreementBar.objects.create(
            institution=ag.institution, type=ag.type, until=add_years(on, BAR_YEARS), agreement=ag,
            reason=f"违约解除（乌海办法第三十四条）：{reason}",
        )


@transaction.atomic
def agreement_expire(*, agreement, on: date | None = None) -> Outcome:
    on = on or _today()
    ag = _lock(agreement, None)
    _refuse_if(check(ag, A.EXPIRE, on=on), "expire_refused")
    before = ag.status
    ag.status = S.EXPIRED
    _save(ag)
    _record(ag, A.EXPIRE, before, on=on, actor=None, reason=f"有效期至{_fmt(ag.valid_to)}届满")
    return Outcome(ag, "协议已到期。")


def expire_due(*, on: date | None = None) -> int:
    """The nightly job: every live agreement whose term has ended becomes expired."""
    on = on or _today()
    due = Agreement.objects.filter(status__in=LIVE_STATUSES, valid_to__lt=on).values_list("pk", flat=True)
    count = 0
    for pk in list(due):
        try:
            agreement_expire(agreement=Agreement(pk=pk), on=on)
            count += 1
        except ApplicationError:
            pass  # changed meanwhile (renewed, terminated): nothing to expire
    return count


@transaction.atomic
def agreement_renew(*, agreement, actor, years: int = 3, expected_revision: int | None = None) -> Outcome:
    """A successor draft with the same parties and the next term (D§33: one month before expiry)."""
    _staff_only(actor)
    ag = _lock(agreement, expected_revision, actor)
    _refuse_if(check(ag, A.RENEW), "renew_refused")
    from .drafting import draft_from  # noqa: PLC0415 (drafting imports this module)

    successor = draft_from(ag, actor=actor, years=years)
    _record(ag, A.RENEW, ag.status, on=_today(), actor=actor, reason=f"续签为 {successor.number}")
    return Outcome(successor, f"已生成续签协议草稿 {successor.number}。")


@transaction.atomic
def agreement_complete_term(
    *, agreement, valid_from: date, valid_to: date, signed_on: date | None, actor, expected_revision: int | None = None,
    leader_name: str | None = None, managers: list[str] | None = None,
) -> Outcome:
    """Staff complete the term (and party B's leader and managers, M§4/R§4) of a draft, or of an
    agreement imported from the registry, whose table gives none."""
    _staff_only(actor)
    if valid_to < valid_from:
        raise ApplicationError("有效期止不能早于有效期起。", code="invalid_term")
    ag = _lock(agreement, expected_revision, actor)
    _refuse_if(check(ag, A.COMPLETE_TERM), "term_refused")
    ag.valid_from, ag.valid_to = valid_from, valid_to
    if signed_on:
        ag.signed_on = signed_on
    if leader_name is not None:
        ag.leader_name = leader_name.strip()
    if managers is not None:
        ag.managers = [m.strip() for m in managers if m and m.strip()]
    _save(ag)
    _record(ag, A.COMPLETE_TERM, ag.status, on=_today(), actor=actor, reason=f"有效期 {_fmt(valid_from)}至{_fmt(valid_to)}")
    return Outcome(ag, "协议期限已补全。")
