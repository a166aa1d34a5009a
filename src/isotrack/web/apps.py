from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "isotrack.web"
    label = "web"
    verbose_name = "Web pages"
