"""The practice's quality report: the dashboard, the courses behind a figure, the CSVs and the printout."""

from django.urls import URLPattern, path

from isotrack.web import quality_views

urlpatterns: list[URLPattern] = [
    path("quality/", quality_views.dashboard, name="quality"),
    path("quality/courses/", quality_views.courses_behind, name="quality_courses"),
    path("quality/measures.csv", quality_views.measures_csv, name="quality_measures_csv"),
    path("quality/courses.csv", quality_views.courses_csv, name="quality_courses_csv"),
    path("quality/print/", quality_views.report_print, name="quality_print"),
]
