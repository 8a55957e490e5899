"""Violation cases (SPEC §6): from the first report to the closed case, and the measures decided.

Case lifecycle (violations/services/cases.py holds the rules):

    opened ──notify──▶ notified ──(explanation or deadline)──▶ investigating ──decide──▶ decided
       │                                                                            │
       └─────────────── investigation notes and evidence at any open stage ─────────┤
                                                    rectification measures ──▶ rectifying ──verify──▶ closed
                                                    otherwise ──────────────────────────── close ──▶ closed
Appeals (administrative reconsideration, litigation) are recorded once decided.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

MONEY = {"max_digits": 14, "decimal_places": 2}


class CaseSource(models.TextChoices):
    DAILY = "daily", _("日常检查")
    THIRD_PARTY = "third_party", _("委托第三方检查")
    MONITORING = "monitoring", _("实时监控")
    COMPLAINT = "complaint", _("投诉举报")
    AUDIT = "audit", _("稽核审计")


class CaseStatus(models.TextChoices):
    OPENED = "opened", _("已立案")
    NOTIFIED = "notified", _("已通知，待说明")
    INVESTIGATING = "investigating", _("调查中")
    DECIDED = "decided", _("已作出处理决定")
    RECTIFYING = "rectifying", _("整改中")
    CLOSED = "closed", _("已结案")


OPEN_STATUSES = (CaseStatus.OPENED, CaseStatus.NOTIFIED, CaseStatus.INVESTIGATING)


class Case(models.Model):
    number = models.CharField(_("案件编号"), max_length=20, unique=True)
    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("协议机构"), on_delete=models.PROTECT, related_name="violation_cases"
    )
    agreement = models.ForeignKey(
        "agreements.Agreement", verbose_name=_("涉及协议"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="violation_cases", help_text=_("暂停、解除协议等措施作用于此协议"),
    )
    source = models.CharField(_("案件来源"), max_length=12, choices=CaseSource.choices)
    title = models.CharField(_("案由"), max_length=200)
    description = models.TextField(_("问题描述"))
    lines = models.ManyToManyField(
        "settlement.DeclarationLine", verbose_name=_("涉及的申报明细"), blank=True, related_name="violation_cases"
    )
    status = models.CharField(_("状态"), max_length=14, choices=CaseStatus.choices, default=CaseStatus.OPENED)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("立案人"), on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("立案时间"), auto_now_add=True)

    notice_text = models.TextField(_("通知内容"), blank=True)
    notified_at = models.DateTimeField(_("通知时间"), null=True, blank=True)
    explanation_due = models.DateField(_("说明期限"), null=True, blank=True)
    explanation = models.TextField(_("机构说明"), blank=True)
    explained_at = models.DateTimeField(_("说明时间"), null=True, blank=True)
    explained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("说明人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("决定人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    decision_summary = models.TextField(_("处理决定"), blank=True)
    legal_basis = models.CharField(_("处理依据"), max_length=300, blank=True)
    score_points = models.DecimalField(_("考核扣分"), max_digits=5, decimal_places=2, null=True, blank=True)

    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("结案人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    closing_note = models.TextField(_("结案说明"), blank=True)
    revision = models.PositiveIntegerField(_("版本号"), default=1)

    class Meta:
        verbose_name = _("违规案件")
        verbose_name_plural = _("违规案件")
        ordering = ["-opened_at", "-pk"]
        constraints = [
            # Four eyes (SPEC §1): whoever opened a case does not decide it.
            models.CheckConstraint(name="case_opener_does_not_decide",
                                   condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("opened_by"))),
            models.CheckConstraint(name="case_decided_has_basis",
                                   condition=Q(decided_at__isnull=True) | ~Q(legal_basis="")),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"


class CaseEvent(models.Model):
    """One step of the case's timeline. `internal` steps (notes, evidence) are hidden from the institution."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("操作"), max_length=30)
    label = models.CharField(_("事项"), max_length=100)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    note = models.TextField(_("说明"), blank=True)
    internal = models.BooleanField(_("仅稽核可见"), default=False)

    class Meta:
        verbose_name = _("案件事件")
        verbose_name_plural = _("案件事件")
        ordering = ["at", "pk"]


def evidence_upload_to(instance, filename):
    return f"cases/{instance.case_id}/{filename}"


class Evidence(models.Model):
    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.PROTECT, related_name="evidence")
    file = models.FileField(_("文件"), upload_to=evidence_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小（字节）"))
    note = models.CharField(_("说明"), max_length=300, blank=True)
    # Evidence gathered by the agency is internal; what the institution attaches to its
    # explanation is not.
    internal = models.BooleanField(_("仅稽核可见"), default=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("证据材料")
        verbose_name_plural = _("证据材料")
        ordering = ["uploaded_at", "pk"]


class InvestigationNote(models.Model):
    """The auditors' own notes: never shown to the institution."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.PROTECT, related_name="notes")
    text = models.TextField(_("调查记录"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("记录人"), on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("调查记录")
        verbose_name_plural = _("调查记录")
        ordering = ["at", "pk"]


class MeasureKind(models.TextChoices):
    INTERVIEW = "interview", _("约谈")
    RECTIFICATION = "rectification", _("限期整改")
    DEFERRAL = "deferral", _("暂缓支付")
    REFUSAL = "refusal", _("不予支付")
    RECOVERY = "recovery", _("追回已支付费用")
    SUSPENSION = "suspension", _("暂停协议")
    TERMINATION = "termination", _("解除协议")
    FINE = "fine", _("罚款")
    JUDICIAL = "judicial", _("移送司法机关")
    DISHONEST = "dishonest", _("列入严重失信人名单")


class Measure(models.Model):
    """A measure a decision may take, with the articles it rests on (data, SPEC §6)."""

    code = models.SlugField(_("代码"), max_length=30, unique=True)
    kind = models.CharField(_("类型"), max_length=15, choices=MeasureKind.choices, unique=True)
    label = models.CharField(_("名称"), max_length=50)
    article = models.CharField(_("依据条款"), max_length=300)
    score_points = models.DecimalField(
        _("默认考核扣分"), max_digits=5, decimal_places=2, default=0, help_text=_("计入当年考核得分的扣分")
    )
    position = models.PositiveSmallIntegerField(_("排序"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("处理措施")
        verbose_name_plural = _("处理措施")
        ordering = ["position", "code"]

    def __str__(self):
        return f"{self.label}（{self.article}）"


class DecisionMeasure(models.Model):
    """One measure of a decision, with what it took effect on."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.PROTECT, related_name="measures")
    measure = models.ForeignKey(Measure, verbose_name=_("措施"), on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("金额"), null=True, blank=True, **MONEY)
    defrauded_amount = models.DecimalField(_("骗取金额"), null=True, blank=True, **MONEY)
    deadline = models.DateField(_("期限"), null=True, blank=True)
    note = models.TextField(_("说明"), blank=True)
    deduction = models.ForeignKey(
        "settlement.Deduction", verbose_name=_("应收抵扣"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hold = models.ForeignKey(
        "settlement.PaymentHold", verbose_name=_("暂缓支付"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Two cases may share one deferral: each lifts its own, and the payment resumes with the last.
    hold_lifted_on = models.DateField(_("本案解除暂缓日期"), null=True, blank=True)
    effect = models.CharField(_("执行结果"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("处理措施（决定）")
        verbose_name_plural = _("处理措施（决定）")
        ordering = ["case", "pk"]


class RectificationStatus(models.TextChoices):
    PENDING = "pending", _("整改中")
    REPORTED = "reported", _("已报告整改情况")
    VERIFIED = "verified", _("整改到位")
    FAILED = "failed", _("整改不到位")


class Rectification(models.Model):
    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.PROTECT, related_name="rectifications")
    requirement = models.TextField(_("整改要求"))
    deadline = models.DateField(_("整改期限"))
    status = models.CharField(_("状态"), max_length=10, choices=RectificationStatus.choices, default=RectificationStatus.PENDING)
    report = models.TextField(_("整改报告"), blank=True)
    reported_at = models.DateTimeField(_("报告时间"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("验收人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(_("验收时间"), null=True, blank=True)
    verify_note = models.TextField(_("验收意见"), blank=True)

    class Meta:
        verbose_name = _("整改")
        verbose_name_plural = _("整改")
        ordering = ["deadline", "pk"]


class AppealKind(models.TextChoices):
    RECONSIDERATION = "reconsideration", _("行政复议")
    LITIGATION = "litigation", _("行政诉讼")


class AppealOutcome(models.TextChoices):
    PENDING = "pending", _("审理中")
    UPHELD = "upheld", _("维持")
    CHANGED = "changed", pgettext_lazy("appeal outcome", "变更")
    REVOKED = "revoked", _("撤销")
    WITHDRAWN = "withdrawn", _("撤回")


class Appeal(models.Model):
    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.PROTECT, related_name="appeals")
    kind = models.CharField(_("类型"), max_length=16, choices=AppealKind.choices)
    filed_on = models.DateField(_("提起日期"))
    authority = models.CharField(_("受理机关"), max_length=200)
    outcome = models.CharField(_("结果"), max_length=10, choices=AppealOutcome.choices, default=AppealOutcome.PENDING)
    outcome_on = models.DateField(_("结果日期"), null=True, blank=True)
    note = models.TextField(_("说明"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("复议与诉讼")
        verbose_name_plural = _("复议与诉讼")
        ordering = ["filed_on", "pk"]


class DishonestListing(models.Model):
    """列入社会保险严重失信人名单 (R§28, D§30): published without login."""

    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("协议机构"), on_delete=models.PROTECT, related_name="dishonest_listings"
    )
    case = models.OneToOneField(Case, verbose_name=_("案件"), on_delete=models.PROTECT, related_name="dishonest_listing")
    listed_on = models.DateField(_("列入日期"))
    basis = models.CharField(_("依据"), max_length=300)
    reason = models.TextField(_("事由"))

    class Meta:
        verbose_name = _("严重失信人名单")
        verbose_name_plural = _("严重失信人名单")
        ordering = ["-listed_on", "-pk"]
