"""Enrollment, the one-screen monthly visit and dose changes."""

from django.urls import path, register_converter

from isotrack.web import enrollment_views, visit_views
from isotrack.web.converters import IsoDateConverter

register_converter(IsoDateConverter, "isodate")

urlpatterns = [
    path("enroll/", enrollment_views.enroll, name="enroll"),
    path("patients/<uuid:patient_id>/enroll/", enrollment_views.enroll_course, name="enroll_course"),
    path("courses/<uuid:course_id>/visit/", visit_views.course_visit, name="course_visit"),
    path("courses/<uuid:course_id>/dose/", visit_views.course_dose, name="course_dose"),
    path(
        "courses/<uuid:course_id>/dose/preview/", visit_views.course_dose_preview, name="course_dose_preview"
    ),
    path("courses/<uuid:course_id>/hold/", visit_views.course_hold, name="course_hold"),
    path("courses/<uuid:course_id>/missed-dose/", visit_views.course_missed_dose, name="course_missed_dose"),
    path(
        "courses/<uuid:course_id>/days-off/preview/",
        visit_views.course_days_off_preview,
        name="course_days_off_preview",
    ),
    path("courses/<uuid:course_id>/ipledge/", visit_views.course_ipledge_entry, name="course_ipledge_entry"),
    path("courses/<uuid:course_id>/dispense/", visit_views.course_dispense, name="course_dispense"),
    path(
        "courses/<uuid:course_id>/alerts/<str:code>/<isodate:alert_date>/acknowledge/",
        visit_views.course_acknowledge,
        name="course_acknowledge",
    ),
    path(
        "courses/<uuid:course_id>/pregnancy-follow-up/", visit_views.course_follow_up, name="course_follow_up"
    ),
]
