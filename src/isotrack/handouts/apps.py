from django.apps import AppConfig


class HandoutsConfig(AppConfig):
    name = "isotrack.handouts"
    label = "handouts"
    verbose_name = "Patient handouts"
