"""API serializers for the agreements (HackSoft style, as institutions/serializers.py): output
serializers only render, input serializers only validate; the lifecycle services decide."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from institutions.models import DesignationType
from institutions.serializers import AgencyBriefOutputSerializer, InstitutionBriefOutputSerializer, UserBriefOutputSerializer

from .models import Agreement, AgreementStatus, Party, TerminationKind
from .services.lifecycle import available_actions

ACTIONS = ("sign", "suspend", "resume", "notice", "terminate", "renew", "complete_term")

# ---- output ------------------------------------------------------------------------------------


class PartyOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    representative = serializers.CharField()
    address = serializers.CharField()
    postal_code = serializers.CharField()
    phone = serializers.CharField()


class AgreementListOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    type = serializers.CharField(help_text=" | ".join(DesignationType.values))
    type_label = serializers.CharField(source="get_type_display")
    status = serializers.CharField(help_text=" | ".join(AgreementStatus.values))
    status_label = serializers.CharField(source="get_status_display")
    institution = InstitutionBriefOutputSerializer()
    agency = AgencyBriefOutputSerializer()
    party_b_name = serializers.CharField()
    valid_from = serializers.DateField(allow_null=True)
    valid_to = serializers.DateField(allow_null=True)
    term_pending = serializers.BooleanField(help_text="名单导入的协议未载明期限，待经办人员补全")
    signed_on = serializers.DateField(allow_null=True)
    revision = serializers.IntegerField(help_text="办理时作为 expected_revision 提交，防止覆盖他人的修改")


class AgreementEventOutputSerializer(serializers.Serializer):
    action = serializers.CharField()
    action_label = serializers.CharField(source="get_action_display")
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    on = serializers.DateField()
    actor = UserBriefOutputSerializer(allow_null=True)
    reason = serializers.CharField()
    at = serializers.DateTimeField()


class SignedScanOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    original_name = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_by = UserBriefOutputSerializer()
    uploaded_at = serializers.DateTimeField()
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, scan) -> str:
        # The page route serves the file; it checks the caller's scope the same way.
        return reverse("agreements:scan_download", args=[scan.pk])


class AvailableActionOutputSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()
    allowed = serializers.BooleanField()
    reason = serializers.CharField(help_text="不可办理的原因；可办理时为空")


class AgreementDetailOutputSerializer(AgreementListOutputSerializer):
    template_version = serializers.CharField()
    party_a = serializers.SerializerMethodField()
    party_b = serializers.SerializerMethodField()
    leader_name = serializers.CharField()
    managers = serializers.ListField(child=serializers.CharField())
    from_registry = serializers.BooleanField()
    predecessor = serializers.IntegerField(source="predecessor_id", allow_null=True, help_text="续签自的协议 ID")
    successor = serializers.SerializerMethodField(help_text="续签生成的协议 ID")
    notice_by = serializers.CharField()
    notice_given_on = serializers.DateField(allow_null=True)
    notice_effective_on = serializers.DateField(allow_null=True)
    notice_reason = serializers.CharField()
    termination_kind = serializers.CharField()
    terminated_on = serializers.DateField(allow_null=True)
    termination_reason = serializers.CharField()
    available_actions = serializers.SerializerMethodField()
    events = AgreementEventOutputSerializer(many=True, source="events.all")
    scans = SignedScanOutputSerializer(many=True, source="scans.all")
    pdf_url = serializers.SerializerMethodField()

    @extend_schema_field(PartyOutputSerializer)
    def get_party_a(self, agreement):
        return PartyOutputSerializer(agreement.party("A")).data

    @extend_schema_field(PartyOutputSerializer)
    def get_party_b(self, agreement):
        return PartyOutputSerializer(agreement.party("B")).data

    def get_successor(self, agreement) -> int | None:
        successor = Agreement.objects.filter(predecessor=agreement).only("pk").first()
        return successor.pk if successor else None

    @extend_schema_field(AvailableActionOutputSerializer(many=True))
    def get_available_actions(self, agreement):
        rows = [
            {"action": action, "label": str(label), "allowed": not reason, "reason": reason}
            for action, label, reason in available_actions(agreement)
        ]
        return AvailableActionOutputSerializer(rows, many=True).data

    def get_pdf_url(self, agreement) -> str:
        return reverse("api:agreement-pdf", args=[agreement.pk])


class AgreementActionOutputSerializer(serializers.Serializer):
    message = serializers.CharField()
    agreement = AgreementDetailOutputSerializer(help_text="办理后的协议；续签时为新生成的续签协议草稿")


class TerminationOutputSerializer(serializers.Serializer):
    """One row of the public list (M§43): who, which agreement, when and how — no internal reasons."""

    number = serializers.CharField()
    type = serializers.CharField()
    type_label = serializers.CharField(source="get_type_display")
    party_b_name = serializers.CharField()
    party_b_address = serializers.CharField()
    party_a_name = serializers.CharField()
    terminated_on = serializers.DateField()
    termination_kind = serializers.CharField(help_text=" | ".join(TerminationKind.values))
    termination_kind_label = serializers.CharField(source="get_termination_kind_display")
    barred_until = serializers.SerializerMethodField(help_text="违约解除：此日期前不得重新签订同类协议（乌海办法第三十四条）")

    def get_barred_until(self, agreement) -> str | None:
        bar = getattr(agreement, "bar", None)
        return bar.until.isoformat() if bar else None


# ---- input -------------------------------------------------------------------------------------


class AgreementFilterSerializer(serializers.Serializer):
    """Query parameters of the list (see selectors.agreement_list); the same as the page's."""

    q = serializers.CharField(required=False, allow_blank=True, help_text="协议编号或乙方名称")
    type = serializers.ChoiceField(choices=DesignationType.choices, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=AgreementStatus.choices, required=False, allow_blank=True)
    region = serializers.RegexField(
        r"^\d{6}$", required=False, allow_blank=True, help_text="行政区划代码；地市代码含其辖区",
        error_messages={"invalid": "行政区划代码应为6位数字。"},
    )
    expires_within = serializers.IntegerField(required=False, min_value=0, max_value=3650, help_text="N 天内到期（生效或暂停的协议）")
    term_pending = serializers.BooleanField(required=False, help_text="仅看期限待定的协议")


class AgreementCreateInputSerializer(serializers.Serializer):
    institution = serializers.IntegerField(help_text="机构 ID")
    type = serializers.ChoiceField(choices=DesignationType.choices)
    valid_from = serializers.DateField(required=False, allow_null=True)
    valid_to = serializers.DateField(required=False, allow_null=True)
    signed_on = serializers.DateField(required=False, allow_null=True)
    leader_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)
    managers = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)


class AgreementActionInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ACTIONS)
    expected_revision = serializers.IntegerField(min_value=1, help_text="打开时协议的 revision；已被他人修改则 409 stale")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    kind = serializers.ChoiceField(choices=TerminationKind.choices, required=False, allow_blank=True, default="",
                                   help_text="terminate：解除类型")
    by = serializers.ChoiceField(choices=Party.choices, required=False, allow_blank=True, default="",
                                 help_text="notice：提出解除的一方 A（甲方）或 B（乙方）")
    on = serializers.DateField(required=False, allow_null=True, help_text="办理日期，默认今天；不能晚于今天")
    effective_on = serializers.DateField(required=False, allow_null=True, help_text="notice：解除日期，不早于通知日起30日")
    valid_from = serializers.DateField(required=False, allow_null=True, help_text="complete_term")
    valid_to = serializers.DateField(required=False, allow_null=True, help_text="complete_term")
    signed_on = serializers.DateField(required=False, allow_null=True, help_text="complete_term")


class ScanInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="签章扫描件：PDF、PNG 或 JPG")
