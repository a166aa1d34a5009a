from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "isotrack.clinic"
    label = "clinic"
    verbose_name = "Clinic records"
