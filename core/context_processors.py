"""The navigation of the one base layout, by role."""

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Role

from .permissions import role_of

# (group heading or None, [(label, URL name)]): a role sees the items its URL_ROLES allow, and a
# group only when one of its items is visible.
_NAV = [
    (None, [(_("首页"), "home")]),
    (_("名单与协议"), [
        (_("协议机构名单"), "institutions:list"),
        (_("本机构信息"), "institutions:mine"),
        (_("服务协议"), "agreements:list"),
        (pgettext_lazy("plural", "变更备案"), "institutions:filing_list"),
        (pgettext_lazy("plural", "定点资格申请"), "institutions:application_list"),
        (_("名单导入"), "institutions:import"),
        (pgettext_lazy("plural", "经办机构"), "institutions:agency_list"),
    ]),
    (_("申报与结算"), [
        (_("月度申报"), "settlement:declaration_list"),
        (_("申报审核"), "settlement:review"),
        (_("月度结算"), "settlement:month_list"),
        (_("结算单"), "settlement:statement_list"),
        (_("应收与暂缓"), "settlement:receivables"),
        (_("年度结算"), "settlement:annual_list"),
        (_("年度结算申请"), "settlement:application_list"),
    ]),
    (_("违规处理"), [
        (_("违规案件"), "violations:list"),
        (_("违规统计"), "violations:statistics"),
    ]),
    (_("公示与系统"), [
        (_("解除协议公示"), "agreements:public_terminations"),
        (_("违规处理公示"), "violations:public"),
        (_("审计日志"), "audit:search"),
        (_("API 文档"), "api:docs"),
    ]),
]


def navigation(request):
    from .permissions import allowed

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_groups": []}
    groups = []
    current = request.resolver_match.view_name if request.resolver_match else ""
    for heading, entries in _NAV:
        items = [
            {"label": label, "url": reverse(name), "active": current == name}
            for label, name in entries if allowed(name, user)
        ]
        if items:
            groups.append({"heading": heading, "items": items})
    if user.is_staff:
        groups[-1]["items"].append({"label": gettext("后台管理"), "url": reverse("admin:index"), "active": False})
    return {"nav_groups": groups, "user_role_label": Role(role_of(user)).label}
