from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("institutions/", include("institutions.urls")),
    path("audit/", include("audit.urls")),
    path("agreements/", include("agreements.urls")),
    path("settlement/", include("settlement.urls")),
    path("violations/", include("violations.urls")),
    path("api/", include("config.api_urls")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "工伤保险协议管理与结算平台 · 后台管理"
admin.site.site_title = "工伤保险协议管理平台"
admin.site.index_title = "运维管理"

handler403 = "accounts.views.permission_denied"
handler404 = "accounts.views.page_not_found"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
