from django.contrib.auth import views as auth_views
from django.urls import path

from isotrack.web import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("patients/new/", views.patient_new, name="patient_new"),
    path("patients/<uuid:patient_id>/", views.patient_detail, name="patient"),
    path("patients/<uuid:patient_id>/category/", views.patient_category, name="patient_category"),
    path("patients/<uuid:patient_id>/weights/new/", views.weight_new, name="weight_new"),
    path("patients/<uuid:patient_id>/weights/<uuid:weight_id>/", views.weight_edit, name="weight_edit"),
    path("patients/<uuid:patient_id>/audit/", views.patient_audit, name="patient_audit"),
]
