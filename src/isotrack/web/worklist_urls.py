"""The worklist (the home page after login), the course page, its print view and the patient's handout."""

from django.urls import path

from isotrack.web.course_views import course_detail, course_print
from isotrack.web.handout_views import course_handout
from isotrack.web.worklist_views import worklist

urlpatterns = [
    path("", worklist, name="home"),
    path("courses/<uuid:course_id>/", course_detail, name="course"),
    path("courses/<uuid:course_id>/print/", course_print, name="course_print"),
    path("courses/<uuid:course_id>/handout/", course_handout, name="course_handout"),
]
