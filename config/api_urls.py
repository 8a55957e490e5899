from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include("institutions.api_urls")),
    path("", include("agreements.api_urls")),
    path("", include("settlement.api_urls")),
    path("", include("violations.api_urls")),
]
