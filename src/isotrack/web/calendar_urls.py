"""Calendar pages and iCalendar feeds."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
