"""One dispatcher for the case actions of the page and the API: it picks the service and hands it
the fields it needs; the services check every rule."""

from core.errors import ApplicationError, Conflict

from ..models import Appeal, Rectification
from . import cases

ACTIONS = {
    "notify": "通知协议机构说明",
    "investigate": "转入调查",
    "note": "记录调查情况",
    "decide": "作出处理决定",
    "lift_deferral": "解除暂缓支付",
    "verify_rectification": "验收整改",
    "close": "结案",
    "appeal": "登记复议或诉讼",
    "appeal_outcome": "登记复议或诉讼结果",
}


def perform_case_action(*, case, actor, action: str, data: dict) -> str:
    """Run one action; returns the message to show. data holds the action's fields (already parsed:
    dates as date, measures as a list of dicts)."""
    revision = data.get("expected_revision")
    if revision is not None and action not in ("notify", "decide") and case.revision != revision:
        # notify and decide check it under their own lock; a stale page is refused for the rest here
        raise Conflict("案件在您打开页面后已有变化，请刷新后再操作。", code="stale")
    if action == "notify":
        cases.case_notify(case=case, notice_text=data.get("notice_text", ""), explanation_due=_date(data, "explanation_due", "说明期限"),
                          actor=actor, expected_revision=revision)
        return "已通知协议机构，等待其说明。"
    if action == "investigate":
        cases.case_start_investigation(case=case, actor=actor, note=data.get("note", ""))
        return "已转入调查。"
    if action == "note":
        cases.case_add_note(case=case, text=data.get("note", ""), actor=actor)
        return "已记录调查情况（协议机构不可见）。"
    if action == "decide":
        decided = cases.case_decide(
            case=case, measures=data.get("measures") or [], summary=data.get("summary", ""),
            legal_basis=data.get("legal_basis", ""), actor=actor, score_points=data.get("score_points"),
            expected_revision=revision,
        )
        effects = "；".join(f"{dm.measure.label}：{dm.effect}" for dm in decided.measures.select_related("measure"))
        return f"已作出处理决定。{effects}"
    if action == "lift_deferral":
        cases.case_lift_deferral(case=case, actor=actor, note=data.get("note", ""))
        return "已解除暂缓支付，暂缓的金额随下一次月度结算拨付。"
    if action == "verify_rectification":
        rectification = _child(Rectification, case, data.get("rectification"), "整改")
        cases.rectification_verify(rectification=rectification, accepted=_yes(data.get("accepted")),
                                   note=data.get("note", ""), actor=actor)
        return "已验收整改。"
    if action == "close":
        cases.case_close(case=case, note=data.get("note", ""), actor=actor)
        return "已结案。"
    if action == "appeal":
        cases.appeal_record(case=case, kind=data.get("kind", ""), filed_on=_date(data, "filed_on", "提起日期"),
                            authority=data.get("authority", ""), note=data.get("note", ""), actor=actor)
        return "已登记。"
    if action == "appeal_outcome":
        appeal = _child(Appeal, case, data.get("appeal"), "复议或诉讼")
        cases.appeal_set_outcome(appeal=appeal, outcome=data.get("outcome", ""), outcome_on=_date(data, "outcome_on", "结果日期"),
                                 note=data.get("note", ""), actor=actor)
        return "已登记结果。"
    raise ApplicationError(f"未知的操作“{action}”。", code="unknown_action")


def _yes(value) -> bool:
    """A yes/no field from a form or JSON: true, "true", "1", "yes", "on", "是" are yes; anything else no."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"true", "1", "yes", "on", "是"}


def _date(data: dict, key: str, label: str):
    value = data.get(key)
    if value is None:
        raise ApplicationError(f"请填写{label}。", code="required")
    return value


def _child(model, case, pk, label: str):
    obj = model.objects.filter(case=case, pk=pk).first() if pk else None
    if obj is None:
        raise ApplicationError(f"本案没有该{label}记录。", code="not_found")
    return obj
