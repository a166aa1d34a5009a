"""The worklist (the home page after login) and the course page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path


def home(request: HttpRequest) -> HttpResponse:
    return redirect("patients")  # until the worklist exists


urlpatterns = [
    path("", home, name="home"),
]
