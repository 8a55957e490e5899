"""Page forms of declarations, review and settlement. They only parse input; the services decide
(a declared line is checked by the same RowChecker as a file row, so the messages are the same)."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from institutions.forms import translated_choices

from .models import Category, DeductionKind, LineStatus, ReviewOutcome
from .services.periods import parse_period

DATE = forms.DateInput(attrs={"type": "date", "style": "max-width: 12em"}, format="%Y-%m-%d")
MONTH = forms.TextInput(attrs={"type": "month", "style": "max-width: 12em"})
AMOUNT = {"inputmode": "decimal", "style": "max-width: 10em", "placeholder": "0.00"}


class MonthField(forms.CharField):
    """YYYY-MM (the browser's <input type=month>) → the first day of that month."""

    widget = MONTH

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        period = parse_period(value)
        if period is None:
            raise forms.ValidationError(_("月份应为 YYYY-MM，例如 2026-03。"))
        return period


def _institution_field(institutions):
    field = forms.ModelChoiceField(label=_("协议机构"), queryset=institutions.order_by("code"))
    field.label_from_instance = lambda i: f"{i.code} {i.name}"
    return field


class LineEntryForm(forms.Form):
    """One declared line typed in by hand. Amounts stay text: the row checker reads them exactly."""

    period = MonthField(label=_("结算月份"))
    card_no = forms.CharField(label=_("社会保障卡号"), max_length=30)
    name = forms.CharField(label=_("姓名"), max_length=50)
    category = forms.ChoiceField(label=_("类别"), choices=translated_choices(Category.choices))
    visit_date = forms.DateField(label=_("就诊（入院）日期"), widget=DATE)
    discharge_date = forms.DateField(label=_("出院日期"), required=False, widget=DATE, help_text=_("住院填写；门诊可不填"))
    total = forms.CharField(label=_("总费用"), widget=forms.TextInput(attrs=AMOUNT))
    in_scope = forms.CharField(label=_("统筹范围内费用"), widget=forms.TextInput(attrs=AMOUNT))
    self_paid = forms.CharField(label=_("个人自付"), required=False, widget=forms.TextInput(attrs=AMOUNT))
    non_injury = forms.CharField(label=_("非工伤费用"), required=False, widget=forms.TextInput(attrs=AMOUNT),
                                 help_text=_("统筹范围内费用＋个人自付＋非工伤费用须等于总费用"))

    def __init__(self, *args, institutions=None, **kwargs):
        super().__init__(*args, **kwargs)
        if institutions is not None:  # staff choose the institution; an institution declares its own
            self.fields = {"institution": _institution_field(institutions), **self.fields}

    def cells(self) -> dict:
        d = self.cleaned_data
        return {
            "code": d["institution"].code if "institution" in d else "",
            "period": f"{d['period']:%Y-%m}",
            "card_no": d["card_no"], "name": d["name"], "category": d["category"],
            "visit_date": d["visit_date"].isoformat(),
            "discharge_date": d["discharge_date"].isoformat() if d.get("discharge_date") else "",
            "total": d["total"], "in_scope": d["in_scope"], "self_paid": d.get("self_paid") or "",
            "non_injury": d.get("non_injury") or "",
        }


class ItemForm(forms.Form):
    catalogue_code = forms.CharField(label=_("目录编码"), max_length=50, required=False)
    name = forms.CharField(label=_("项目名称"), max_length=200)
    quantity = forms.DecimalField(label=_("数量"), max_digits=12, decimal_places=3, min_value=0)
    unit_price = forms.DecimalField(label=_("单价"), max_digits=14, decimal_places=4, min_value=0)
    amount = forms.DecimalField(label=_("金额"), max_digits=14, decimal_places=2, min_value=0)


ItemFormSet = forms.formset_factory(ItemForm, extra=3, max_num=50)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("申报文件"), help_text=_("CSV（UTF-8）或 XLSX，列见模板"))

    def __init__(self, *args, institutions=None, **kwargs):
        super().__init__(*args, **kwargs)
        if institutions is not None:
            field = _institution_field(institutions)
            field.required = False
            field.empty_label = _("（按文件中的机构编码）")
            self.fields = {"institution": field, **self.fields}

    def clean_file(self):
        f = self.cleaned_data["file"]
        limit = settings.PORTAL_MAX_DECLARATION_UPLOAD_BYTES
        if f.size > limit:
            raise forms.ValidationError(_("文件过大：超过上限 %(mb)s MB。") % {"mb": limit // (1024 * 1024)})
        return f


class ReviewFilterForm(forms.Form):
    month = MonthField(label=_("结算月份"), required=False)
    institution = forms.IntegerField(required=False)
    category = forms.ChoiceField(required=False, choices=[("", "")] + list(Category.choices))
    status = forms.ChoiceField(required=False, choices=[("", "")] + list(LineStatus.choices))
    q = forms.CharField(required=False)
    late = forms.BooleanField(required=False)

    def filters(self) -> dict:
        self.is_valid()  # valid fields are used, an invalid one is dropped
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", False) and k != "month"}


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("审核结果"), choices=translated_choices(ReviewOutcome.choices))
    reason = forms.CharField(label=_("审核理由"), required=False)
    amount = forms.CharField(label=_("核减后金额"), required=False)
    note = forms.CharField(label=_("审核说明"), required=False, max_length=1000)
    next = forms.CharField(required=False)


class ApproveForm(forms.Form):
    agency = forms.IntegerField()
    expected_net = forms.DecimalField(max_digits=16, decimal_places=2, required=False)


class RunForm(forms.Form):
    agency = forms.IntegerField(required=False)


class DeductionForm(forms.Form):
    institution = forms.IntegerField(label=_("协议机构"))
    kind = forms.ChoiceField(label=_("类型"), choices=translated_choices(
        [(v, label) for v, label in DeductionKind.choices if v != DeductionKind.NEGATIVE_BALANCE]
    ))
    amount = forms.CharField(label=_("金额"))
    reason = forms.CharField(label=_("事由"), max_length=1000)
    basis = forms.CharField(label=_("依据"), required=False, max_length=200)


class HoldForm(forms.Form):
    institution = forms.IntegerField(label=_("协议机构"))
    reason = forms.CharField(label=_("事由"), max_length=1000)
    basis = forms.CharField(label=_("依据"), required=False, max_length=200)


class HoldLiftForm(forms.Form):
    note = forms.CharField(label=_("解除说明"), required=False, max_length=1000)


class AdjustmentForm(forms.Form):
    amount = forms.CharField(label=_("调整金额"), help_text=_("正数补付，负数扣回"))
    reason = forms.CharField(label=_("更正事由"), max_length=1000)


# ---- year-end ------------------------------------------------------------------------------------


class ApproveAnnualForm(forms.Form):
    agency = forms.IntegerField()
    expected_released = forms.DecimalField(max_digits=16, decimal_places=2, required=False)


class ScoreImportForm(forms.Form):
    file = forms.FileField(label=_("考核得分文件"), help_text=_("CSV（UTF-8）或 XLSX，列：机构编码, 年度, 考核得分"))


class ScoreForm(forms.Form):
    """The hand-entered base of a score; deductions from violation cases are added by their decisions."""

    assessment = forms.CharField(label=_("年度考核得分"), required=False, widget=forms.TextInput(attrs=AMOUNT))
    supervision = forms.CharField(label=_("日常监督检查得分"), required=False, widget=forms.TextInput(attrs=AMOUNT))
    other = forms.CharField(label=_("其他加减分"), required=False, widget=forms.TextInput(attrs=AMOUNT))
    note = forms.CharField(label=_("说明"), required=False, max_length=500)

    def components(self) -> list[dict]:
        d = self.cleaned_data
        out = []
        for kind in ("assessment", "supervision", "other"):
            if (d.get(kind) or "").strip():
                out.append({"kind": kind, "points": d[kind], "note": d.get("note") or ""})
        return out


class AnnualApplicationForm(forms.Form):
    year = forms.IntegerField(label=_("结算年度"), min_value=2000, max_value=2100)
    declaration_form = forms.FileField(label=_("结算申报表"), required=False)
    cost_report = forms.FileField(label=_("费用情况分析报告"), required=False)
    other = forms.FileField(label=_("其他材料"), required=False)
    note = forms.CharField(label=_("申请说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, institutions=None, **kwargs):
        super().__init__(*args, **kwargs)
        if institutions is not None:
            self.fields = {"institution": _institution_field(institutions), **self.fields}


class AnnualDecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("办理"), choices=[("accept", _("受理")), ("return", _("退回补正"))])
    note = forms.CharField(label=_("意见"), required=False, max_length=1000)
