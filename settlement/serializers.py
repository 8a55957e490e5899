"""API serializers for declarations, review and the month-end settlement (HackSoft style, as
institutions/serializers.py): output serializers only render, input serializers only validate;
the services decide. Amounts are DecimalField(14, 2) and go out as strings, never floats.

Choice fields on output are plain strings plus a `*_label`, as in the registry API, so the schema
does not grow one enum per model field with colliding names.
"""

from decimal import Decimal

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from institutions.serializers import (
    AgencyBriefOutputSerializer,
    InstitutionBriefOutputSerializer,
    UserBriefOutputSerializer,
)

from .models import (
    AnnualApplicationStatus,
    AnnualMaterialKind,
    BatchStatus,
    Category,
    ComponentKind,
    DeductionKind,
    ImportSource,
    LineStatus,
    ReviewOutcome,
    RunStatus,
)
from .services.declaration_rows import COLUMNS, KEYS, header_key
from .services.periods import month_code, parse_period

ZERO = Decimal("0.00")
MAX_API_LINES = 10_000  # more than this in one request: upload a file (declarations/import/)
EXPORT_FORMATS = ("csv", "xlsx")
SUMMARY_FORMATS = ("xlsx", "pdf")


# ---- fields --------------------------------------------------------------------------------------


class MoneyField(serializers.DecimalField):
    """The portal's one money type, numeric(14, 2), rendered as a string ("1234.50")."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=14, decimal_places=2, **kwargs)


class TotalField(MoneyField):
    """A Sum over no rows is NULL in SQL; the amount of nothing is 0.00, not null."""

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        return ZERO if value is None else value


class MonthField(serializers.CharField):
    """A month as the interchange files write it: "2026-10" ⇄ date(2026, 10, 1) (periods.parse_period)."""

    default_error_messages = {
        "required": "请指定结算月份（YYYY-MM，例如 2026-10）。",
        "blank": "请指定结算月份（YYYY-MM，例如 2026-10）。",
        "invalid_month": "结算月份“{value}”无效，应为 YYYY-MM，例如 2026-10。",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "结算月份 YYYY-MM，例如 2026-10")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        period = parse_period(text)
        if period is None:
            self.fail("invalid_month", value=text)
        return period

    def to_representation(self, value):
        return month_code(value)


class AmountInputField(serializers.CharField):
    """An amount as the user typed it. The service parses it (one rule, one message for pages and
    API); a JSON number arrives as a Decimal (see apis.ExactJSONParser) and keeps its digits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "金额，字符串，最多两位小数，如 \"1234.50\"")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, (Decimal, int)) and not isinstance(data, bool):
            data = str(data)
        return super().to_internal_value(data)


# ---- output: declarations ------------------------------------------------------------------------


class ReasonOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    article = serializers.CharField(help_text="依据条款")


class ReviewReasonOutputSerializer(ReasonOutputSerializer):
    outcomes = serializers.ListField(child=serializers.CharField(), help_text=" | ".join(ReviewOutcome.values))
    categories = serializers.ListField(child=serializers.CharField(), help_text="适用的费用类别；空＝全部类别")
    note_required = serializers.BooleanField(help_text="选择该理由时须填写审核说明")


class DeclarationListOutputSerializer(serializers.Serializer):
    """A row of selectors.declaration_list: the declaration with its counts and amounts."""

    id = serializers.IntegerField()
    institution = InstitutionBriefOutputSerializer()
    period = MonthField()
    late = serializers.BooleanField(help_text="含逾期申报的明细")
    created_at = serializers.DateTimeField()
    line_count = serializers.IntegerField()
    declared = TotalField(help_text="申报的统筹范围内费用合计")
    approved = TotalField(help_text="审核通过（含核减后）金额合计")
    pending = serializers.IntegerField(help_text="待审核明细数")
    held = serializers.IntegerField(help_text="暂缓（待鉴定）明细数")
    lines_url = serializers.SerializerMethodField()

    def get_lines_url(self, declaration) -> str:
        return (
            f"{reverse('api:line-list')}?month={month_code(declaration.period)}&institution={declaration.institution_id}"
        )


class StatusTotalOutputSerializer(serializers.Serializer):
    status = serializers.CharField(help_text=" | ".join(LineStatus.values))
    label = serializers.CharField()
    lines = serializers.IntegerField(source="n")
    declared = MoneyField()
    approved = MoneyField()


class DeclarationDetailOutputSerializer(DeclarationListOutputSerializer):
    totals = StatusTotalOutputSerializer(many=True, help_text="按审核结果分列的明细数和金额")


class LineItemOutputSerializer(serializers.Serializer):
    catalogue_code = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    amount = MoneyField()


class LineOutputSerializer(serializers.Serializer):
    """A declared line and the review's decision on it (outcome, amount, reason and its article)."""

    id = serializers.IntegerField()
    declaration = serializers.IntegerField(source="declaration_id")
    institution = InstitutionBriefOutputSerializer(source="declaration.institution")
    period = MonthField(source="declaration.period")
    batch = serializers.IntegerField(source="batch_id", allow_null=True, help_text="申报批次 ID")
    source_row = serializers.IntegerField(allow_null=True, help_text="在申报批次中的行号")
    card_no = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField(help_text=" | ".join(Category.values))
    category_label = serializers.CharField(source="get_category_display")
    visit_date = serializers.DateField()
    discharge_date = serializers.DateField(allow_null=True)
    total = MoneyField()
    in_scope = MoneyField()
    self_paid = MoneyField()
    non_injury = MoneyField()
    late = serializers.BooleanField(help_text="逾期申报")
    status = serializers.CharField(help_text=" | ".join(LineStatus.values))
    status_label = serializers.CharField(source="get_status_display")
    approved_amount = MoneyField(allow_null=True, help_text="审核通过金额；待审核、暂缓时为空")
    reason = ReasonOutputSerializer(allow_null=True)
    review_note = serializers.CharField()
    reviewed_at = serializers.DateTimeField(allow_null=True)
    carried = serializers.BooleanField(help_text="所在月份已审批拨付，计入以后月份的结算")


class LineDetailOutputSerializer(LineOutputSerializer):
    items = LineItemOutputSerializer(many=True, source="items.all")
    created_at = serializers.DateTimeField()


class LineDecisionOutputSerializer(serializers.Serializer):
    message = serializers.CharField()
    line = LineDetailOutputSerializer()


class BulkApproveOutputSerializer(serializers.Serializer):
    approved = serializers.IntegerField(help_text="本次通过的明细数")
    amount = MoneyField(help_text="本次通过的金额")
    carried = serializers.IntegerField(help_text="其中所在月份已审批拨付、计入以后月份的明细数")
    held = serializers.IntegerField(help_text="暂缓（待鉴定）未处理的明细数")
    message = serializers.CharField()


class RejectionBriefOutputSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="行号（接口提交时为 lines 中的序号，从1起；文件为文件中的行号）")
    reason = serializers.CharField()


class DeclarationImportReportOutputSerializer(serializers.Serializer):
    """ImportReport.as_dict(): the same counts the upload page and import_declarations print."""

    batch = serializers.IntegerField(help_text="申报批次 ID；完整的拒绝清单见 declarations/imports/{id}/")
    rows = serializers.IntegerField()
    accepted = serializers.IntegerField(help_text="新增明细")
    duplicates = serializers.IntegerField(help_text="已申报过的相同明细，未重复计入")
    rejected = serializers.IntegerField()
    late = serializers.BooleanField(help_text="含逾期申报（经办人员代为申报）")
    rejections = RejectionBriefOutputSerializer(many=True, help_text="前200个被拒绝的行")


class ImportBatchOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField(help_text=" | ".join(ImportSource.values))
    source_label = serializers.CharField(source="get_source_display")
    institution = InstitutionBriefOutputSerializer(allow_null=True)
    file_name = serializers.CharField()
    sha256 = serializers.CharField()
    submitted_by = UserBriefOutputSerializer(allow_null=True)
    submitted_at = serializers.DateTimeField()
    rows = serializers.IntegerField()
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    late = serializers.BooleanField()


class ImportRejectionOutputSerializer(serializers.Serializer):
    row_no = serializers.IntegerField()
    reason = serializers.CharField()
    cells = serializers.ListField(child=serializers.CharField(allow_blank=True), help_text="该行原样提交的内容，按申报文件的列序")


class RejectionPageOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ImportRejectionOutputSerializer(many=True)


class ImportDetailOutputSerializer(ImportBatchOutputSerializer):
    rejections = serializers.SerializerMethodField(help_text="被拒绝的全部行，按行号分页（?page=）")

    @extend_schema_field(RejectionPageOutputSerializer)
    def get_rejections(self, batch):
        return self.context["rejections"]


# ---- output: settlements ------------------------------------------------------------------------


class SettlementOutputSerializer(serializers.Serializer):
    """A MonthlySettlement (结算单) with every amount and the rate and rule version it used."""

    id = serializers.IntegerField()
    institution = InstitutionBriefOutputSerializer()
    agency = AgencyBriefOutputSerializer(source="batch.agency")
    period = MonthField()
    line_count = serializers.IntegerField()
    declared_amount = MoneyField()
    approved_amount = MoneyField()
    adjustment_amount = MoneyField(help_text="其中：以前月份调整")
    deposit_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    deposit = MoneyField(help_text="质量保证金")
    payable = MoneyField(help_text="应拨付金额 = 审核通过金额 − 质量保证金")
    shortfall = MoneyField(help_text="负数转应收")
    deduction_amount = MoneyField(help_text="抵扣金额")
    carried_forward = MoneyField(help_text="结转应收")
    released_amount = MoneyField(help_text="解除暂缓拨付")
    held = serializers.BooleanField(help_text="暂缓支付")
    held_amount = MoneyField()
    net_amount = MoneyField(help_text="实际拨付金额")
    rule_version = serializers.CharField()
    frozen = serializers.BooleanField(help_text="已审批拨付（冻结），只能以后月份调整")
    computed_at = serializers.DateTimeField()
    statement_url = serializers.SerializerMethodField()

    def get_statement_url(self, row) -> str:
        return reverse("api:settlement-statement", args=[row.pk])


class OffsetOutputSerializer(serializers.Serializer):
    deduction = serializers.IntegerField(source="deduction_id")
    kind = serializers.CharField(source="deduction.kind", help_text=" | ".join(DeductionKind.values))
    kind_label = serializers.CharField(source="deduction.get_kind_display")
    amount = MoneyField()


class AppliedAdjustmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    corrects = serializers.IntegerField(source="corrects_id", allow_null=True)
    amount = MoneyField()
    reason = serializers.CharField()


class SettlementDetailOutputSerializer(SettlementOutputSerializer):
    offsets = OffsetOutputSerializer(many=True, source="offsets.all", help_text="本月抵扣的应收")
    adjustments = AppliedAdjustmentOutputSerializer(many=True, source="adjustments.all", help_text="本月计入的以前月份更正")


class MonthBatchOutputSerializer(serializers.Serializer):
    """An agency's month (MonthlyBatch) with the totals of its rows."""

    id = serializers.IntegerField()
    period = MonthField()
    agency = AgencyBriefOutputSerializer()
    status = serializers.CharField(help_text=" | ".join(BatchStatus.values))
    status_label = serializers.CharField(source="get_status_display")
    frozen = serializers.BooleanField()
    calculated_at = serializers.DateTimeField(allow_null=True)
    last_run = serializers.IntegerField(source="last_run_id", allow_null=True)
    approved_by = UserBriefOutputSerializer(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    institution_count = serializers.IntegerField(help_text="结算的协议机构数")
    approved_amount = TotalField()
    deposit = TotalField()
    payable = TotalField()
    deduction_amount = TotalField()
    held_amount = TotalField()
    net_amount = TotalField()


class MonthApproveOutputSerializer(serializers.Serializer):
    message = serializers.CharField()
    batch = MonthBatchOutputSerializer()


class RunOutputSerializer(serializers.Serializer):
    """A SettlementRun with runs.run_progress (done/total/label while it runs, text when done)."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    period = MonthField(help_text="月度结算：结算月份；年度结算：该年度的1月")
    year = serializers.IntegerField(source="period.year", help_text="结算年度（年度结算）")
    agency = AgencyBriefOutputSerializer(allow_null=True, help_text="空＝调用者范围内的全部经办机构")
    status = serializers.CharField(help_text=" | ".join(RunStatus.values))
    status_label = serializers.CharField(source="get_status_display")
    error = serializers.CharField()
    done = serializers.IntegerField(source="progress.done", required=False, help_text="运行中：已完成的经办机构数")
    total = serializers.IntegerField(source="progress.total", required=False, help_text="运行中：经办机构总数")
    label = serializers.CharField(source="progress.label", required=False, help_text="运行中：正在结算的经办机构")
    text = serializers.CharField(source="progress.text", required=False, help_text="完成后：结果摘要")
    trigger = serializers.CharField()
    requested_by = UserBriefOutputSerializer(allow_null=True)
    requested_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    summary = serializers.DictField(help_text="完成后：各经办机构的合计")
    url = serializers.SerializerMethodField()

    def get_url(self, run) -> str:
        return reverse("api:settlement-run-detail", args=[run.pk])


class AdjustmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    institution = InstitutionBriefOutputSerializer()
    corrects = serializers.IntegerField(source="corrects_id", allow_null=True, help_text="更正的结算 ID")
    amount = MoneyField(help_text="正数补付，负数扣回")
    effective_from = MonthField(help_text="自该月结算起计入")
    reason = serializers.CharField()
    applied_in = serializers.IntegerField(source="applied_in_id", allow_null=True, help_text="已计入的结算 ID")
    created_by = UserBriefOutputSerializer(allow_null=True)
    created_at = serializers.DateTimeField()


class DeductionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    institution = InstitutionBriefOutputSerializer()
    kind = serializers.CharField(help_text=" | ".join(DeductionKind.values))
    kind_label = serializers.CharField(source="get_kind_display")
    amount = MoneyField()
    remaining = MoneyField(help_text="尚未抵扣 = 金额 − 已冻结结算中的抵扣")
    effective_from = MonthField(help_text="自该月结算起抵扣")
    reason = serializers.CharField()
    basis = serializers.CharField()
    source_label = serializers.CharField()
    created_by = UserBriefOutputSerializer(allow_null=True)
    created_at = serializers.DateTimeField()


class HoldOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    institution = InstitutionBriefOutputSerializer()
    reason = serializers.CharField()
    basis = serializers.CharField()
    source_label = serializers.CharField()
    active = serializers.BooleanField()
    started_on = serializers.DateField()
    lifted_on = serializers.DateField(allow_null=True)
    lift_note = serializers.CharField()
    created_by = UserBriefOutputSerializer(allow_null=True)
    lifted_by = UserBriefOutputSerializer(allow_null=True)
    created_at = serializers.DateTimeField()


# ---- input: declarations -------------------------------------------------------------------------

# A line's keys: the English keys of declaration_rows.KEYS or the Chinese headers of SPEC §8.
_KEY_BY_NAME = {k: k for k in KEYS} | {h: k for k, h in COLUMNS}


class DeclaredLineSchemaSerializer(serializers.Serializer):
    """Documentation only: the keys of one declared line. Each key may also be written as its
    Chinese header (机构编码, 结算月份, …), as in the declarations file."""

    code = serializers.CharField(help_text="机构编码")
    period = serializers.CharField(help_text="结算月份 YYYY-MM")
    card_no = serializers.CharField(help_text="社会保障卡号")
    name = serializers.CharField(help_text="姓名")
    category = serializers.CharField(help_text="类别：住院|门诊|康复|辅助器具（或 inpatient|outpatient|rehabilitation|device）")
    visit_date = serializers.CharField(help_text="就诊日期 YYYY-MM-DD")
    discharge_date = serializers.CharField(required=False, allow_blank=True, help_text="出院日期 YYYY-MM-DD")
    total = serializers.CharField(help_text="总费用，最多两位小数；数字也接受，按原样的数字处理")
    in_scope = serializers.CharField(help_text="统筹范围内费用")
    self_paid = serializers.CharField(required=False, allow_blank=True, help_text="个人自付；空＝0")
    non_injury = serializers.CharField(required=False, allow_blank=True, help_text="非工伤费用；空＝0")


@extend_schema_field(DeclaredLineSchemaSerializer(many=True))
class DeclaredLinesField(serializers.ListField):
    """The lines as {key: text}, numbered from 1 in the order given. A key nobody knows or a value
    that is not text or a number refuses the request (a shape error, like a file's unknown column);
    what a value says is the row checker's business, which refuses the row and keeps the others."""

    child = serializers.DictField()

    def to_internal_value(self, data):
        lines = super().to_internal_value(data)
        rows, problems = [], []
        for row_no, line in enumerate(lines, start=1):
            cells = {}
            for name, value in line.items():
                key = _KEY_BY_NAME.get(name) or _KEY_BY_NAME.get(header_key(name))
                if key is None:
                    problems.append(f"第{row_no}行：无法识别的字段“{name}”")
                elif key in cells:
                    problems.append(f"第{row_no}行：字段“{name}”重复")
                elif value is not None and (isinstance(value, (bool, dict, list)) or not isinstance(value, (str, int, Decimal))):
                    problems.append(f"第{row_no}行：字段“{name}”的值应为文本或数字")
                else:
                    # str(), never float(): a Decimal from the JSON parser keeps the digits as sent.
                    cells[key] = "" if value is None else str(value)
            rows.append((row_no, cells))
        if problems:
            raise serializers.ValidationError(problems[:50])
        return rows


class DeclarationLinesInputSerializer(serializers.Serializer):
    lines = DeclaredLinesField(
        allow_empty=False, max_length=MAX_API_LINES,
        error_messages={"empty": "请至少提交一行申报明细。", "max_length": f"每次最多提交 {MAX_API_LINES} 行；更多请上传文件。"},
    )
    institution = serializers.IntegerField(
        required=False, allow_null=True, help_text="经办人员代为申报时限定为该机构（机构 ID）；机构管理员只能是本机构"
    )


class DeclarationImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="申报文件：CSV（UTF-8）或 XLSX，列同 SPEC §8")
    institution = serializers.IntegerField(required=False, allow_null=True, help_text="经办人员代为申报时限定为该机构（机构 ID）")


class DeclarationFilterSerializer(serializers.Serializer):
    month = MonthField(required=False)
    institution = serializers.IntegerField(required=False, help_text="机构 ID")


class LineFilterSerializer(serializers.Serializer):
    """Query parameters of the line list (see selectors.review_lines)."""

    month = MonthField()
    institution = serializers.IntegerField(required=False, help_text="机构 ID（经办人员、稽核人员）")
    category = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=LineStatus.choices, required=False, allow_blank=True)
    q = serializers.CharField(required=False, allow_blank=True, help_text="姓名或社会保障卡号（包含）")
    late = serializers.BooleanField(required=False, help_text="仅看逾期申报")


class LineDecisionInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=ReviewOutcome.choices)
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="审核理由代码（见 review-reasons/）；通过时可空"
    )
    amount = AmountInputField(
        required=False, allow_blank=True, allow_null=True, default=None, help_text="核减后金额（reduce 时必填）"
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    def validate(self, data):
        if data["outcome"] == ReviewOutcome.REDUCE and not (data.get("amount") or "").strip():
            raise serializers.ValidationError({"amount": "核减须填写核减后金额。"})
        return data


class ApprovePendingInputSerializer(serializers.Serializer):
    month = MonthField()
    institution = serializers.IntegerField(required=False, allow_null=True, help_text="仅该机构（机构 ID）")
    category = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True)


class ReviewReasonFilterSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=ReviewOutcome.choices, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True)


# ---- input: settlements --------------------------------------------------------------------------


class SettlementFilterSerializer(serializers.Serializer):
    month = MonthField(required=False)
    institution = serializers.IntegerField(required=False, help_text="机构 ID")


class MonthBatchFilterSerializer(serializers.Serializer):
    month = MonthField(required=False)
    agency = serializers.IntegerField(required=False, help_text="经办机构 ID")


class MonthApproveInputSerializer(serializers.Serializer):
    month = MonthField()
    agency = serializers.IntegerField(required=False, allow_null=True, help_text="经办机构 ID；默认为本人所在经办机构")
    expected_net = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True,
        help_text="页面上显示的实际拨付合计；与重算结果不符则 409 stale，不审批",
    )


class RunCreateInputSerializer(serializers.Serializer):
    month = MonthField()
    agency = serializers.IntegerField(required=False, allow_null=True, help_text="经办机构 ID；空＝本人范围内的全部经办机构")


class SettlementExportInputSerializer(serializers.Serializer):
    month = MonthField()
    format = serializers.ChoiceField(choices=EXPORT_FORMATS)


class SettlementSummaryInputSerializer(serializers.Serializer):
    month = MonthField()
    format = serializers.ChoiceField(choices=SUMMARY_FORMATS)


class InstitutionFilterSerializer(serializers.Serializer):
    institution = serializers.IntegerField(required=False, help_text="机构 ID")


class HoldFilterSerializer(InstitutionFilterSerializer):
    active = serializers.BooleanField(required=False, allow_null=True, default=None, help_text="true 仅看未解除的暂缓")


class AdjustmentCreateInputSerializer(serializers.Serializer):
    settlement = serializers.IntegerField(help_text="更正的（已审批冻结的）月度结算 ID")
    amount = AmountInputField(help_text="调整金额：正数补付，负数扣回，最多两位小数")
    reason = serializers.CharField(max_length=2000)


class DeductionCreateInputSerializer(serializers.Serializer):
    institution = serializers.IntegerField(help_text="机构 ID")
    kind = serializers.ChoiceField(choices=DeductionKind.choices)
    amount = AmountInputField()
    reason = serializers.CharField(max_length=2000)
    basis = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    source_label = serializers.CharField(required=False, allow_blank=True, default="", max_length=200, help_text="如 违规案件编号")


class HoldCreateInputSerializer(serializers.Serializer):
    institution = serializers.IntegerField(help_text="机构 ID")
    reason = serializers.CharField(max_length=2000)
    basis = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    source_label = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class HoldLiftInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


# ---- year-end (issue 5): annual applications, assessment scores, the deposit release ---------------


class YearField(serializers.IntegerField):
    """A settlement year as four digits (2025)."""

    default_error_messages = {
        "required": "请指定结算年度（YYYY，例如 2025）。",
        "invalid": "年度无效，应为四位年份，例如 2025。",
        "min_value": "年度无效，应为四位年份，例如 2025。",
        "max_value": "年度无效，应为四位年份，例如 2025。",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "结算年度 YYYY，例如 2025")
        super().__init__(min_value=2000, max_value=2100, **kwargs)


class PointsInputField(AmountInputField):
    """Points as typed ("85.5") or a JSON number (kept exact); the score service parses and checks them."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "分值，字符串或数字，最多两位小数；年度考核等基础分 0–100，其他加减分可为负数")
        super().__init__(**kwargs)


class AnnualMaterialOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text=" | ".join(AnnualMaterialKind.values))
    kind_label = serializers.CharField(source="get_kind_display")
    original_name = serializers.CharField()
    size = serializers.IntegerField(help_text="字节")
    uploaded_by = UserBriefOutputSerializer()
    uploaded_at = serializers.DateTimeField()
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, material) -> str:
        # The page route serves the file; it checks the caller's scope the same way.
        return reverse("settlement:annual_material", args=[material.pk])


class AnnualApplicationOutputSerializer(serializers.Serializer):
    """An institution's application for the annual settlement (W§28: by the end of January)."""

    id = serializers.IntegerField()
    institution = InstitutionBriefOutputSerializer()
    year = serializers.IntegerField()
    status = serializers.CharField(help_text=" | ".join(AnnualApplicationStatus.values))
    status_label = serializers.CharField(source="get_status_display")
    late = serializers.BooleanField(help_text="逾期（1月31日后由经办人员代为提交）")
    note = serializers.CharField()
    submitted_by = UserBriefOutputSerializer()
    submitted_at = serializers.DateTimeField()
    reviewed_by = UserBriefOutputSerializer(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    review_note = serializers.CharField(help_text="受理意见；退回时写明须补正的内容")
    url = serializers.SerializerMethodField()

    def get_url(self, application) -> str:
        return reverse("api:annual-application-detail", args=[application.pk])


class ApplicationWindowOutputSerializer(serializers.Serializer):
    opens = serializers.DateField(help_text="次年1月1日")
    closes = serializers.DateField(help_text="次年1月31日（含）")


class AnnualApplicationDetailOutputSerializer(AnnualApplicationOutputSerializer):
    materials = AnnualMaterialOutputSerializer(many=True, source="materials.all")
    window = serializers.SerializerMethodField(help_text="协议机构自行申请的期限")

    @extend_schema_field(ApplicationWindowOutputSerializer)
    def get_window(self, application):
        from .services.annual_applications import application_window  # noqa: PLC0415

        opens, closes = application_window(application.year)
        return ApplicationWindowOutputSerializer({"opens": opens, "closes": closes}).data


class ScoreComponentOutputSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=" | ".join(ComponentKind.values))
    kind_label = serializers.CharField(source="get_kind_display")
    label = serializers.CharField()
    points = serializers.DecimalField(max_digits=6, decimal_places=2, help_text="违规扣分为负数")
    source_label = serializers.CharField(help_text="来源，如违规案件编号")
    note = serializers.CharField()


class ScoreOutputSerializer(serializers.Serializer):
    """An institution's year: its deposits and its assessment score with the components (or none yet).
    Rendered from {"institution", "year", "deposit_total", "score"} (score: AssessmentScore or None)."""

    institution = InstitutionBriefOutputSerializer()
    year = serializers.IntegerField()
    deposit_total = TotalField(help_text="该年度各月预留质量保证金合计（含未审批月份）")
    total = serializers.DecimalField(
        max_digits=5, decimal_places=2, source="score.total", allow_null=True, default=None,
        help_text="考核得分 0–100；空＝尚无考核得分（年度结算不结算该机构）",
    )
    components = serializers.SerializerMethodField()
    updated_by = UserBriefOutputSerializer(source="score.updated_by", allow_null=True, default=None)
    updated_at = serializers.DateTimeField(source="score.updated_at", allow_null=True, default=None)
    url = serializers.SerializerMethodField()

    @extend_schema_field(ScoreComponentOutputSerializer(many=True))
    def get_components(self, obj):
        score = obj["score"]
        return ScoreComponentOutputSerializer(score.components.all() if score else [], many=True).data

    def get_url(self, obj) -> str:
        return reverse("api:score-detail", args=[obj["year"], obj["institution"].pk])


class UsedComponentOutputSerializer(serializers.Serializer):
    """A score component as the annual settlement used it (stored with the row)."""

    kind = serializers.CharField(help_text=" | ".join(ComponentKind.values))
    kind_label = serializers.SerializerMethodField()
    label = serializers.CharField()
    points = serializers.DecimalField(max_digits=6, decimal_places=2)
    source = serializers.CharField(default="", help_text="来源，如违规案件编号")
    note = serializers.CharField(default="")

    def get_kind_label(self, component) -> str:
        kind = component.get("kind", "")
        return str(ComponentKind(kind).label) if kind in ComponentKind.values else kind


class AnnualSettlementOutputSerializer(serializers.Serializer):
    """An institution's annual deposit settlement: released = round_half_up(deposit_total × score / 100),
    forfeited = deposit_total − released; the months and the score components as they were used."""

    id = serializers.IntegerField()
    institution = InstitutionBriefOutputSerializer()
    agency = AgencyBriefOutputSerializer(source="batch.agency")
    year = serializers.IntegerField()
    deposit_total = MoneyField(help_text="保证金总额 = 该年度各月预留质量保证金之和")
    monthly_deposits = serializers.DictField(child=MoneyField(), help_text="{YYYY-MM: 该月质量保证金}")
    unapproved_months = serializers.ListField(child=serializers.CharField(), help_text="计算时尚未审批的月份")
    score = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="考核得分 0–100")
    score_components = UsedComponentOutputSerializer(many=True)
    released = MoneyField(help_text="返还金额")
    forfeited = MoneyField(help_text="扣留金额")
    frozen = serializers.BooleanField(help_text="该年度已审批（冻结）")
    computed_at = serializers.DateTimeField()
    statement_url = serializers.SerializerMethodField()

    def get_statement_url(self, row) -> str:
        return reverse("api:annual-settlement-statement", args=[row.pk])


class AnnualBatchOutputSerializer(serializers.Serializer):
    """An agency's year (AnnualBatch) with the totals of its rows."""

    id = serializers.IntegerField()
    year = serializers.IntegerField()
    agency = AgencyBriefOutputSerializer()
    status = serializers.CharField(help_text=" | ".join(BatchStatus.values))
    status_label = serializers.CharField(source="get_status_display")
    frozen = serializers.BooleanField()
    calculated_at = serializers.DateTimeField(allow_null=True)
    approved_by = UserBriefOutputSerializer(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    institution_count = serializers.IntegerField(help_text="结算的协议机构数")
    deposit_total = TotalField()
    released = TotalField()
    forfeited = TotalField()


class AnnualApproveOutputSerializer(serializers.Serializer):
    message = serializers.CharField()
    batch = AnnualBatchOutputSerializer()


class ScoreImportRejectionOutputSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="文件中的行号（表头为第1行）")
    reason = serializers.CharField()


class ScoreImportReportOutputSerializer(serializers.Serializer):
    """ScoreImportReport.as_dict(): the same counts import_assessment_scores prints."""

    year = serializers.IntegerField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    rejections = ScoreImportRejectionOutputSerializer(many=True)


# input


class AnnualApplicationFilterSerializer(serializers.Serializer):
    year = YearField(required=False)
    institution = serializers.IntegerField(required=False, help_text="机构 ID")
    status = serializers.ChoiceField(choices=AnnualApplicationStatus.choices, required=False, allow_blank=True)


class AnnualApplicationInputSerializer(serializers.Serializer):
    """Mirrors the page's AnnualApplicationForm. Both documents are required unless already on file
    (a returned application is completed without uploading them again)."""

    institution = serializers.IntegerField(
        required=False, allow_null=True, help_text="机构 ID：经办人员代为提交时必填；机构管理员为本机构"
    )
    year = YearField()
    declaration_form = serializers.FileField(required=False, help_text="结算申报表")
    cost_report = serializers.FileField(required=False, help_text="费用情况分析报告")
    other = serializers.FileField(required=False, help_text="其他材料")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class AnnualDecisionInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[("accept", "受理"), ("return", "退回补正")])
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000, help_text="退回时必填")


class YearFilterSerializer(serializers.Serializer):
    year = YearField()


class ScoreComponentInputSerializer(serializers.Serializer):
    kind = serializers.CharField(
        required=False, default="assessment",
        help_text="assessment | supervision | imported | other（违规扣分由违规处理决定计入，不能在此录入）",
    )
    points = PointsInputField()
    label = serializers.CharField(required=False, allow_blank=True, default="", max_length=100, help_text="空＝类型名称")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ScoreSetInputSerializer(serializers.Serializer):
    components = ScoreComponentInputSerializer(
        many=True, allow_empty=False, help_text="替换手工录入的各项得分；违规扣分保留",
    )


class ScoreImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="考核得分文件：CSV（UTF-8）或 XLSX，列：机构编码, 年度, 考核得分（可有 机构名称）")
    year = YearField()


class AnnualSettlementFilterSerializer(serializers.Serializer):
    year = YearField(required=False)
    institution = serializers.IntegerField(required=False, help_text="机构 ID")


class AnnualBatchFilterSerializer(serializers.Serializer):
    year = YearField(required=False)
    agency = serializers.IntegerField(required=False, help_text="经办机构 ID")


class AnnualExportInputSerializer(serializers.Serializer):
    year = YearField()
    format = serializers.ChoiceField(choices=EXPORT_FORMATS)


class AnnualApproveInputSerializer(serializers.Serializer):
    year = YearField()
    agency = serializers.IntegerField(required=False, allow_null=True, help_text="经办机构 ID；默认为本人所在经办机构")
    expected_released = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True,
        help_text="页面上显示的返还合计；与重算结果不符则 409 stale，不审批",
    )


class AnnualRunCreateInputSerializer(serializers.Serializer):
    year = YearField()
    agency = serializers.IntegerField(required=False, allow_null=True, help_text="经办机构 ID；空＝本人范围内的全部经办机构")
