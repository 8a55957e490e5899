from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from . import selectors

# audit.selectors.ACTION_LABELS stay plain Chinese there; marked here so that the catalogue holds
# them and the templates can translate them on display (ADR 0004).
ACTION_LABELS = (gettext_noop("新增"), gettext_noop("修改"), gettext_noop("删除"), gettext_noop("查看"))


class AuditSearchForm(forms.Form):
    model = forms.ChoiceField(label=_("对象类型"), required=False)
    object_pk = forms.CharField(label=_("对象编号（ID）"), required=False)
    user = forms.CharField(label=_("操作人"), required=False)
    date_from = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(label=_("关键字"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", gettext("全部"))] + selectors.model_choices()

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(gettext("起始日期不能晚于截止日期。"))
        return data


def audit_search(request):
    """The audit trail, searchable by object, user and date (SPEC §7). Agency staff and auditors."""
    form = AuditSearchForm(request.GET or None)
    entries = selectors.search(viewer=request.user)
    if form.is_bound and form.is_valid():
        entries = selectors.search(viewer=request.user, **form.cleaned_data)
    elif form.is_bound:
        entries = entries.none()
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    rows = [(e, selectors.ACTION_LABELS.get(e.action, e.action), selectors.describe_changes(e)) for e in page]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/search.html", {"form": form, "page": page, "rows": rows, "querystring": query.urlencode()})
