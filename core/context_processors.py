"""The navigation of the one base layout, by role."""

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Role

from .permissions import role_of

_NAV = [
    (_("首页"), "home", None),
    (_("协议机构名单"), "institutions:list", None),
    (_("本机构信息"), "institutions:mine", None),
    (_("服务协议"), "agreements:list", None),
    (_("月度申报"), "settlement:declaration_list", None),
    (_("申报审核"), "settlement:review", None),
    (_("月度结算"), "settlement:month_list", None),
    (_("结算单"), "settlement:statement_list", None),
    (_("应收与暂缓"), "settlement:receivables", None),
    (_("年度结算"), "settlement:annual_list", None),
    (_("年度结算申请"), "settlement:application_list", None),
    (_("违规处理"), "violations:list", None),
    (_("违规统计"), "violations:statistics", None),
    (pgettext_lazy("plural", "变更备案"), "institutions:filing_list", None),
    (pgettext_lazy("plural", "定点资格申请"), "institutions:application_list", None),
    (_("名单导入"), "institutions:import", None),
    (pgettext_lazy("plural", "经办机构"), "institutions:agency_list", None),
    (_("解除协议公示"), "agreements:public_terminations", None),
    (_("违规处理公示"), "violations:public", None),
    (_("审计日志"), "audit:search", None),
    (_("API 文档"), "api:docs", None),
]


def navigation(request):
    from .permissions import allowed

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    current = request.resolver_match.view_name if request.resolver_match else ""
    for label, name, _ in _NAV:
        if allowed(name, user):
            items.append({"label": label, "url": reverse(name), "active": current == name})
    if user.is_staff:
        items.append({"label": gettext("后台管理"), "url": reverse("admin:index"), "active": False})
    return {"nav_items": items, "user_role_label": Role(role_of(user)).label}
