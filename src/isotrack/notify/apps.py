from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "isotrack.notify"
    label = "notify"
    verbose_name = "Calendar feeds and reminders"
