from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "isotrack.demo"
    label = "demo"
    verbose_name = "Demo practices (development)"
