"""Page forms of the agreements. They only parse input; the lifecycle services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from institutions.forms import translated_choices
from institutions.models import DesignationType

from .models import AgreementStatus, Party, TerminationKind

DATE = forms.DateInput(attrs={"type": "date", "style": "max-width: 12em"}, format="%Y-%m-%d")


def _split_managers(text: str) -> list[str]:
    """One manager per line (commas and the Chinese 、 also separate)."""
    for sep in ("，", ",", "、", "；", ";"):
        text = text.replace(sep, "\n")
    return [m.strip() for m in text.splitlines() if m.strip()]


class AgreementFilterForm(forms.Form):
    """Query parameters of the list (see selectors.agreement_list); bad values are ignored."""

    q = forms.CharField(required=False)
    type = forms.ChoiceField(required=False, choices=[("", "")] + list(DesignationType.choices))
    status = forms.ChoiceField(required=False, choices=[("", "")] + list(AgreementStatus.choices))
    region = forms.RegexField(required=False, regex=r"^\d{6}$")
    expires_within = forms.IntegerField(required=False, min_value=0, max_value=3650)
    term_pending = forms.BooleanField(required=False)

    def filters(self) -> dict:
        self.is_valid()  # the valid fields are used, an invalid one is dropped
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", False)}


class AgreementCreateForm(forms.Form):
    institution = forms.ModelChoiceField(label=_("乙方机构"), queryset=None)
    type = forms.ChoiceField(label=_("协议类型"), choices=translated_choices(DesignationType.choices))
    valid_from = forms.DateField(label=_("有效期起"), required=False, widget=DATE)
    valid_to = forms.DateField(label=_("有效期止"), required=False, widget=DATE)
    signed_on = forms.DateField(label=_("签订日期"), required=False, widget=DATE)
    # Required here: no page edits a draft's leader and managers after it is made, and signing needs them.
    leader_name = forms.CharField(label=_("乙方分管院领导"), max_length=50)
    managers = forms.CharField(
        label=_("乙方专（兼）职管理人员"), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每行一人，至少一人（医疗协议第四条、康复协议第四条）"),
    )

    def __init__(self, *args, institutions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions.order_by("code")
        self.fields["institution"].label_from_instance = lambda i: f"{i.code} {i.name}"

    def clean_managers(self) -> list[str]:
        managers = _split_managers(self.cleaned_data.get("managers") or "")
        if not managers:
            raise forms.ValidationError(_("请至少填写一名专（兼）职管理人员。"))
        return managers

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_to")
        if start and end and end < start:
            self.add_error("valid_to", _("有效期止不能早于有效期起。"))
        return data


class ActionForm(forms.Form):
    """One form for every lifecycle button; each action reads the fields it needs."""

    action = forms.ChoiceField(choices=[(a, a) for a in ("sign", "suspend", "resume", "notice", "terminate", "renew")])
    expected_revision = forms.IntegerField(min_value=1)
    reason = forms.CharField(required=False, max_length=2000)
    kind = forms.ChoiceField(required=False, choices=[("", "")] + list(TerminationKind.choices))
    by = forms.ChoiceField(required=False, choices=[("", "")] + list(Party.choices))
    effective_on = forms.DateField(required=False)


class CompleteTermForm(forms.Form):
    expected_revision = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    valid_from = forms.DateField(label=_("有效期起"), widget=DATE)
    valid_to = forms.DateField(label=_("有效期止"), widget=DATE)
    signed_on = forms.DateField(label=_("签订日期"), required=False, widget=DATE)


class ScanUploadForm(forms.Form):
    file = forms.FileField(label=_("签章扫描件（PDF、PNG 或 JPG）"))
