from django.urls import include, path

urlpatterns = [
    path("", include("isotrack.web.urls")),
]
