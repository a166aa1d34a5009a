"""Calendar pages and iCalendar feeds."""

from django.urls import URLPattern, path

from isotrack.web import calendar_views

urlpatterns: list[URLPattern] = [
    path("calendar/", calendar_views.practice_calendar, name="calendar"),
    path("calendar/courses/<uuid:course_id>/", calendar_views.course_calendar, name="course_calendar"),
    path("calendar/feeds/", calendar_views.feed_list, name="calendar_feeds"),
    path("calendar/feeds/new/", calendar_views.feed_new, name="calendar_feed_new"),
    path("calendar/feeds/revoke/", calendar_views.feed_revoke, name="calendar_feed_revoke"),
    path("calendar/feeds/rotate/", calendar_views.feed_rotate, name="calendar_feed_rotate"),
    path("calendar/outbox/", calendar_views.outbox, name="calendar_outbox"),
    path("feeds/<str:token>.ics", calendar_views.feed, name="calendar_feed"),
]
