"""The JSON API (/api/v1/), the FHIR R4 view (/fhir/R4/) and the CDS Hooks service (/cds-services)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
