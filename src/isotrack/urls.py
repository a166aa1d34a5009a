from django.urls import include, path

urlpatterns = [
    path("", include("isotrack.web.urls")),
    path("", include("isotrack.web.calendar_urls")),
    path("", include("isotrack.api.urls")),
]
