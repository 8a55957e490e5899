"""Violation cases (SPEC §6; M§34–40, R§25–28, D§15, D§26–30, W§32–36): the rules, whatever calls them.

- Staff and auditors of the institution's agency handle a case; the institution is notified,
  explains within the deadline (M§35) and reports on its rectification; it never sees the
  investigation notes or the agency's evidence.
- Four eyes: the one who opened a case does not decide it (also a database constraint).
- A decision needs a legal basis and at least one measure, and is heard only once the institution
  has explained or its deadline has passed. Its measures take effect through the other
  capabilities' services, in the decision's own transaction: if one is refused (a fine outside
  2–5×, a suspension of a terminated agreement), the whole decision is refused and nothing changes.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agreements.models import LIVE_STATUSES, Agreement, AgreementStatus, TerminationKind
from agreements.services.lifecycle import SECOND_SUSPENSION_ARTICLE, agreement_suspend, agreement_terminate
from core.errors import ApplicationError, Conflict, PermissionDenied
from core.models import Sequence, TaskItem
from core.money import quantize_money, yuan
from core.text import chinese_date
from institutions.selectors import institutions_for
from settlement.models import DeductionKind, PaymentHold
from settlement.services.periods import month_start
from settlement.services.receivables import deduction_register, hold_lift, hold_start
from settlement.services.scores import score_add_deduction

from ..models import (
    OPEN_STATUSES,
    Appeal,
    AppealKind,
    AppealOutcome,
    Case,
    CaseEvent,
    CaseSource,
    CaseStatus as S,
    DecisionMeasure,
    DishonestListing,
    Evidence,
    InvestigationNote,
    Measure,
    MeasureKind as K,
    Rectification,
    RectificationStatus,
)

FINE_MIN, FINE_MAX = Decimal("2"), Decimal("5")  # D§15: 骗取金额2倍以上5倍以下
MIN_EXPLANATION_DAYS = 3


# ---- who ----------------------------------------------------------------------------------------


def _handler(actor, institution) -> None:
    """Agency staff and auditors of the institution's agency (or the regional agency)."""
    if actor is None or not (actor.is_agency_staff or actor.is_auditor or actor.is_portal_admin):
        raise PermissionDenied("只有经办人员和稽核人员可以办理违规案件。")
    if not institutions_for(actor).filter(pk=institution.pk).exists():
        raise PermissionDenied("该机构不属于您所在经办机构的管辖范围。", code="out_of_scope")


def _institution_user(actor, case: Case) -> None:
    if actor is None or not actor.is_institution_admin or actor.institution_id != case.institution_id:
        raise PermissionDenied("只有被通知的协议机构可以办理。")


def _lock(case: Case, expected_revision: int | None = None) -> Case:
    locked = Case.objects.select_for_update(of=("self",)).select_related("institution", "agreement").get(pk=case.pk)
    if expected_revision is not None and locked.revision != expected_revision:
        raise Conflict("案件在您打开页面后已有变化，请刷新后再操作。", code="stale")
    return locked


def _save(case: Case, *fields: str) -> None:
    case.revision += 1
    case.save(update_fields=[*fields, "revision"])


def _event(case: Case, action: str, label: str, actor, note: str = "", internal: bool = False) -> None:
    CaseEvent.objects.create(case=case, action=action, label=label, actor=actor, note=note, internal=internal)


def _text(value, label: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ApplicationError(f"请填写{label}。", code="required")
    return text


def _require_status(case: Case, allowed, doing: str) -> None:
    if case.status not in allowed:
        raise ApplicationError(f"案件当前为“{case.get_status_display()}”，不能{doing}。", code="invalid_status")


# ---- opening, notice, explanation, investigation -----------------------------------------------


@transaction.atomic
def case_open(*, institution, source: str, title: str, description: str, actor, agreement: Agreement | None = None,
              lines=()) -> Case:
    _handler(actor, institution)
    if source not in CaseSource.values:
        raise ApplicationError("请选择案件来源（日常检查、第三方检查、实时监控、投诉举报或稽核审计）。", code="invalid_source")
    if agreement is not None and agreement.institution_id != institution.pk:
        raise ApplicationError("所选协议不属于该机构。", code="invalid_agreement")
    lines = list(lines)
    if any(line.declaration.institution_id != institution.pk for line in lines):
        raise ApplicationError("所选申报明细不属于该机构。", code="invalid_lines")
    year = timezone.localdate().year
    case = Case.objects.create(
        number=f"WG{year}-{Sequence.next_value(f'case:{year}'):04d}", institution=institution, agreement=agreement,
        source=source, title=_text(title, "案由")[:200], description=_text(description, "问题描述"), opened_by=actor,
    )
    if lines:
        case.lines.set(lines)
    _event(case, "open", "立案", actor, f"来源：{CaseSource(source).label}")
    return case


@transaction.atomic
def case_notify(*, case: Case, notice_text: str, explanation_due: date, actor, expected_revision: int | None = None) -> Case:
    """M§35: the institution is told what was found and asked to explain by a deadline."""
    case = _lock(case, expected_revision)
    _handler(actor, case.institution)
    _require_status(case, (S.OPENED,), "发出通知")
    earliest = timezone.localdate() + timedelta(days=MIN_EXPLANATION_DAYS)
    if explanation_due < earliest:
        raise ApplicationError(
            f"说明期限至少应给{MIN_EXPLANATION_DAYS}日，不早于{chinese_date(earliest)}。", code="deadline_too_short"
        )
    case.notice_text = _text(notice_text, "通知内容")
    case.notified_at, case.explanation_due, case.status = timezone.now(), explanation_due, S.NOTIFIED
    _save(case, "notice_text", "notified_at", "explanation_due", "status")
    _event(case, "notify", "通知协议机构说明", actor, f"说明期限：{chinese_date(explanation_due)}")
    TaskItem.objects.update_or_create(
        key=f"case-explain:{case.pk}",
        defaults={"kind": "case_explain", "institution_id": case.institution_id, "due_on": explanation_due,
                  "title": f"违规案件 {case.number}：请于{chinese_date(explanation_due)}前作出说明（医疗协议第三十五条）",
                  "url": reverse("violations:detail", args=[case.pk]), "done_at": None},
    )
    return case


@transaction.atomic
def case_explain(*, case: Case, explanation: str, actor, attachments=(), expected_revision: int | None = None) -> Case:
    """The institution's answer to the notice (with its own attachments, which it can see)."""
    case = _lock(case, expected_revision)
    _institution_user(actor, case)
    _require_status(case, (S.NOTIFIED,), "提交说明")
    case.explanation = _text(explanation, "说明")
    case.explained_at, case.explained_by, case.status = timezone.now(), actor, S.INVESTIGATING
    _save(case, "explanation", "explained_at", "explained_by", "status")
    late = timezone.localdate() > case.explanation_due
    for upload in attachments:
        _store_evidence(case, upload, actor, note="机构说明附件", internal=False)
    _event(case, "explain", "协议机构提交说明" + ("（逾期）" if late else ""), actor)
    TaskItem.objects.filter(key=f"case-explain:{case.pk}").update(done_at=timezone.now())
    return case


@transaction.atomic
def case_start_investigation(*, case: Case, actor, note: str = "") -> Case:
    """Proceed without an explanation once the deadline has passed (M§35)."""
    case = _lock(case)
    _handler(actor, case.institution)
    _require_status(case, (S.NOTIFIED,), "转入调查")
    if timezone.localdate() <= case.explanation_due:
        raise ApplicationError(f"说明期限{chinese_date(case.explanation_due)}尚未届满。", code="deadline_not_passed")
    case.status = S.INVESTIGATING
    _save(case, "status")
    _event(case, "investigate", "说明期限届满未说明，转入调查", actor, note, internal=False)
    TaskItem.objects.filter(key=f"case-explain:{case.pk}").update(done_at=timezone.now())
    return case


@transaction.atomic
def case_add_note(*, case: Case, text: str, actor) -> InvestigationNote:
    case = _lock(case)
    _handler(actor, case.institution)
    _require_status(case, (*OPEN_STATUSES, S.DECIDED, S.RECTIFYING), "记录调查情况")
    note = InvestigationNote.objects.create(case=case, text=_text(text, "调查记录"), author=actor)
    _event(case, "note", "调查记录", actor, internal=True)
    return note


def _store_evidence(case, upload, actor, *, note: str, internal: bool) -> Evidence:
    if upload.size > settings.PORTAL_MAX_MATERIAL_UPLOAD_BYTES:
        raise ApplicationError(f"文件过大：超过上限 {settings.PORTAL_MAX_MATERIAL_UPLOAD_BYTES // (1024 * 1024)} MB。", code="file_too_large")
    if upload.size == 0:
        raise ApplicationError("文件为空。", code="empty_file")
    return Evidence.objects.create(case=case, file=upload, original_name=upload.name[:200], size=upload.size,
                                   note=note[:300], internal=internal, uploaded_by=actor)


@transaction.atomic
def case_add_evidence(*, case: Case, upload, actor, note: str = "") -> Evidence:
    """Evidence gathered by the agency (internal: the institution does not see it)."""
    case = _lock(case)
    _handler(actor, case.institution)
    _require_status(case, (*OPEN_STATUSES, S.DECIDED, S.RECTIFYING), "上传证据")
    evidence = _store_evidence(case, upload, actor, note=note, internal=True)
    _event(case, "evidence", "上传证据材料", actor, evidence.original_name, internal=True)
    return evidence


# ---- the decision -------------------------------------------------------------------------------------


def _money(value, label: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ApplicationError(f"{label}无效：应为数字，最多两位小数。", code="invalid_amount") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:
        raise ApplicationError(f"{label}最多两位小数。", code="invalid_amount")
    if amount <= 0:
        raise ApplicationError(f"{label}须大于零。", code="invalid_amount")
    return quantize_money(amount)


def _agreement_for(case: Case, measure: Measure) -> Agreement:
    agreement = case.agreement
    if agreement is None:
        live = list(Agreement.objects.filter(institution=case.institution, status__in=LIVE_STATUSES))
        if not live:
            terminated = (
                Agreement.objects.filter(institution=case.institution, status=AgreementStatus.TERMINATED)
                .order_by("-terminated_on", "-pk").first()
            )
            if terminated is not None:
                raise ApplicationError(
                    f"{measure.label}：该机构的协议 {terminated.number} 已于{chinese_date(terminated.terminated_on)}解除，"
                    f"不能再{measure.label}。",
                    code="agreement_terminated",
                )
        if len(live) != 1:
            raise ApplicationError(
                f"{measure.label}：请在案件中指定涉及的协议（该机构有 {len(live)} 份生效或暂停的协议）。", code="agreement_required"
            )
        agreement = live[0]
        case.agreement = agreement  # the case records which agreement its measure acted on
        case.save(update_fields=["agreement"])
    if agreement.status == AgreementStatus.TERMINATED:
        raise ApplicationError(
            f"{measure.label}：协议 {agreement.number} 已于{chinese_date(agreement.terminated_on)}解除，不能再{measure.label}。",
            code="agreement_terminated",
        )
    return agreement


@dataclass
class MeasureInput:
    measure: Measure
    amount: Decimal | None = None
    defrauded_amount: Decimal | None = None
    deadline: date | None = None
    note: str = ""


def _parse_measures(case: Case, items: list[dict]) -> list[MeasureInput]:
    if not items:
        raise ApplicationError("处理决定须至少包含一项处理措施。", code="measures_required")
    measures = {m.code: m for m in Measure.objects.filter(active=True)}
    parsed, seen = [], set()
    for item in items:
        measure = measures.get(item.get("measure") or "")
        if measure is None:
            raise ApplicationError(f"处理措施“{item.get('measure')}”不存在或已停用。", code="invalid_measure")
        if measure.code in seen:
            raise ApplicationError(f"处理措施“{measure.label}”重复。", code="duplicate_measure")
        seen.add(measure.code)
        m = MeasureInput(measure=measure, note=(item.get("note") or "").strip())
        kind = measure.kind
        if kind in (K.REFUSAL, K.RECOVERY):
            m.amount = _money(item.get("amount"), f"{measure.label}金额")
        elif kind == K.FINE:
            m.defrauded_amount = _money(item.get("defrauded_amount"), "骗取金额")
            m.amount = _money(item.get("amount"), "罚款金额")
            low, high = m.defrauded_amount * FINE_MIN, m.defrauded_amount * FINE_MAX
            if not (low <= m.amount <= high):
                raise ApplicationError(
                    f"罚款金额 {yuan(m.amount)} 超出骗取金额 {yuan(m.defrauded_amount)} 的2倍至5倍"
                    f"（{yuan(low)}～{yuan(high)}，辅助器具协议第十五条）。",
                    code="fine_out_of_bounds",
                )
        elif kind == K.RECTIFICATION:
            deadline = item.get("deadline")
            if not isinstance(deadline, date):
                raise ApplicationError("限期整改须给出整改期限。", code="deadline_required")
            if deadline <= timezone.localdate():
                raise ApplicationError("整改期限须晚于今天。", code="deadline_in_past")
            m.deadline = deadline
            if not m.note:
                raise ApplicationError("限期整改须写明整改要求。", code="note_required")
        elif kind in (K.SUSPENSION, K.TERMINATION):
            _agreement_for(case, measure)
        parsed.append(m)
    if {K.SUSPENSION, K.TERMINATION} <= {m.measure.kind for m in parsed}:
        raise ApplicationError("暂停协议与解除协议不能同时决定。", code="conflicting_measures")
    return parsed


@transaction.atomic
def case_decide(
    *, case: Case, measures: list[dict], summary: str, legal_basis: str, actor, score_points=None,
    expected_revision: int | None = None,
) -> Case:
    """Decide the case: measures (each citing its article), a legal basis, and the effects."""
    case = _lock(case, expected_revision)
    _handler(actor, case.institution)
    if case.opened_by_id == actor.pk:
        raise PermissionDenied("立案人不能对本案作出处理决定（四眼原则），请由其他经办或稽核人员决定。", code="four_eyes")
    _require_status(case, (S.NOTIFIED, S.INVESTIGATING), "作出处理决定")
    if case.status == S.NOTIFIED and timezone.localdate() <= case.explanation_due:
        raise ApplicationError(
            f"协议机构的说明期限{chinese_date(case.explanation_due)}尚未届满，须待其说明或期限届满后再作决定（医疗协议第三十五条）。",
            code="awaiting_explanation",
        )
    basis = (legal_basis or "").strip()
    if not basis:
        raise ApplicationError("处理决定须写明依据（协议条款或法规条文）。", code="legal_basis_required")
    summary = _text(summary, "处理决定")
    parsed = _parse_measures(case, measures)
    if score_points in (None, ""):
        points = sum((m.measure.score_points for m in parsed), Decimal("0"))
    else:
        try:
            points = Decimal(str(score_points))
        except InvalidOperation:
            raise ApplicationError("考核扣分应为数字。", code="invalid_points") from None
        if points < 0 or points > 100 or points.as_tuple().exponent < -2:
            raise ApplicationError("考核扣分应在 0 到 100 之间，最多两位小数。", code="invalid_points")
    today = timezone.localdate()
    for m in parsed:
        _apply(case, m, actor, today)
    if points > 0:
        score_add_deduction(
            institution=case.institution, year=today.year, points=points, actor=None, recorder=actor,
            label=f"违规扣分：{'、'.join(m.measure.label for m in parsed)}"[:100], source_label=case.number,
            note=case.title,
        )
    rectifying = any(m.measure.kind == K.RECTIFICATION for m in parsed)
    case.status = S.RECTIFYING if rectifying else S.DECIDED
    case.decided_by, case.decided_at = actor, timezone.now()
    case.decision_summary, case.legal_basis, case.score_points = summary, basis[:300], points
    _save(case, "status", "decided_by", "decided_at", "decision_summary", "legal_basis", "score_points")
    _event(case, "decide", "作出处理决定", actor, f"{'、'.join(m.measure.label for m in parsed)}（依据：{basis}）")
    TaskItem.objects.filter(key=f"case-explain:{case.pk}").update(done_at=timezone.now())
    return case


def _apply(case: Case, m: MeasureInput, actor, today: date) -> DecisionMeasure:
    """One measure's effect, through the service that owns it."""
    kind, measure = m.measure.kind, m.measure
    reason = f"违规案件 {case.number}：{case.title}"
    dm = DecisionMeasure(case=case, measure=measure, amount=m.amount, defrauded_amount=m.defrauded_amount,
                         deadline=m.deadline, note=m.note)
    if kind == K.DEFERRAL:
        active = PaymentHold.objects.filter(institution=case.institution, lifted_on__isnull=True).first()
        if active is not None:  # already held (another case): this case shares that deferral
            dm.hold = active
            dm.effect = f"该机构已自{chinese_date(active.started_on)}起暂缓支付（{active.source_label or active.reason}），本案一并适用"
        else:
            dm.hold = hold_start(institution=case.institution, reason=reason, basis=measure.article,
                                 source_label=case.number, actor=None, recorder=actor, on=today)
            dm.effect = f"自{chinese_date(today)}起暂缓支付，解除前月度结算不拨付"
    elif kind in (K.REFUSAL, K.RECOVERY):
        dm.deduction = deduction_register(
            institution=case.institution, kind=DeductionKind.REFUSAL if kind == K.REFUSAL else DeductionKind.RECOVERY,
            amount=m.amount, reason=reason, basis=measure.article, source_label=case.number, actor=None,
            recorder=actor, effective_from=month_start(today),
        )
        dm.effect = f"{yuan(m.amount)} 自{today.year}年{today.month}月的月度结算起抵扣，不足部分结转"
    elif kind == K.SUSPENSION:
        agreement = _agreement_for(case, measure)
        if agreement.status == AgreementStatus.SUSPENDED:
            # Suspended again while suspended: the second suspension in the term, which M§39(3)
            # (R§27, D§29) turns into termination.
            article = SECOND_SUSPENSION_ARTICLE[agreement.type]
            outcome = agreement_terminate(
                agreement=agreement, kind=TerminationKind.FOR_CAUSE, actor=None, on=today,
                reason=f"{reason}：协议暂停期间再次被决定暂停，累计2次被暂停协议，依{article}一律解除",
            )
        else:
            outcome = agreement_suspend(agreement=agreement, reason=f"{reason}（{measure.article}）", actor=None, on=today)
        dm.effect = outcome.message
    elif kind == K.TERMINATION:
        outcome = agreement_terminate(agreement=_agreement_for(case, measure), kind=TerminationKind.FOR_CAUSE,
                                      reason=f"{reason}（{measure.article}）", actor=None, on=today)
        dm.effect = outcome.message
    elif kind == K.FINE:
        multiple = (m.amount / m.defrauded_amount).quantize(Decimal("0.01"))
        dm.effect = f"罚款 {yuan(m.amount)}（骗取金额 {yuan(m.defrauded_amount)} 的 {multiple} 倍），由人力资源社会保障行政部门处罚"
    elif kind == K.RECTIFICATION:
        Rectification.objects.create(case=case, requirement=m.note, deadline=m.deadline)
        dm.effect = f"限期于{chinese_date(m.deadline)}前整改"
    elif kind == K.DISHONEST:
        DishonestListing.objects.create(institution=case.institution, case=case, listed_on=today,
                                        basis=measure.article, reason=case.title)
        dm.effect = "列入社会保险严重失信人名单，予以公示"
    elif kind == K.JUDICIAL:
        dm.effect = "涉嫌违法犯罪，移送有关部门依法处理"
    else:
        dm.effect = measure.label
    dm.save()
    return dm


# ---- after the decision ---------------------------------------------------------------------------


@transaction.atomic
def rectification_report(*, rectification: Rectification, report: str, actor) -> Rectification:
    locked = Rectification.objects.select_for_update().select_related("case").get(pk=rectification.pk)
    _institution_user(actor, locked.case)
    _require_status(_lock(locked.case), (S.RECTIFYING, S.DECIDED), "报告整改情况")
    if locked.status not in (RectificationStatus.PENDING, RectificationStatus.FAILED):
        raise ApplicationError("该整改已报告或已验收。", code="invalid_status")
    locked.report, locked.reported_at, locked.status = _text(report, "整改报告"), timezone.now(), RectificationStatus.REPORTED
    locked.save(update_fields=["report", "reported_at", "status"])
    _event(locked.case, "rectification_report", "协议机构报告整改情况", actor)
    return locked


@transaction.atomic
def rectification_verify(*, rectification: Rectification, accepted: bool, note: str, actor) -> Rectification:
    locked = Rectification.objects.select_for_update().select_related("case__institution").get(pk=rectification.pk)
    _handler(actor, locked.case.institution)
    _require_status(_lock(locked.case), (S.RECTIFYING, S.DECIDED), "验收整改")
    if locked.status == RectificationStatus.VERIFIED:
        raise ApplicationError("该整改已验收。", code="invalid_status")
    if not accepted and not (note or "").strip():
        raise ApplicationError("整改不到位须写明原因。", code="note_required")
    locked.status = RectificationStatus.VERIFIED if accepted else RectificationStatus.FAILED
    locked.verified_by, locked.verified_at, locked.verify_note = actor, timezone.now(), (note or "").strip()
    locked.save(update_fields=["status", "verified_by", "verified_at", "verify_note"])
    label = "整改验收：到位" if accepted else "整改验收：不到位（可依医疗协议第三十九条第（三）项解除协议）"
    _event(locked.case, "rectification_verify", label, actor, locked.verify_note)
    TaskItem.objects.filter(key__startswith=f"rectification-overdue:{locked.pk}:").update(done_at=timezone.now())
    return locked


@transaction.atomic
def case_lift_deferral(*, case: Case, actor, note: str = "") -> Case:
    """Lift this case's deferral. A deferral shared with another case stays until that case lifts
    it too; the payment resumes (and what was held is paid) with the last one."""
    case = _lock(case)
    _handler(actor, case.institution)
    mine = list(case.measures.select_related("hold").filter(hold__isnull=False, hold_lifted_on__isnull=True,
                                                            hold__lifted_on__isnull=True))
    if not mine:
        raise ApplicationError("本案没有尚未解除的暂缓支付。", code="no_hold")
    today = timezone.localdate()
    still_held = []
    for dm in mine:
        dm.hold_lifted_on = today
        dm.save(update_fields=["hold_lifted_on"])
        others = DecisionMeasure.objects.filter(hold=dm.hold, hold_lifted_on__isnull=True).exclude(case=case)
        if others.exists():
            still_held.extend(o.case.number for o in others.select_related("case"))
        else:
            hold_lift(hold=dm.hold, actor=None, recorder=actor, note=note or f"违规案件 {case.number} 解除暂缓支付")
    if still_held:
        label = f"本案解除暂缓支付；因案件 {'、'.join(still_held)} 仍暂缓支付，拨付待其解除后恢复"
    else:
        label = "解除暂缓支付：暂缓的金额随下一次月度结算拨付"
    _event(case, "lift_deferral", label, actor, note)
    return case


@transaction.atomic
def case_close(*, case: Case, note: str, actor) -> Case:
    case = _lock(case)
    _handler(actor, case.institution)
    _require_status(case, (S.DECIDED, S.RECTIFYING), "结案")
    open_rect = case.rectifications.exclude(status__in=[RectificationStatus.VERIFIED, RectificationStatus.FAILED])
    if open_rect.exists():
        raise ApplicationError("尚有未验收的整改，验收后方可结案。", code="rectification_open")
    case.status, case.closed_by, case.closed_at, case.closing_note = S.CLOSED, actor, timezone.now(), (note or "").strip()
    _save(case, "status", "closed_by", "closed_at", "closing_note")
    _event(case, "close", "结案", actor, case.closing_note)
    return case


@transaction.atomic
def appeal_record(*, case: Case, kind: str, filed_on: date, authority: str, actor, note: str = "") -> Appeal:
    case = _lock(case)
    _handler(actor, case.institution)
    _require_status(case, (S.DECIDED, S.RECTIFYING, S.CLOSED), "登记复议或诉讼")
    if kind not in AppealKind.values:
        raise ApplicationError("请选择行政复议或行政诉讼。", code="invalid_kind")
    if filed_on > timezone.localdate():
        raise ApplicationError("提起日期不能晚于今天。", code="future_date")
    appeal = Appeal.objects.create(case=case, kind=kind, filed_on=filed_on, authority=_text(authority, "受理机关"),
                                   note=(note or "").strip(), recorded_by=actor)
    _event(case, "appeal", f"登记{AppealKind(kind).label}", actor, appeal.authority)
    return appeal


@transaction.atomic
def appeal_set_outcome(*, appeal: Appeal, outcome: str, outcome_on: date, actor, note: str = "") -> Appeal:
    locked = Appeal.objects.select_for_update().select_related("case__institution").get(pk=appeal.pk)
    _handler(actor, locked.case.institution)
    if outcome not in AppealOutcome.values or outcome == AppealOutcome.PENDING:
        raise ApplicationError("请选择复议或诉讼的结果。", code="invalid_outcome")
    locked.outcome, locked.outcome_on = outcome, outcome_on
    locked.note = "\n".join(x for x in (locked.note, (note or "").strip()) if x)
    locked.save(update_fields=["outcome", "outcome_on", "note"])
    _event(locked.case, "appeal_outcome", f"{locked.get_kind_display()}结果：{locked.get_outcome_display()}", actor, note)
    return locked
