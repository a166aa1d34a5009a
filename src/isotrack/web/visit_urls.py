"""Enrollment, the one-screen monthly visit and dose changes."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
