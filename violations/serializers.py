"""API serializers for the violation cases (HackSoft style, as agreements/serializers.py): output
serializers only render, input serializers only validate; the case services decide every rule.

What an institution administrator may read of its own case is decided by the selectors
(selectors.sees_internals, events_for, evidence_for), handed in through the context: the detail
never carries the investigation notes, the agency's evidence or the internal steps for it.
Amounts go out as strings (MoneyField), never floats; choice fields on output are plain strings
plus a `*_label`, as in the other APIs.
"""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agreements.models import AgreementStatus
from agreements.serializers import TerminationOutputSerializer
from institutions.serializers import InstitutionBriefOutputSerializer, UserBriefOutputSerializer
from settlement.models import Category, LineStatus
from settlement.serializers import AmountInputField, MoneyField, MonthField, TotalField

from . import selectors
from .models import (
    AppealKind,
    AppealOutcome,
    CaseSource,
    CaseStatus,
    MeasureKind,
    RectificationStatus,
)
from .services.actions import ACTIONS
from .services.deadlines import is_overdue

QUEUES = {
    "mine": "我立案的",
    "decide": "待我决定的（非本人立案）",
    "overdue": "已逾期（说明或整改）",
    "open": "未结案",
}

# ---- output ------------------------------------------------------------------------------------


class MeasureOutputSerializer(serializers.Serializer):
    """A measure a decision may take (data maintained by the administrator), with its article."""

    code = serializers.CharField()
    kind = serializers.CharField(help_text=" | ".join(MeasureKind.values))
    kind_label = serializers.CharField(source="get_kind_display")
    label = serializers.CharField()
    article = serializers.CharField(help_text="依据条款")
    score_points = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="默认考核扣分")


class AgreementBriefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    type = serializers.CharField()
    status = serializers.CharField(help_text=" | ".join(AgreementStatus.values))
    status_label = serializers.CharField(source="get_status_display")


class CaseListOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(help_text="案件编号")
    institution = InstitutionBriefOutputSerializer()
    agreement = AgreementBriefOutputSerializer(allow_null=True, help_text="暂停、解除协议等措施作用于此协议")
    source = serializers.CharField(help_text=" | ".join(CaseSource.values))
    source_label = serializers.CharField(source="get_source_display")
    title = serializers.CharField(help_text="案由")
    status = serializers.CharField(help_text=" | ".join(CaseStatus.values))
    status_label = serializers.CharField(source="get_status_display")
    opened_by = UserBriefOutputSerializer()
    opened_at = serializers.DateTimeField()
    explanation_due = serializers.DateField(allow_null=True, help_text="说明期限（医疗协议第三十五条）")
    explanation_overdue = serializers.SerializerMethodField(help_text="已过说明期限而未说明")
    decided_by = UserBriefOutputSerializer(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    revision = serializers.IntegerField(help_text="办理时作为 expected_revision 提交，防止覆盖他人的修改")
    url = serializers.SerializerMethodField()

    def get_explanation_overdue(self, case) -> bool:
        return is_overdue(case)

    def get_url(self, case) -> str:
        return reverse("api:case-detail", args=[case.pk])


class CaseLineOutputSerializer(serializers.Serializer):
    """A declared line the case concerns (the full line: api:line-detail)."""

    id = serializers.IntegerField()
    period = MonthField(source="declaration.period")
    card_no = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField(help_text=" | ".join(Category.values))
    category_label = serializers.CharField(source="get_category_display")
    visit_date = serializers.DateField()
    in_scope = MoneyField()
    approved_amount = MoneyField(allow_null=True)
    status = serializers.CharField(help_text=" | ".join(LineStatus.values))
    status_label = serializers.CharField(source="get_status_display")


class DecisionMeasureOutputSerializer(serializers.Serializer):
    """One measure of the decision and what it took effect on."""

    id = serializers.IntegerField()
    measure = serializers.CharField(source="measure.code", help_text="措施代码（见 measures/）")
    kind = serializers.CharField(source="measure.kind", help_text=" | ".join(MeasureKind.values))
    label = serializers.CharField(source="measure.label")
    article = serializers.CharField(source="measure.article", help_text="依据条款")
    amount = MoneyField(allow_null=True, help_text="不予支付、追回或罚款的金额")
    defrauded_amount = MoneyField(allow_null=True, help_text="罚款：骗取金额")
    deadline = serializers.DateField(allow_null=True, help_text="限期整改：整改期限")
    note = serializers.CharField()
    effect = serializers.CharField(help_text="执行结果")
    deduction = serializers.IntegerField(source="deduction_id", allow_null=True, help_text="登记的应收抵扣 ID")
    hold = serializers.IntegerField(source="hold_id", allow_null=True, help_text="暂缓支付 ID")


class RectificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    requirement = serializers.CharField(help_text="整改要求")
    deadline = serializers.DateField()
    status = serializers.CharField(help_text=" | ".join(RectificationStatus.values))
    status_label = serializers.CharField(source="get_status_display")
    report = serializers.CharField(help_text="协议机构的整改报告")
    reported_at = serializers.DateTimeField(allow_null=True)
    verified_by = UserBriefOutputSerializer(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)
    verify_note = serializers.CharField()
    report_url = serializers.SerializerMethodField(help_text="协议机构报告整改情况（POST）")

    def get_report_url(self, rectification) -> str:
        return reverse("api:rectification-report", args=[rectification.pk])


class AppealOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text=" | ".join(AppealKind.values))
    kind_label = serializers.CharField(source="get_kind_display")
    filed_on = serializers.DateField()
    authority = serializers.CharField()
    outcome = serializers.CharField(help_text=" | ".join(AppealOutcome.values))
    outcome_label = serializers.CharField(source="get_outcome_display")
    outcome_on = serializers.DateField(allow_null=True)
    note = serializers.CharField()
    recorded_by = UserBriefOutputSerializer()
    recorded_at = serializers.DateTimeField()


class EvidenceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    original_name = serializers.CharField()
    size = serializers.IntegerField(help_text="字节")
    note = serializers.CharField()
    internal = serializers.BooleanField(help_text="经办机构的证据（协议机构不可见）；false：协议机构说明的附件")
    uploaded_by = UserBriefOutputSerializer()
    uploaded_at = serializers.DateTimeField()
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, evidence) -> str:
        # The page route serves the file; it checks the caller's scope the same way.
        return reverse("violations:evidence_download", args=[evidence.pk])


class CaseEventOutputSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()
    actor = UserBriefOutputSerializer(allow_null=True)
    at = serializers.DateTimeField()
    note = serializers.CharField()
    internal = serializers.BooleanField(help_text="仅经办人员和稽核人员可见的步骤")


class _NoteListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        return super().to_representation(data.select_related("author"))  # data: the case's notes manager


class InvestigationNoteOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    author = UserBriefOutputSerializer()
    at = serializers.DateTimeField()

    class Meta:
        list_serializer_class = _NoteListSerializer


class CaseDetailOutputSerializer(CaseListOutputSerializer):
    """The case with everything the caller may read of it. context["user"] is the caller: the
    evidence and the timeline come through the selectors, and `notes` is left out entirely for
    an institution administrator (selectors.sees_internals)."""

    description = serializers.CharField(help_text="问题描述")
    lines = CaseLineOutputSerializer(many=True, source="lines.all", help_text="涉及的申报明细")
    notice_text = serializers.CharField(help_text="通知内容")
    notified_at = serializers.DateTimeField(allow_null=True)
    explanation = serializers.CharField(help_text="协议机构的说明")
    explained_at = serializers.DateTimeField(allow_null=True)
    explained_by = UserBriefOutputSerializer(allow_null=True)
    decision_summary = serializers.CharField(help_text="处理决定")
    legal_basis = serializers.CharField(help_text="处理依据")
    score_points = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True, help_text="考核扣分")
    measures = DecisionMeasureOutputSerializer(many=True, source="measures.all", help_text="决定的处理措施")
    rectifications = RectificationOutputSerializer(many=True, source="rectifications.all")
    appeals = AppealOutputSerializer(many=True, source="appeals.all", help_text="行政复议与行政诉讼")
    closed_by = UserBriefOutputSerializer(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    closing_note = serializers.CharField()
    evidence = serializers.SerializerMethodField(help_text="证据材料；协议机构只看到自己说明的附件")
    events = serializers.SerializerMethodField(help_text="时间线；协议机构看不到内部步骤")
    # Not read-only, so that the schema does not list it as always present.
    notes = InvestigationNoteOutputSerializer(
        many=True, required=False, help_text="调查记录：仅经办人员和稽核人员的响应中有此字段，协议机构管理员的响应中没有"
    )

    @extend_schema_field(EvidenceOutputSerializer(many=True))
    def get_evidence(self, case):
        return EvidenceOutputSerializer(selectors.evidence_for(self.context["user"], case), many=True).data

    @extend_schema_field(CaseEventOutputSerializer(many=True))
    def get_events(self, case):
        return CaseEventOutputSerializer(selectors.events_for(self.context["user"], case), many=True).data

    def to_representation(self, case):
        if not selectors.sees_internals(self.context["user"]):
            # Not rendered at all (not merely emptied): the notes are never read for the institution.
            self.fields.pop("notes", None)
        return super().to_representation(case)


class CaseActionOutputSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="办理结果；作出处理决定时列出各项措施的执行结果")
    case = CaseDetailOutputSerializer()


# ---- statistics and the public list ------------------------------------------------------------


class InstitutionCountOutputSerializer(serializers.Serializer):
    code = serializers.CharField(source="institution__code")
    name = serializers.CharField(source="institution__name")
    total = serializers.IntegerField(help_text="立案数")
    open = serializers.IntegerField(help_text="未结案数")
    decided = serializers.IntegerField(help_text="已作出处理决定数")


class MeasureCountOutputSerializer(serializers.Serializer):
    kind = serializers.CharField(source="measure__kind", help_text=" | ".join(MeasureKind.values))
    label = serializers.CharField(source="measure__label")
    n = serializers.IntegerField(help_text="决定次数")
    amount = TotalField(help_text="金额合计")


class MonthCountOutputSerializer(serializers.Serializer):
    month = MonthField(help_text="作出决定的月份 YYYY-MM")
    n = serializers.IntegerField(help_text="决定数")
    points = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True, help_text="考核扣分合计")


class SourceCountOutputSerializer(serializers.Serializer):
    source = serializers.CharField(help_text=" | ".join(CaseSource.values))
    source_label = serializers.SerializerMethodField()
    n = serializers.IntegerField()

    def get_source_label(self, row) -> str:
        return str(CaseSource(row["source"]).label)


class StatisticsOutputSerializer(serializers.Serializer):
    year = serializers.IntegerField(allow_null=True, help_text="统计年度；空＝全部")
    total = serializers.IntegerField(help_text="立案数（该年度立案）")
    decided = serializers.IntegerField(help_text="作出处理决定数（该年度决定）")
    by_institution = InstitutionCountOutputSerializer(many=True)
    by_measure = MeasureCountOutputSerializer(many=True)
    by_month = MonthCountOutputSerializer(many=True)
    by_source = SourceCountOutputSerializer(many=True)


class DishonestOutputSerializer(serializers.Serializer):
    """列入社会保险严重失信人名单 (R§28, D§30): published without login."""

    institution_code = serializers.CharField(source="institution.code")
    institution_name = serializers.CharField(source="institution.name")
    case_number = serializers.CharField(source="case.number")
    listed_on = serializers.DateField()
    basis = serializers.CharField(help_text="依据条款")
    reason = serializers.CharField(help_text="事由（案由）")


class PublicListingsOutputSerializer(serializers.Serializer):
    terminations = TerminationOutputSerializer(many=True, help_text="解除协议公示（医疗协议第四十三条）")
    dishonest = DishonestOutputSerializer(many=True, help_text="严重失信人名单（康复协议第二十八条、辅助器具协议第三十条）")


# ---- input -------------------------------------------------------------------------------------


class CaseFilterSerializer(serializers.Serializer):
    """Query parameters of the queue (see selectors.case_queue); the same as the page's."""

    q = serializers.CharField(required=False, allow_blank=True, help_text="案件编号、案由或机构名称（包含）")
    status = serializers.ChoiceField(choices=CaseStatus.choices, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=CaseSource.choices, required=False, allow_blank=True)
    institution = serializers.IntegerField(required=False, help_text="机构 ID")
    queue = serializers.ChoiceField(
        choices=list(QUEUES.items()), required=False, allow_blank=True,
        help_text="mine：我立案的；decide：待我决定的；overdue：已逾期；open：未结案",
    )


class CaseCreateInputSerializer(serializers.Serializer):
    institution = serializers.IntegerField(help_text="机构 ID（不在本人范围内则 404）")
    agreement = serializers.IntegerField(
        required=False, allow_null=True, help_text="涉及的协议 ID：机构有多份生效协议时，暂停或解除协议须指定"
    )
    source = serializers.ChoiceField(choices=CaseSource.choices)
    title = serializers.CharField(max_length=200, help_text="案由")
    description = serializers.CharField(max_length=10000, help_text="问题描述")
    lines = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, max_length=1000,
        help_text="涉及的申报明细 ID（不在本人范围内则 404）",
    )


class MeasureItemInputSerializer(serializers.Serializer):
    measure = serializers.CharField(max_length=30, help_text="措施代码（见 measures/）")
    amount = AmountInputField(
        required=False, allow_blank=True, allow_null=True, default=None,
        help_text="不予支付、追回：金额；罚款：罚款金额（骗取金额的2至5倍）",
    )
    defrauded_amount = AmountInputField(required=False, allow_blank=True, allow_null=True, default=None, help_text="罚款：骗取金额")
    deadline = serializers.DateField(required=False, allow_null=True, default=None, help_text="限期整改：整改期限")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000, help_text="限期整改：整改要求")


class CaseActionInputSerializer(serializers.Serializer):
    """One action (services.actions.perform_case_action); each action reads the fields it needs."""

    action = serializers.ChoiceField(choices=list(ACTIONS.items()))
    expected_revision = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, default=None,
        help_text="打开时案件的 revision；已被他人修改则 409 stale（notify、decide）",
    )
    notice_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000, help_text="notify：通知内容")
    explanation_due = serializers.DateField(required=False, allow_null=True, default=None,
                                            help_text="notify：说明期限，至少3日后")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000,
                                 help_text="note：调查记录；investigate、lift_deferral、verify_rectification、close、appeal、appeal_outcome：说明")
    measures = MeasureItemInputSerializer(many=True, required=False, default=list, help_text="decide：处理措施")
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000, help_text="decide：处理决定")
    legal_basis = serializers.CharField(required=False, allow_blank=True, default="", max_length=300, help_text="decide：处理依据")
    score_points = AmountInputField(
        required=False, allow_blank=True, allow_null=True, default=None,
        help_text="decide：考核扣分（0–100）；空＝各项措施的默认扣分之和",
    )
    rectification = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="verify_rectification：整改 ID")
    accepted = serializers.BooleanField(required=False, default=False, help_text="verify_rectification：整改到位")
    kind = serializers.ChoiceField(choices=AppealKind.choices, required=False, allow_blank=True, default="",
                                   help_text="appeal：行政复议或行政诉讼")
    filed_on = serializers.DateField(required=False, allow_null=True, default=None, help_text="appeal：提起日期")
    authority = serializers.CharField(required=False, allow_blank=True, default="", max_length=200, help_text="appeal：受理机关")
    appeal = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="appeal_outcome：复议或诉讼 ID")
    outcome = serializers.ChoiceField(choices=AppealOutcome.choices, required=False, allow_blank=True, default="",
                                      help_text="appeal_outcome：结果")
    outcome_on = serializers.DateField(required=False, allow_null=True, default=None, help_text="appeal_outcome：结果日期")

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        # The services read plain dicts (item.get(...)), as the page hands them over.
        values["measures"] = [dict(item) for item in values.get("measures") or []]
        return values


class CaseExplanationInputSerializer(serializers.Serializer):
    explanation = serializers.CharField(max_length=20000, help_text="协议机构的说明")
    files = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=20,
        help_text="说明的附件（multipart）；经办机构和本机构可见",
    )
    expected_revision = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)


class EvidenceInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="证据材料（协议机构不可见）")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class RectificationReportInputSerializer(serializers.Serializer):
    report = serializers.CharField(max_length=20000, help_text="整改情况报告")


class StatisticsFilterSerializer(serializers.Serializer):
    year = serializers.IntegerField(required=False, allow_null=True, min_value=2000, max_value=2100,
                                    help_text="年度：按机构、来源统计该年立案的案件；按措施、月份统计该年作出的决定")
