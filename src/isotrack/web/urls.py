from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, register_converter, reverse_lazy
from django.views.generic import TemplateView

from isotrack.web import (
    account_views,
    audit_views,
    check_in_views,
    course_views,
    handout_views,
    import_views,
    record_views,
    staff_views,
    views,
)
from isotrack.web.converters import RecordKindConverter

register_converter(RecordKindConverter, "recordkind")

LINK_HOURS = {"hours": settings.PASSWORD_RESET_TIMEOUT // 3600}  # how long a link that sets a password works

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("check-in/<str:secret>/", check_in_views.check_in, name="check_in"),
    path("check-in/<str:secret>/questions/", check_in_views.check_in_questions, name="check_in_questions"),
    path("check-ins/<uuid:check_in_id>/review/", check_in_views.check_in_review, name="check_in_review"),
    path("login/", account_views.PasswordThenCodeLoginView.as_view(), name="login"),
    path("login/code/", account_views.login_code, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="web/password_change.html", success_url=reverse_lazy("password_change_done")
        ),
        name="password_change",
    ),
    path(
        "password/change/done/",
        TemplateView.as_view(template_name="web/password_change_done.html"),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            template_name="web/password_reset.html",
            email_template_name="web/password_reset_email.txt",
            subject_template_name="web/password_reset_subject.txt",
            success_url=reverse_lazy("password_reset_sent"),
            extra_context=LINK_HOURS,
            extra_email_context=LINK_HOURS,
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        login_not_required(TemplateView.as_view(template_name="web/password_reset_sent.html")),
        name="password_reset_sent",
    ),
    path(
        "password/set/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="web/password_set.html", success_url=reverse_lazy("password_set_done")
        ),
        name="password_set",
    ),
    path(
        "password/set/done/",
        login_not_required(TemplateView.as_view(template_name="web/password_set_done.html")),
        name="password_set_done",
    ),
    path("account/prescribing/", account_views.prescribing, name="prescribing"),
    path("account/two-factor/", account_views.two_factor_page, name="two_factor"),
    path("account/two-factor/setup/", account_views.two_factor_setup, name="two_factor_setup"),
    path("account/two-factor/recovery/", account_views.two_factor_recovery, name="two_factor_recovery"),
    path("account/two-factor/remove/", account_views.two_factor_remove, name="two_factor_remove"),
    path("reference/", views.reference, name="reference"),
    path("patients/", views.patient_list, name="patients"),
    path("patients/new/", views.patient_new, name="patient_new"),
    path("patients/<uuid:patient_id>/", views.patient_detail, name="patient"),
    path("patients/<uuid:patient_id>/category/", views.patient_category, name="patient_category"),
    path("patients/<uuid:patient_id>/contact/", views.patient_contact, name="patient_contact"),
    path("patients/<uuid:patient_id>/weights/new/", views.weight_new, name="weight_new"),
    path("patients/<uuid:patient_id>/medications/new/", views.medication_new, name="medication_new"),
    path("medications/<uuid:medication_id>/end/", views.medication_end, name="medication_end"),
    path("patients/<uuid:patient_id>/audit/", views.patient_audit, name="patient_audit"),
    path(
        "records/<recordkind:kind>/<uuid:record_id>/correct/",
        record_views.record_correct,
        name="record_correct",
    ),
    path("records/<recordkind:kind>/<uuid:record_id>/void/", record_views.record_void, name="record_void"),
    path("courses/<uuid:course_id>/end/", course_views.course_end, name="course_end"),
    path("practice/settings/", staff_views.practice_settings, name="practice_settings"),
    path("practice/handouts/", handout_views.handout_texts, name="handout_texts"),
    path("practice/import/", import_views.practice_import, name="practice_import"),
    path("practice/audit/", audit_views.practice_audit, name="practice_audit"),
    path(
        "practice/import/template.csv", import_views.practice_import_template, name="practice_import_template"
    ),
    path("staff/", staff_views.staff_list, name="staff"),
    path("staff/invite/", staff_views.staff_invite, name="staff_invite"),
    path("staff/<uuid:member_id>/", staff_views.staff_member, name="staff_member"),
    path("staff/<uuid:member_id>/active/", staff_views.staff_active, name="staff_active"),
    path(
        "staff/<uuid:member_id>/password-link/", staff_views.staff_password_link, name="staff_password_link"
    ),
    path(
        "staff/<uuid:member_id>/two-factor/remove/",
        account_views.staff_two_factor_remove,
        name="staff_two_factor_remove",
    ),
    path("", include("isotrack.web.worklist_urls")),  # the worklist (home) and the course page
    path("", include("isotrack.web.visit_urls")),  # enrollment, the monthly visit, dose changes
    path("", include("isotrack.web.quality_urls")),  # the practice's quality report (issue 16)
]
