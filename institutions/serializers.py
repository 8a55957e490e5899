"""API serializers for the registry. Output and input are kept apart (HackSoft style):
output serializers only render, input serializers only validate; the services do the work.

Choice fields on output are plain strings plus a `*_label`, so the schema does not grow one
enum per model field with colliding names (status of a filing vs. of an application).
"""

from django.urls import reverse
from rest_framework import serializers

from core.uscc import validate_uscc

from .models import ApplicationStatus, DesignationType, FilingStatus, HandlingAgency, MaterialKind, Ownership
from .services.applications import TRANSITIONS, available_actions
from .services.registry_export import FORMATS

# ---- output ------------------------------------------------------------------------------------


class AgencyBriefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AgencyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.CharField()
    level_label = serializers.CharField(source="get_level_display")
    division_code = serializers.CharField()
    phone = serializers.CharField()
    address = serializers.CharField()
    postal_code = serializers.CharField()
    legal_representative = serializers.CharField()


class InstitutionBriefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class LegalEntityOutputSerializer(serializers.Serializer):
    uscc = serializers.CharField()
    name = serializers.CharField()
    uscc_valid = serializers.BooleanField()
    uscc_problem = serializers.CharField()


class DesignationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    type_label = serializers.CharField(source="get_type_display")
    agency = AgencyBriefOutputSerializer()
    agency_phone = serializers.CharField()
    seq_no = serializers.IntegerField(allow_null=True)
    as_of = serializers.DateField(allow_null=True)
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    designated_on = serializers.DateField(allow_null=True)


class InstitutionListOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    uscc = serializers.CharField(source="legal_entity.uscc")
    city_name = serializers.CharField()
    division_code = serializers.CharField()
    grade = serializers.CharField()
    ownership = serializers.CharField()
    agency = AgencyBriefOutputSerializer()
    needs_verification = serializers.BooleanField()
    designation_types = serializers.SerializerMethodField()

    def get_designation_types(self, inst) -> list[str]:
        # .all() so the selector's prefetch_related("designations") is used, not one query per row.
        return [d.type for d in inst.designations.all()]


class InstitutionDetailOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    legal_entity = LegalEntityOutputSerializer()
    uscc = serializers.CharField(source="legal_entity.uscc")
    uscc_valid = serializers.BooleanField(source="legal_entity.uscc_valid")
    agency = AgencyBriefOutputSerializer()
    city_name = serializers.CharField()
    division_code = serializers.CharField()
    address = serializers.CharField()
    postal_code = serializers.CharField()
    phones = serializers.ListField(child=serializers.CharField())
    grade = serializers.CharField()
    ownership = serializers.CharField()
    profit_category = serializers.CharField()
    legal_representative = serializers.CharField()
    supervising_department = serializers.CharField()
    needs_verification = serializers.BooleanField()
    verification_notes = serializers.CharField()
    designations = DesignationOutputSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class UserBriefOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField()


class FilingOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    institution = InstitutionBriefOutputSerializer()
    changes = serializers.DictField(help_text="{字段: {before, after}}")
    reason = serializers.CharField()
    effective_date = serializers.DateField(allow_null=True)
    status = serializers.CharField(help_text="pending | approved | rejected")
    status_label = serializers.CharField(source="get_status_display")
    submitted_by = UserBriefOutputSerializer()
    submitted_at = serializers.DateTimeField()
    decided_by = UserBriefOutputSerializer(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()


class MaterialOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    original_name = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_at = serializers.DateTimeField()
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, material) -> str:
        # The page route serves the file; it checks the caller's scope the same way.
        return reverse("institutions:material_download", args=[material.pk])


class ApplicationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    type_label = serializers.CharField(source="get_type_display")
    institution = InstitutionBriefOutputSerializer(allow_null=True)
    applicant_name = serializers.CharField()
    uscc = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField()
    contact_person = serializers.CharField()
    grade = serializers.CharField()
    ownership = serializers.CharField()
    division_code = serializers.CharField()
    agency = AgencyBriefOutputSerializer()
    is_branch = serializers.BooleanField()
    status = serializers.CharField(help_text=" | ".join(ApplicationStatus.values))
    status_label = serializers.CharField(source="get_status_display")
    submitted_by = UserBriefOutputSerializer()
    submitted_at = serializers.DateTimeField()
    review_note = serializers.CharField()
    reviewed_at = serializers.DateTimeField(allow_null=True)
    signed_on = serializers.DateField(allow_null=True)
    announced_on = serializers.DateField(allow_null=True)


class ApplicationDetailOutputSerializer(ApplicationOutputSerializer):
    materials = MaterialOutputSerializer(many=True, source="materials.all")
    available_actions = serializers.SerializerMethodField()

    def get_available_actions(self, app) -> list[str]:
        return [action for action, _ in available_actions(app)]


class ImportRowOutputSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    seq_no = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField(help_text="created | updated | unchanged | rejected")
    flags = serializers.ListField(child=serializers.CharField(), help_text="待核实原因")
    notes = serializers.ListField(child=serializers.CharField())
    institution_code = serializers.CharField()


class ImportReportOutputSerializer(serializers.Serializer):
    """ImportReport.as_dict(): the same counts and rows the import page and command print."""

    type = serializers.CharField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    flagged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    rows = ImportRowOutputSerializer(many=True)
    agencies_created = serializers.ListField(child=serializers.CharField())


# ---- input -------------------------------------------------------------------------------------


class InstitutionFilterSerializer(serializers.Serializer):
    """Query parameters of the institution list (see selectors.institution_list)."""

    q = serializers.CharField(required=False, allow_blank=True, help_text="名称、编码、信用代码或地址")
    region = serializers.CharField(required=False, allow_blank=True, help_text="行政区划代码；地市代码含其辖区")
    type = serializers.ChoiceField(choices=DesignationType.choices, required=False, allow_blank=True)
    grade = serializers.CharField(required=False, allow_blank=True)
    ownership = serializers.ChoiceField(choices=Ownership.choices, required=False, allow_blank=True)
    agency = serializers.IntegerField(required=False, help_text="经办机构 ID（属地或签约）")
    needs_verification = serializers.BooleanField(required=False)


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class RegistryImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV（UTF-8）或 XLSX")
    type = serializers.ChoiceField(choices=DesignationType.choices)
    as_of = serializers.RegexField(
        r"^\d{4}-(0[1-9]|1[0-2])$", required=False, allow_blank=True, help_text="名单日期 YYYY-MM",
        error_messages={"invalid": "请按 YYYY-MM 填写，例如 2026-03。"},
    )


class RegistryExportInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=DesignationType.choices)
    format = serializers.ChoiceField(choices=FORMATS)


class FilingFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=FilingStatus.choices, required=False, allow_blank=True)


class FilingCreateInputSerializer(serializers.Serializer):
    institution = serializers.IntegerField(help_text="机构 ID")
    changes = serializers.DictField(help_text="{字段: 新值}；可备案字段见 ChangeFiling.FILEABLE_FIELDS")
    reason = serializers.CharField()
    effective_date = serializers.DateField(required=False, allow_null=True)


class ApplicationFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ApplicationStatus.choices, required=False, allow_blank=True)


class ApplicationCreateInputSerializer(serializers.Serializer):
    """Mirrors the page's ApplicationForm; an institution administrator applies for their own."""

    type = serializers.ChoiceField(choices=DesignationType.choices)
    applicant_name = serializers.CharField(max_length=200)
    uscc = serializers.CharField(max_length=64)
    address = serializers.CharField(max_length=300)
    division_code = serializers.RegexField(r"^\d{6}$", error_messages={"invalid": "行政区划代码应为6位数字。"})
    phone = serializers.CharField(max_length=100)
    contact_person = serializers.CharField(max_length=50)
    grade = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    ownership = serializers.ChoiceField(choices=Ownership.choices, required=False, allow_blank=True, default="")
    agency = serializers.PrimaryKeyRelatedField(queryset=HandlingAgency.objects.all(), help_text="受理经办机构 ID")
    is_branch = serializers.BooleanField(required=False, default=False)

    def validate_uscc(self, value: str) -> str:
        code = "".join(value.split())
        check = validate_uscc(code)
        if not check.ok:
            raise serializers.ValidationError(check.reason)
        return code


class ApplicationAdvanceInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(TRANSITIONS))
    note = serializers.CharField(required=False, allow_blank=True, default="")
    expected_status = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="防并发：申请当前应处的状态，不符则 409"
    )


class MaterialInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=MaterialKind.choices)
    file = serializers.FileField(help_text="PDF、PNG 或 JPG")
