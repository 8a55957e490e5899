"""Monthly declarations, their review and the month-end settlement (SPEC §4, W§28).

Money is DecimalField(14, 2) everywhere (core.money). A settlement row stores the rate and the
rule version it was computed with, so history is never recomputed from today's parameters.
The rules live in settlement/services/; the database refuses changes to frozen rows
(migration 0002_frozen_guards) whatever path tries them.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}
# The sums in the check constraints are rounded to the fen: exact on PostgreSQL's numeric already,
# and on the embedded SQLite (which keeps decimals as binary floating point) it makes 100.10 +
# 23.35 equal 123.45 as it should.


def money_field(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, **MONEY, **kwargs)


# ---- policy parameters ------------------------------------------------------------------------


class SettlementPolicy(models.Model):
    """The declaration and review days and the deposit rate, per region and effective-dated.

    The most specific region wins (a county code over its city's 4-digit prefix over the whole
    region, ""), then the latest `valid_from` on or before the first day of the month.
    """

    region_code = models.CharField(
        _("适用地区"), max_length=6, blank=True,
        help_text=_("空＝全区；4位＝地市（如 6401 银川市）；6位＝县（市、区）"),
    )
    valid_from = models.DateField(_("生效月份"), help_text=_("自该月的结算起适用（取当月1日）"))
    declaration_due_day = models.PositiveSmallIntegerField(
        _("申报截止日"), default=10, validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text=_("次月该日（含）前申报上月费用（乌海办法第二十八条：每月10日前）"),
    )
    review_due_day = models.PositiveSmallIntegerField(
        _("审核截止日"), default=25, validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text=_("次月该日（含）前审核完毕（乌海办法第二十八条：当月25日前）"),
    )
    deposit_rate = models.DecimalField(
        _("质量保证金比例"), max_digits=5, decimal_places=4, default=Decimal("0.1000"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    rule_version = models.CharField(_("规则版本"), max_length=40)
    basis = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("结算政策参数")
        verbose_name_plural = _("结算政策参数")
        ordering = ["region_code", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "valid_from"], name="policy_region_from_unique"),
            models.CheckConstraint(name="policy_rate_0_1", condition=Q(deposit_rate__gte=0, deposit_rate__lte=1)),
        ]

    def __str__(self):
        return f"{self.region_code or '全区'} {self.valid_from:%Y-%m} {self.rule_version}"


# ---- declarations -----------------------------------------------------------------------------


class Category(models.TextChoices):
    INPATIENT = "inpatient", _("住院")
    OUTPATIENT = "outpatient", _("门诊")
    REHABILITATION = "rehabilitation", _("康复")
    DEVICE = "device", _("辅助器具")


class Declaration(models.Model):
    """One institution's declaration for one month: the lines it declared, however they came."""

    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("协议机构"), on_delete=models.PROTECT, related_name="declarations"
    )
    period = models.DateField(_("结算月份"))  # the first day of the month
    late = models.BooleanField(_("逾期"), default=False)
    created_at = models.DateTimeField(_("首次申报时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("月度申报")
        verbose_name_plural = _("月度申报")
        ordering = ["-period", "institution__code"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "period"], name="declaration_one_per_month"),
            models.CheckConstraint(name="declaration_period_first_day", condition=Q(period__day=1)),
        ]

    def __str__(self):
        return f"{self.institution} {self.period:%Y-%m}"


class ImportSource(models.TextChoices):
    FORM = "form", _("页面录入")
    UPLOAD = "upload", _("页面上传文件")
    API = "api", _("接口")
    COMMAND = "command", _("命令行")


class DeclarationImport(models.Model):
    """One submission (申报批次): a file, a form, an API call or a command run, with its report.

    Lines keep their batch and row number, so every stored line can be traced to where it came
    from; refused rows are kept here with their row number and reason.
    """

    source = models.CharField(_("来源"), max_length=10, choices=ImportSource.choices)
    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("申报机构"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="declaration_imports", help_text=_("页面和接口的申报只属于一个机构；命令行导入可含多个机构"),
    )
    file_name = models.CharField(_("文件名"), max_length=255, blank=True)
    sha256 = models.CharField(_("文件摘要"), max_length=64, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("提交人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    rows = models.PositiveIntegerField(_("数据行"), default=0)
    accepted = models.PositiveIntegerField(_("新增明细"), default=0)
    duplicates = models.PositiveIntegerField(_("重复未计"), default=0)
    rejected = models.PositiveIntegerField(_("拒绝"), default=0)
    late = models.BooleanField(_("含逾期申报"), default=False)

    class Meta:
        verbose_name = _("申报批次")
        verbose_name_plural = _("申报批次")
        ordering = ["-submitted_at", "-pk"]

    def __str__(self):
        return f"#{self.pk} {self.get_source_display()} {self.file_name}".strip()


class ImportRejection(models.Model):
    """A refused row: its number in the file, why, and its cells as sent (nothing is lost)."""

    batch = models.ForeignKey(DeclarationImport, verbose_name=_("申报批次"), on_delete=models.CASCADE, related_name="rejections")
    row_no = models.PositiveIntegerField(_("行号"))
    reason = models.TextField(_("原因"))
    cells = models.JSONField(_("原始内容"), default=list)

    class Meta:
        verbose_name = _("拒绝的行")
        verbose_name_plural = _("拒绝的行")
        ordering = ["batch", "row_no", "pk"]


class LineStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("审核通过")
    REDUCED = "reduced", _("核减")
    REFUSED = "refused", _("拒付")
    HELD = "held", _("暂缓（待鉴定）")


DECIDED = (LineStatus.APPROVED, LineStatus.REDUCED, LineStatus.REFUSED)
PAYING = (LineStatus.APPROVED, LineStatus.REDUCED)


class ReviewOutcome(models.TextChoices):
    APPROVE = "approve", _("通过")
    REDUCE = "reduce", _("核减")
    REFUSE = "refuse", _("拒付")
    HOLD = "hold", _("暂缓")


class ReviewReason(models.Model):
    """A reason a reviewer may give (SPEC §4), with the article it rests on. Reasons are data:
    an agency adds one in the admin, never in code."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    label = models.CharField(_("理由"), max_length=100)
    article = models.CharField(_("依据条款"), max_length=200)
    outcomes = models.JSONField(_("适用的审核结果"), default=list, help_text=_('如 ["reduce", "refuse"]'))
    categories = models.JSONField(_("适用的费用类别"), default=list, blank=True, help_text=_("空＝全部类别"))
    note_required = models.BooleanField(_("须填写说明"), default=False)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("审核理由")
        verbose_name_plural = _("审核理由")
        ordering = ["position", "code"]

    def __str__(self):
        return f"{self.label}（{self.article}）"


class BulkReview(models.Model):
    """One bulk approval (a button, an API call or review_declarations): what it covered."""

    period = models.DateField(_("结算月份"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    filters = models.JSONField(_("范围"), default=dict)
    lines = models.PositiveIntegerField(_("通过明细数"), default=0)
    amount = money_field(_("通过金额"), default=Decimal("0.00"))

    class Meta:
        verbose_name = _("批量审核")
        verbose_name_plural = _("批量审核")
        ordering = ["-at"]


class DeclarationLine(models.Model):
    """One declared line: an injured worker's visit (SPEC §4), and the review's decision on it."""

    # Indexes are few on purpose: a month can hold a million lines and every index slows the import.
    # (declaration, status) serves the declaration FK too.
    declaration = models.ForeignKey(
        Declaration, verbose_name=_("月度申报"), on_delete=models.PROTECT, related_name="lines", db_index=False
    )
    batch = models.ForeignKey(
        DeclarationImport, verbose_name=_("申报批次"), null=True, blank=True, on_delete=models.PROTECT, related_name="lines"
    )
    source_row = models.PositiveIntegerField(_("来源行号"), null=True, blank=True)
    # md5 of the row's normalised cells: the same row sent again is recognised and not added twice.
    fingerprint = models.UUIDField(_("内容指纹"), unique=True, editable=False)
    card_no = models.CharField(_("社会保障卡号"), max_length=30)
    name = models.CharField(_("姓名"), max_length=50)
    category = models.CharField(_("类别"), max_length=15, choices=Category.choices)
    visit_date = models.DateField(_("就诊日期"))
    discharge_date = models.DateField(_("出院日期"), null=True, blank=True)
    total = money_field(_("总费用"))
    in_scope = money_field(_("统筹范围内费用"))
    self_paid = money_field(_("个人自付"))
    non_injury = money_field(_("非工伤费用"))
    late = models.BooleanField(_("逾期"), default=False)

    status = models.CharField(_("审核结果"), max_length=10, choices=LineStatus.choices, default=LineStatus.PENDING)
    approved_amount = money_field(_("审核通过金额"), null=True, blank=True)
    reason = models.ForeignKey(
        ReviewReason, verbose_name=_("审核理由"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    review_note = models.TextField(_("审核说明"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("审核人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    bulk_review = models.ForeignKey(
        BulkReview, verbose_name=_("批量审核"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    # Decided after its month was approved for payment: paid as an adjustment in a later month.
    carried = models.BooleanField(_("转入以后月份"), default=False)
    carried_into = models.ForeignKey(
        "MonthlySettlement", verbose_name=_("计入结算"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="carried_lines", db_index=False,
    )
    created_at = models.DateTimeField(_("申报时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("申报明细")
        verbose_name_plural = _("申报明细")
        ordering = ["declaration", "source_row", "pk"]
        indexes = [
            models.Index(fields=["declaration", "status"], name="line_declaration_status"),
            models.Index(fields=["declaration"], condition=Q(carried=True, carried_into__isnull=True), name="line_carried_open"),
            models.Index(fields=["carried_into"], condition=Q(carried_into__isnull=False), name="line_carried_into"),
        ]
        constraints = [
            models.CheckConstraint(
                name="line_amounts_non_negative",
                condition=Q(total__gte=0, in_scope__gte=0, self_paid__gte=0, non_injury__gte=0),
            ),
            models.CheckConstraint(
                name="line_parts_add_up", condition=Q(total=Round(F("in_scope") + F("self_paid") + F("non_injury"), 2))
            ),
            models.CheckConstraint(
                name="line_discharge_after_visit",
                condition=Q(discharge_date__isnull=True) | Q(discharge_date__gte=F("visit_date")),
            ),
            # A decided line carries its amount and reason; a pending one carries neither.
            models.CheckConstraint(
                name="line_decision_complete",
                condition=Q(status="pending", approved_amount__isnull=True)
                | (Q(status__in=["approved", "reduced", "refused", "held"]) & Q(reason__isnull=False)),
            ),
            models.CheckConstraint(
                name="line_approved_within_scope",
                condition=Q(approved_amount__isnull=True) | Q(approved_amount__gte=0, approved_amount__lte=F("in_scope")),
            ),
        ]

    def __str__(self):
        return f"{self.name} {self.get_category_display()} {self.visit_date}"


class LineItem(models.Model):
    """Optional item detail of a line (SPEC §4): catalogue code, name, quantity, unit price, amount."""

    line = models.ForeignKey(DeclarationLine, verbose_name=_("申报明细"), on_delete=models.CASCADE, related_name="items")
    catalogue_code = models.CharField(_("目录编码"), max_length=50, blank=True)
    name = models.CharField(_("项目名称"), max_length=200)
    quantity = models.DecimalField(_("数量"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("单价"), max_digits=14, decimal_places=4)
    amount = money_field(_("金额"))

    class Meta:
        verbose_name = _("费用项目")
        verbose_name_plural = _("费用项目")
        ordering = ["line", "pk"]


# ---- month-end settlement ---------------------------------------------------------------------


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("运行中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")


class RunKind(models.TextChoices):
    MONTHLY = "monthly", _("月度结算")
    ANNUAL = "annual", _("年度结算")


class SettlementRun(models.Model):
    """One run of a batch (button, API, command or beat): who asked, its progress and outcome.
    Runs are history; the results they produce live in MonthlySettlement."""

    kind = models.CharField(_("类型"), max_length=10, choices=RunKind.choices, default=RunKind.MONTHLY)
    period = models.DateField(_("结算月份／年度"))
    agency = models.ForeignKey(
        "institutions.HandlingAgency", verbose_name=_("经办机构"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text=_("空＝全部经办机构"),
    )
    status = models.CharField(_("状态"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(_("触发方式"), max_length=10, default="page")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("发起时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    summary = models.JSONField(_("结果摘要"), default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = _("结算运行")
        verbose_name_plural = _("结算运行")
        ordering = ["-requested_at", "-pk"]


class BatchStatus(models.TextChoices):
    OPEN = "open", _("未结算")
    CALCULATED = "calculated", _("已计算")
    APPROVED = "approved", _("已审批拨付（冻结）")


class MonthlyBatch(models.Model):
    """One handling agency's month: computed by runs, then approved for payment, which freezes it.
    A row per (month, agency) that declarations, reviews and runs lock, so that nothing slips into
    a month while it is being approved."""

    period = models.DateField(_("结算月份"))
    agency = models.ForeignKey("institutions.HandlingAgency", verbose_name=_("经办机构"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=12, choices=BatchStatus.choices, default=BatchStatus.OPEN)
    calculated_at = models.DateTimeField(_("计算时间"), null=True, blank=True)
    last_run = models.ForeignKey(SettlementRun, verbose_name=_("最近运行"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("审批人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("月度结算批次")
        verbose_name_plural = _("月度结算批次")
        ordering = ["-period", "agency"]
        constraints = [
            models.UniqueConstraint(fields=["period", "agency"], name="batch_one_per_agency_month"),
            models.CheckConstraint(
                name="batch_approved_has_approver",
                condition=~Q(status="approved") | Q(approved_by__isnull=False, approved_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.agency} {self.period:%Y-%m}"

    @property
    def frozen(self) -> bool:
        return self.status == BatchStatus.APPROVED


class MonthlySettlement(models.Model):
    """An institution's settlement for a month (结算单).

    approved = this month's approved lines + lines and corrections carried in from earlier months;
    deposit = round_half_up(approved × rate); payable = approved − deposit;
    net = payable + shortfall − deductions offset + released holds − held, never negative: a
    negative payable is lifted to zero by `shortfall`, which becomes a receivable on approval.
    """

    batch = models.ForeignKey(MonthlyBatch, verbose_name=_("结算批次"), on_delete=models.PROTECT, related_name="rows")
    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("协议机构"), on_delete=models.PROTECT, related_name="monthly_settlements"
    )
    period = models.DateField(_("结算月份"))
    line_count = models.PositiveIntegerField(_("通过明细数"), default=0)
    declared_amount = money_field(_("申报统筹范围内费用"), default=Decimal("0.00"))
    approved_amount = money_field(_("审核通过金额"))
    adjustment_amount = money_field(_("其中：以前月份调整"), default=Decimal("0.00"))
    deposit_rate = models.DecimalField(_("质量保证金比例"), max_digits=5, decimal_places=4)
    deposit = money_field(_("质量保证金"))
    payable = money_field(_("应拨付金额"))
    # A negative payable (corrections larger than the month) becomes a receivable, not a negative payment.
    shortfall = money_field(_("负数转应收"), default=Decimal("0.00"))
    deduction_amount = money_field(_("抵扣金额"), default=Decimal("0.00"))
    carried_forward = money_field(_("结转应收"), default=Decimal("0.00"))
    released_amount = money_field(_("解除暂缓拨付"), default=Decimal("0.00"))
    held = models.BooleanField(_("暂缓支付"), default=False)
    held_amount = money_field(_("暂缓金额"), default=Decimal("0.00"))
    net_amount = money_field(_("实际拨付金额"))
    policy = models.ForeignKey(SettlementPolicy, verbose_name=_("适用政策参数"), on_delete=models.PROTECT, related_name="+")
    rule_version = models.CharField(_("规则版本"), max_length=40)
    frozen = models.BooleanField(_("已冻结"), default=False)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("月度结算")
        verbose_name_plural = _("月度结算")
        ordering = ["-period", "institution__code"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "period"], name="settlement_one_per_institution_month"),
            models.CheckConstraint(
                name="settlement_split_adds_up", condition=Q(payable=Round(F("approved_amount") - F("deposit"), 2))
            ),
            models.CheckConstraint(
                name="settlement_net_adds_up",
                condition=Q(
                    net_amount=Round(
                        F("payable") + F("shortfall") - F("deduction_amount") + F("released_amount") - F("held_amount"), 2
                    )
                ),
            ),
        ]

    def __str__(self):
        return f"{self.institution} {self.period:%Y-%m}"


class DeductionKind(models.TextChoices):
    RECOVERY = "recovery", _("追回已支付费用")
    REFUSAL = "refusal", _("不予支付")
    NEGATIVE_BALANCE = "negative_balance", _("负数结算结转")
    OTHER = "other", _("其他应收")


class Deduction(models.Model):
    """An amount the agency is owed by an institution (a recovery, a refusal of paid amounts, a
    negative month), offset against the payable of its next settlements until used up."""

    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("协议机构"), on_delete=models.PROTECT, related_name="deductions"
    )
    kind = models.CharField(_("类型"), max_length=20, choices=DeductionKind.choices)
    amount = money_field(_("金额"), validators=[MinValueValidator(Decimal("0.01"))])
    effective_from = models.DateField(_("自该月结算起抵扣"))
    reason = models.TextField(_("事由"))
    basis = models.CharField(_("依据"), max_length=200, blank=True)
    source_label = models.CharField(_("来源"), max_length=200, blank=True, help_text=_("如 违规案件编号"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("应收抵扣")
        verbose_name_plural = _("应收抵扣")
        ordering = ["institution", "effective_from", "pk"]
        constraints = [
            models.CheckConstraint(name="deduction_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="deduction_from_first_day", condition=Q(effective_from__day=1)),
        ]

    def __str__(self):
        return f"{self.institution} {self.get_kind_display()} {self.amount}"


class DeductionOffset(models.Model):
    """The part of a deduction offset in one settlement row (FIFO over the deductions)."""

    deduction = models.ForeignKey(Deduction, verbose_name=_("应收抵扣"), on_delete=models.PROTECT, related_name="offsets")
    settlement = models.ForeignKey(MonthlySettlement, verbose_name=_("月度结算"), on_delete=models.CASCADE, related_name="offsets")
    amount = money_field(_("抵扣金额"))

    class Meta:
        verbose_name = _("抵扣记录")
        verbose_name_plural = _("抵扣记录")
        constraints = [
            models.UniqueConstraint(fields=["deduction", "settlement"], name="offset_once_per_row"),
            models.CheckConstraint(name="offset_positive", condition=Q(amount__gt=0)),
        ]


class PaymentHold(models.Model):
    """暂缓支付 (M§38, R§27, D§29): while active, the institution's monthly payment is held;
    once lifted, what was held is paid with the next settlement."""

    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("协议机构"), on_delete=models.PROTECT, related_name="payment_holds"
    )
    reason = models.TextField(_("事由"))
    basis = models.CharField(_("依据"), max_length=200, blank=True)
    source_label = models.CharField(_("来源"), max_length=200, blank=True)
    started_on = models.DateField(_("暂缓起始日期"))
    lifted_on = models.DateField(_("解除日期"), null=True, blank=True)
    lift_note = models.TextField(_("解除说明"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("解除人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("暂缓支付")
        verbose_name_plural = _("暂缓支付")
        ordering = ["-started_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="hold_lifted_after_start", condition=Q(lifted_on__isnull=True) | Q(lifted_on__gte=F("started_on"))
            ),
        ]

    @property
    def active(self) -> bool:
        return self.lifted_on is None


class SettlementAdjustment(models.Model):
    """A correction to an approved (frozen) month: never an edit, an amount in a later settlement."""

    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("协议机构"), on_delete=models.PROTECT, related_name="settlement_adjustments"
    )
    corrects = models.ForeignKey(
        MonthlySettlement, verbose_name=_("更正的结算"), null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    amount = money_field(_("调整金额"), help_text=_("正数补付，负数扣回；计入审核通过金额"))
    effective_from = models.DateField(_("自该月结算起计入"))
    reason = models.TextField(_("事由"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    applied_in = models.ForeignKey(
        MonthlySettlement, verbose_name=_("计入结算"), null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments"
    )

    class Meta:
        verbose_name = _("结算调整")
        verbose_name_plural = _("结算调整")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(name="adjustment_not_zero", condition=~Q(amount=0)),
            models.CheckConstraint(name="adjustment_from_first_day", condition=Q(effective_from__day=1)),
        ]


class HoldRelease(models.Model):
    """A held (暂缓) amount of a frozen month, paid with a later settlement once the hold is lifted.
    One release per held row: it can never be paid twice."""

    held_row = models.OneToOneField(
        MonthlySettlement, verbose_name=_("暂缓的结算"), on_delete=models.PROTECT, related_name="release"
    )
    released_in = models.ForeignKey(
        MonthlySettlement, verbose_name=_("拨付于"), on_delete=models.PROTECT, related_name="hold_releases"
    )
    amount = money_field(_("金额"))

    class Meta:
        verbose_name = _("暂缓解除拨付")
        verbose_name_plural = _("暂缓解除拨付")


# ---- year-end: the annual application, assessment scores and the deposit release ----------------


class AnnualApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    ACCEPTED = "accepted", _("已受理")
    RETURNED = "returned", _("已退回（须补正）")


class AnnualApplication(models.Model):
    """The institution's application for the annual settlement (W§28: by the end of January, with
    the settlement declaration form and the cost-analysis report)."""

    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("协议机构"), on_delete=models.PROTECT, related_name="annual_applications"
    )
    year = models.PositiveSmallIntegerField(_("结算年度"))
    status = models.CharField(
        _("状态"), max_length=10, choices=AnnualApplicationStatus.choices, default=AnnualApplicationStatus.SUBMITTED
    )
    late = models.BooleanField(_("逾期"), default=False)
    note = models.TextField(_("申请说明"), blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("申请时间"))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("受理人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    review_note = models.TextField(_("受理意见"), blank=True)

    class Meta:
        verbose_name = _("年度结算申请")
        verbose_name_plural = _("年度结算申请")
        ordering = ["-year", "institution__code"]
        constraints = [models.UniqueConstraint(fields=["institution", "year"], name="annual_application_once")]

    def __str__(self):
        return f"{self.institution} {self.year}年度结算申请"


class AnnualMaterialKind(models.TextChoices):
    DECLARATION_FORM = "declaration_form", _("结算申报表")
    COST_REPORT = "cost_report", _("费用情况分析报告")
    OTHER = "other", _("其他材料")


REQUIRED_ANNUAL_MATERIALS = (AnnualMaterialKind.DECLARATION_FORM, AnnualMaterialKind.COST_REPORT)


def annual_material_upload_to(instance, filename):
    return f"annual/{instance.application.year}/{instance.application.institution_id}/{filename}"


class AnnualMaterial(models.Model):
    application = models.ForeignKey(AnnualApplication, verbose_name=_("年度结算申请"), on_delete=models.PROTECT, related_name="materials")
    kind = models.CharField(_("材料类型"), max_length=20, choices=AnnualMaterialKind.choices)
    file = models.FileField(_("文件"), upload_to=annual_material_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("年度结算材料")
        verbose_name_plural = _("年度结算材料")
        ordering = ["kind", "-uploaded_at"]


class AssessmentScore(models.Model):
    """The institution's assessment score for a year (W§28: the annual assessment combined with the
    daily supervision results, as a percentage). `total` is the sum of its components, within
    0–100; it is None until an assessment (not only deductions) is in, and then the institution
    is not settled."""

    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("协议机构"), on_delete=models.PROTECT, related_name="assessment_scores"
    )
    year = models.PositiveSmallIntegerField(_("考核年度"))
    total = models.DecimalField(_("考核得分"), max_digits=5, decimal_places=2, null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("考核得分")
        verbose_name_plural = _("考核得分")
        ordering = ["-year", "institution__code"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "year"], name="score_once_per_year"),
            models.CheckConstraint(
                name="score_within_0_100", condition=Q(total__isnull=True) | Q(total__gte=0, total__lte=100)
            ),
        ]

    def __str__(self):
        return f"{self.institution} {self.year} {self.total if self.total is not None else '—'}"


class ComponentKind(models.TextChoices):
    ASSESSMENT = "assessment", _("年度考核")
    SUPERVISION = "supervision", _("日常监督检查")
    IMPORTED = "imported", _("综合考核得分（导入）")
    DEDUCTION = "deduction", _("违规扣分")
    OTHER = "other", _("其他加减分")


BASE_COMPONENTS = (ComponentKind.ASSESSMENT, ComponentKind.SUPERVISION, ComponentKind.IMPORTED)


class ScoreComponent(models.Model):
    """A named part of a score, so that a deduction shows where the points went."""

    score = models.ForeignKey(AssessmentScore, verbose_name=_("考核得分"), on_delete=models.CASCADE, related_name="components")
    kind = models.CharField(_("类型"), max_length=12, choices=ComponentKind.choices)
    label = models.CharField(_("名称"), max_length=100)
    points = models.DecimalField(_("分值"), max_digits=6, decimal_places=2)
    note = models.TextField(_("说明"), blank=True)
    source_label = models.CharField(_("来源"), max_length=200, blank=True, help_text=_("如 违规案件编号"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("得分构成")
        verbose_name_plural = _("得分构成")
        ordering = ["score", "pk"]


class AnnualBatch(models.Model):
    """One handling agency's year: computed by runs, approved (frozen) like a month."""

    year = models.PositiveSmallIntegerField(_("结算年度"))
    agency = models.ForeignKey("institutions.HandlingAgency", verbose_name=_("经办机构"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=12, choices=BatchStatus.choices, default=BatchStatus.OPEN)
    calculated_at = models.DateTimeField(_("计算时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("审批人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("年度结算批次")
        verbose_name_plural = _("年度结算批次")
        ordering = ["-year", "agency"]
        constraints = [
            models.UniqueConstraint(fields=["year", "agency"], name="annual_batch_one_per_agency_year"),
            models.CheckConstraint(
                name="annual_batch_approved_has_approver",
                condition=~Q(status="approved") | Q(approved_by__isnull=False, approved_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.agency} {self.year}"

    @property
    def frozen(self) -> bool:
        return self.status == BatchStatus.APPROVED


class AnnualSettlement(models.Model):
    """The release of an institution's quality deposit for a year (W§28, SPEC §5):
    released = round_half_up(deposit_total × score / 100); forfeited = deposit_total − released."""

    batch = models.ForeignKey(AnnualBatch, verbose_name=_("年度结算批次"), on_delete=models.PROTECT, related_name="rows")
    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("协议机构"), on_delete=models.PROTECT, related_name="annual_settlements"
    )
    year = models.PositiveSmallIntegerField(_("结算年度"))
    deposit_total = money_field(_("保证金总额"))
    monthly_deposits = models.JSONField(_("各月预留质量保证金"), default=dict)  # {"2026-01": "123.45", ...}
    unapproved_months = models.JSONField(_("计算时尚未审批的月份"), default=list, blank=True)
    score = models.DecimalField(_("考核得分"), max_digits=5, decimal_places=2)
    score_components = models.JSONField(_("得分构成"), default=list)  # [{"kind", "label", "points", "source"}]
    released = money_field(_("返还金额"))
    forfeited = money_field(_("扣留金额"))
    frozen = models.BooleanField(_("已冻结"), default=False)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("年度结算")
        verbose_name_plural = _("年度结算")
        ordering = ["-year", "institution__code"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "year"], name="annual_settlement_once"),
            models.CheckConstraint(
                name="annual_split_adds_up", condition=Q(forfeited=Round(F("deposit_total") - F("released"), 2))
            ),
            models.CheckConstraint(name="annual_score_0_100", condition=Q(score__gte=0, score__lte=100)),
        ]

    def __str__(self):
        return f"{self.institution} {self.year}"
