from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from .models import (
    ChangeFiling,
    DesignationApplication,
    DesignationType,
    HandlingAgency,
    MaterialKind,
    Ownership,
    ProfitCategory,
)


def translated_choices(choices):
    """Choices whose labels stay plain Chinese in the models (see the note above Ownership in
    institutions/models.py), translated only when a form shows them (ADR 0004)."""
    return [(value, _(label)) for value, label in choices]


class RegistryImportForm(forms.Form):
    type = forms.ChoiceField(label=_("名单类型"), choices=translated_choices(DesignationType.choices))
    as_of = forms.RegexField(
        label=_("名单日期（YYYY-MM）"), regex=r"^\d{4}-(0[1-9]|1[0-2])$", required=False,
        error_messages={"invalid": _("请按 YYYY-MM 填写，例如 2026-03。")},
    )
    file = forms.FileField(label=_("名单文件（CSV UTF-8 或 XLSX）"))


class ChangeFilingForm(forms.Form):
    """One field per fileable attribute, pre-filled with the current value; only changes are filed."""

    name = forms.CharField(label=_("机构名称"), max_length=200)
    legal_representative = forms.CharField(label=_("法定代表人"), max_length=50, required=False)
    address = forms.CharField(label=_("地址"), max_length=300, required=False)
    postal_code = forms.RegexField(label=_("邮政编码"), regex=r"^\d{6}$", required=False,
                                   error_messages={"invalid": _("邮政编码应为6位数字。")})
    phones = forms.CharField(label=_("联系电话"), max_length=200, required=False, help_text=_("多个号码用“/”分隔"))
    grade = forms.CharField(label=_("医疗等级"), max_length=30, required=False)
    ownership = forms.ChoiceField(label=_("医院属性（所有制形式）"), choices=[("", "—")] + translated_choices(Ownership.choices), required=False)
    profit_category = forms.ChoiceField(label=_("经营类别"), choices=[("", "—")] + translated_choices(ProfitCategory.choices), required=False)
    supervising_department = forms.CharField(label=_("主管部门"), max_length=100, required=False)
    reason = forms.CharField(label=_("变更原因"), widget=forms.Textarea(attrs={"rows": 3}))
    effective_date = forms.DateField(label=_("变更生效日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    @classmethod
    def for_institution(cls, institution, data=None):
        initial = {f: getattr(institution, f) for f in ChangeFiling.FILEABLE_FIELDS}
        initial["phones"] = "/".join(institution.phones)
        return cls(data=data, initial=initial)

    def changes(self) -> dict:
        return {f: self.cleaned_data[f] for f in ChangeFiling.FILEABLE_FIELDS}


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("同意备案")), ("reject", _("退回"))])
    note = forms.CharField(label=_("审核意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class VerifyForm(forms.Form):
    note = forms.CharField(label=_("核实说明"), widget=forms.Textarea(attrs={"rows": 2}))


class ApplicationForm(forms.ModelForm):
    class Meta:
        model = DesignationApplication
        fields = [
            "type", "applicant_name", "uscc", "address", "division_code", "phone", "contact_person",
            "grade", "ownership", "agency", "is_branch",
        ]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = HandlingAgency.objects.all()
        for name in ("type", "ownership"):
            self.fields[name].choices = translated_choices(self.fields[name].choices)
        if user is not None and user.is_institution_admin and user.institution_id:
            inst = user.institution
            for f, v in {"applicant_name": inst.name, "uscc": inst.legal_entity.uscc, "address": inst.address,
                         "division_code": inst.division_code, "phone": "/".join(inst.phones),
                         "grade": inst.grade, "ownership": inst.ownership, "agency": inst.agency_id}.items():
                self.fields[f].initial = v

    def clean_division_code(self):
        code = self.cleaned_data["division_code"].strip()
        if not (len(code) == 6 and code.isdigit()):
            raise forms.ValidationError(gettext("行政区划代码应为6位数字。"))
        return code

    def clean_uscc(self):
        from core.uscc import validate_uscc

        code = "".join(self.cleaned_data["uscc"].split())
        check = validate_uscc(code)
        if not check.ok:
            raise forms.ValidationError(check.reason)
        return code


class MaterialForm(forms.Form):
    kind = forms.ChoiceField(label=_("材料类型"), choices=translated_choices(MaterialKind.choices))
    file = forms.FileField(label=_("文件（PDF、PNG 或 JPG）"))


# The action labels come from institutions.services.applications.TRANSITIONS (plain Chinese, also
# used in its error messages); marked here so that the catalogue holds them for the detail page.
ACTION_LABELS = (
    gettext_noop("开始资格审查"),
    gettext_noop("审查通过"),
    gettext_noop("审查不通过"),
    gettext_noop("登记签约"),
    gettext_noop("向社会公布"),
)


class AdvanceForm(forms.Form):
    action = forms.CharField()
    note = forms.CharField(label=_("意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    expected_status = forms.CharField(required=False)
