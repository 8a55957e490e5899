"""Page forms of the violation cases. They only parse input (dates as dates, the checked measures
as a list of dicts); services.cases checks every rule and its refusal is the message shown."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from institutions.forms import translated_choices

from .models import AppealKind, AppealOutcome, CaseSource, CaseStatus, Measure, MeasureKind

DATE = forms.DateInput(attrs={"type": "date", "style": "max-width: 12em"}, format="%Y-%m-%d")
AMOUNT = {"inputmode": "decimal", "style": "width: 9em", "placeholder": "0.00", "autocomplete": "off"}


def _textarea(rows=3, **attrs):
    return forms.Textarea(attrs={"rows": rows, "style": "width: 100%", **attrs})


# ---- the list and a new case ---------------------------------------------------------------------


class CaseFilterForm(forms.Form):
    """Query parameters of the work queue (see selectors.case_queue); a bad value is dropped."""

    q = forms.CharField(required=False, max_length=100)
    status = forms.ChoiceField(required=False, choices=[("", "")] + list(CaseStatus.choices))
    source = forms.ChoiceField(required=False, choices=[("", "")] + list(CaseSource.choices))
    institution = forms.IntegerField(required=False, min_value=1)
    queue = forms.ChoiceField(required=False, choices=[(q, q) for q in ("", "open", "decide", "mine", "overdue", "all")])

    def filters(self) -> dict:
        self.is_valid()  # the valid fields are used, an invalid one is dropped
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


LINE_SEPARATORS = re.compile(r"[\s,，、;；]+")


class CaseOpenForm(forms.Form):
    institution = forms.ModelChoiceField(label=_("协议机构"), queryset=None)
    agreement = forms.ModelChoiceField(
        label=_("涉及协议"), queryset=None, required=False,
        help_text=_("暂停、解除协议等措施作用于此协议；该机构只有一份生效协议时可不选"),
    )
    source = forms.ChoiceField(label=_("案件来源"), choices=[("", "——")] + translated_choices(CaseSource.choices))
    title = forms.CharField(label=_("案由"), max_length=200, widget=forms.TextInput(attrs={"size": 60}))
    description = forms.CharField(label=_("问题描述"), widget=_textarea(6))
    line_ids = forms.CharField(
        label=_("涉及的申报明细"), required=False, max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": _("例如：1201, 1202 1207"), "size": 40}),
        help_text=_("填写申报明细编号（明细页地址中的数字），以逗号或空格分隔；可不填"),
    )

    def __init__(self, *args, institutions, agreements, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines_qs = lines
        self.fields["institution"].queryset = institutions.order_by("code")
        self.fields["institution"].label_from_instance = lambda i: f"{i.code} {i.name}"
        self.fields["agreement"].queryset = agreements.order_by("institution__code", "number")
        self.fields["agreement"].label_from_instance = (
            lambda a: f"{a.number} · {a.institution.name}（{a.get_status_display()}）"
        )

    def clean_line_ids(self) -> list:
        text = (self.cleaned_data.get("line_ids") or "").strip()
        if not text:
            return []
        tokens = [t for t in LINE_SEPARATORS.split(text) if t]
        bad = [t for t in tokens if not t.isdigit()]
        if bad:
            raise forms.ValidationError(_("明细编号应为数字：%(bad)s") % {"bad": "、".join(bad[:10])})
        ids = list(dict.fromkeys(int(t) for t in tokens))
        found = {line.pk: line for line in self.lines_qs.filter(pk__in=ids)}
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise forms.ValidationError(_("未找到申报明细：%(ids)s") % {"ids": "、".join(missing[:10])})
        return [found[i] for i in ids]


# ---- the actions of violations:act (perform_case_action) -------------------------------------------


class ActionForm(forms.Form):
    """What every action posts: its name and the revision the page showed."""

    action = forms.CharField(widget=forms.HiddenInput)
    expected_revision = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, action: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if action:
            self.fields["action"].initial = action

    def data_for_service(self) -> dict:
        return dict(self.cleaned_data)


class NotifyForm(ActionForm):
    notice_text = forms.CharField(label=_("通知内容"), required=False, widget=_textarea(4),
                                  help_text=_("写明发现的问题，请机构在期限内作出书面说明（医疗协议第三十五条）"))
    explanation_due = forms.DateField(label=_("说明期限"), required=False, widget=DATE)


class InvestigateForm(ActionForm):
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)


class NoteForm(ActionForm):
    note = forms.CharField(label=_("调查记录"), required=False,
                           widget=_textarea(3, placeholder=_("调查情况、询问笔录要点、下一步安排（协议机构不可见）")))


class LiftDeferralForm(ActionForm):
    note = forms.CharField(label=_("解除说明"), required=False, max_length=2000)


class CloseForm(ActionForm):
    note = forms.CharField(label=_("结案说明"), required=False, max_length=2000)


class VerifyForm(ActionForm):
    rectification = forms.IntegerField(widget=forms.HiddenInput)
    accepted = forms.TypedChoiceField(
        label=_("验收结果"), coerce=lambda v: v == "yes", empty_value=None,
        choices=[("yes", _("整改到位")), ("no", _("整改不到位"))],
    )
    note = forms.CharField(label=_("验收意见"), required=False, max_length=2000)


class AppealForm(ActionForm):
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=[("", _("复议或诉讼"))] + translated_choices(AppealKind.choices))
    filed_on = forms.DateField(label=_("提起日期"), required=False, widget=DATE)
    authority = forms.CharField(label=_("受理机关"), required=False, max_length=200)
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)


class AppealOutcomeForm(ActionForm):
    appeal = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.ChoiceField(
        label=_("结果"), required=False,
        choices=[("", _("结果"))] + translated_choices([c for c in AppealOutcome.choices if c[0] != AppealOutcome.PENDING]),
    )
    outcome_on = forms.DateField(label=_("结果日期"), required=False, widget=DATE)
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)


# What each measure kind asks for (the service checks the values).
MEASURE_INPUTS = {
    MeasureKind.REFUSAL: ("amount",),
    MeasureKind.RECOVERY: ("amount",),
    MeasureKind.FINE: ("defrauded_amount", "amount", "note"),
    MeasureKind.RECTIFICATION: ("deadline", "note"),
}


class DecideForm(ActionForm):
    """The decision: one row per active measure (a checkbox and the inputs it needs), a summary, the
    legal basis and the score points. Only the checked measures reach the service."""

    summary = forms.CharField(label=_("处理决定"), required=False, widget=_textarea(3))
    legal_basis = forms.CharField(
        label=_("处理依据（必填）"), required=False, max_length=300,
        widget=forms.TextInput(attrs={"required": True, "style": "width: 100%",
                                      "placeholder": _("如：医疗协议第三十八条、乌海办法第三十五条")}),
    )
    score_points = forms.CharField(label=_("考核扣分"), required=False, max_length=10,
                                   widget=forms.TextInput(attrs={"inputmode": "decimal", "style": "width: 9em"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, action="decide", **kwargs)
        self.measure_list = list(Measure.objects.filter(active=True))
        for m in self.measure_list:
            inputs = MEASURE_INPUTS.get(m.kind, ("note",))
            self.fields[f"m_{m.code}"] = forms.BooleanField(
                label=m.label, required=False, widget=forms.CheckboxInput(attrs={"data-points": str(m.score_points)}))
            if "defrauded_amount" in inputs:
                self.fields[f"defrauded_{m.code}"] = forms.CharField(
                    label=_("骗取金额"), required=False, max_length=20, widget=forms.TextInput(attrs=AMOUNT))
            if "amount" in inputs:
                label = _("罚款金额") if m.kind == MeasureKind.FINE else _("金额")
                self.fields[f"amount_{m.code}"] = forms.CharField(
                    label=label, required=False, max_length=20, widget=forms.TextInput(attrs=AMOUNT))
            if "deadline" in inputs:
                self.fields[f"deadline_{m.code}"] = forms.DateField(label=_("整改期限"), required=False, widget=DATE)
            label = _("整改要求") if m.kind == MeasureKind.RECTIFICATION else _("说明")
            self.fields[f"note_{m.code}"] = forms.CharField(
                label=label, required=False, max_length=2000,
                widget=forms.TextInput(attrs={"style": "width: 100%", "placeholder": label}))
        # The default the service uses when no points are typed: the sum of the checked measures
        # (the page's script shows that sum as the placeholder).
        self.fields["score_points"].widget.attrs["placeholder"] = _("所选措施合计")

    def rows(self) -> list[dict]:
        """For the template: each measure with its bound fields (None where it needs none)."""
        out = []
        for m in self.measure_list:
            field = lambda name: self[f"{name}_{m.code}"] if f"{name}_{m.code}" in self.fields else None  # noqa: E731
            out.append({"measure": m, "check": self[f"m_{m.code}"], "amount": field("amount"),
                        "defrauded": field("defrauded"), "deadline": field("deadline"), "note": field("note"),
                        "is_fine": m.kind == MeasureKind.FINE, "is_rectification": m.kind == MeasureKind.RECTIFICATION})
        return out

    def measures(self) -> list[dict]:
        d = self.cleaned_data
        return [
            {"measure": m.code, "amount": d.get(f"amount_{m.code}") or "",
             "defrauded_amount": d.get(f"defrauded_{m.code}") or "", "deadline": d.get(f"deadline_{m.code}"),
             "note": d.get(f"note_{m.code}") or ""}
            for m in self.measure_list if d.get(f"m_{m.code}")
        ]

    def data_for_service(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k in ("action", "expected_revision", "summary", "legal_basis", "score_points")}
        data["measures"] = self.measures()
        return data


ACTION_FORMS = {
    "notify": NotifyForm,
    "investigate": InvestigateForm,
    "note": NoteForm,
    "decide": DecideForm,
    "lift_deferral": LiftDeferralForm,
    "verify_rectification": VerifyForm,
    "close": CloseForm,
    "appeal": AppealForm,
    "appeal_outcome": AppealOutcomeForm,
}


# ---- evidence, the institution's explanation and rectification report --------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (the Django documentation's recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("证据材料"))
    note = forms.CharField(label=_("说明"), required=False, max_length=300)


class ExplainForm(forms.Form):
    expected_revision = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    explanation = forms.CharField(label=_("书面说明"), required=False, widget=_textarea(6))
    attachments = MultipleFileField(label=_("附件"), required=False, help_text=_("可选，可多选；每个文件不超过 20 MB"))


class RectificationReportForm(forms.Form):
    report = forms.CharField(label=_("整改情况报告"), required=False,
                             widget=_textarea(3, placeholder=_("整改措施和完成情况"), **{"aria-label": _("整改情况报告")}))
