"""The worklist (the home page after login) and the course page."""

from django.urls import path

from isotrack.web.course_views import course_detail, course_print
from isotrack.web.worklist_views import worklist

urlpatterns = [
    path("", worklist, name="home"),
    path("courses/<uuid:course_id>/", course_detail, name="course"),
    path("courses/<uuid:course_id>/print/", course_print, name="course_print"),
]
