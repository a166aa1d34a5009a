from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "isotrack.api"
    label = "api"
    verbose_name = "JSON API, FHIR and CDS Hooks"
